"""The pieces Chinese Word documents are built from, on top of python-docx: fonts with their East-Asian
name, shaded and bordered table cells with widths LibreOffice honours, page set-up and page numbers.

Measurements of GB/T 9704-2012 and font sizes (号) are named here, in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, Unpack

from docx.document import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

if TYPE_CHECKING:
    from lxml.etree import _Element

# 字号 → points
SIZE = {"初号": 42, "小初": 36, "一号": 26, "小一": 24, "二号": 22, "小二": 18, "三号": 16, "小三": 15,
        "四号": 14, "小四": 12, "五号": 10.5, "小五": 9}
# Customary font names kept in the document; ../fonts/fonts.conf maps them to open fonts for PDF output.
FANGSONG, KAITI, HEITI, XIAOBIAOSONG, SONGTI = "仿宋_GB2312", "楷体_GB2312", "黑体", "方正小标宋简体", "宋体"
LATIN = "Times New Roman"
RED = RGBColor(0xFF, 0x00, 0x00)
# GB/T 9704-2012 page: A4, top 37 mm, left (binding) 28 mm, text block 156 × 225 mm.
A4 = (Mm(210), Mm(297))
GB9704_MARGINS = {"top": Mm(37), "bottom": Mm(35), "left": Mm(28), "right": Mm(26)}
FORM_MARGINS = {"top": Mm(25), "bottom": Mm(25), "left": Mm(28), "right": Mm(26)}
TEXT_WIDTH_MM = 156
GB9704_LINE_PITCH = Pt(28.95)  # 22 lines on the 225 mm block (check)
LABEL_SHADE = "E7E6E6"
MARK_SIZE = 36  # 发文机关标志, pt (GB/T 9704 7.2.1 leaves it to the issuer, no larger than 22 × 15 mm a character)


def mark_half_points(mark: str) -> int:
    """The size of the 发文机关标志 in half-points: 36 pt, or less so that the mark stays on one line."""
    widest = int(TEXT_WIDTH_MM * 72 / 25.4 / max(len(mark), 1) * 0.96)
    return 2 * min(MARK_SIZE, widest)


class RunStyle(TypedDict, total=False):
    """The keywords of ``style_run``, passed on by ``add_text``."""

    font: str
    size: float
    bold: bool
    color: RGBColor | None


def style_run(run: Run, font: str = FANGSONG, size: float = SIZE["三号"], bold: bool = False,
              color: RGBColor | None = None) -> Run:
    """Set a run's fonts — the East-Asian one on ``w:rFonts/@w:eastAsia``, as Word and WPS read it."""
    run.font.name = LATIN
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), font)
    fonts.set(qn("w:ascii"), LATIN)
    fonts.set(qn("w:hAnsi"), LATIN)
    return run


def add_text(paragraph: Paragraph, text: str, **style: Unpack[RunStyle]) -> Run:
    """One run holding ``text`` (a Jinja tag stays whole inside it); its spaces are kept as written."""
    run = style_run(paragraph.add_run(text), **style)
    for element in run._r.iter(qn("w:t")):
        element.set(qn("xml:space"), "preserve")
    return run


def set_paragraph(paragraph: Paragraph, align: WD_ALIGN_PARAGRAPH | None = None, first_indent_chars: float = 0,
                  size: float = SIZE["三号"], before: float = 0, after: float = 0, exact_pitch: Pt | None = None,
                  left_chars: float = 0, right_chars: float = 0, keep_with_next: bool = False) -> Paragraph:
    """Alignment, indents in characters of ``size``, spacing in points, an exact line pitch if given."""
    fmt = paragraph.paragraph_format
    if align is not None:
        fmt.alignment = align
    fmt.first_line_indent = Pt(size * first_indent_chars) if first_indent_chars else None
    fmt.left_indent = Pt(size * left_chars) if left_chars else None
    fmt.right_indent = Pt(size * right_chars) if right_chars else None
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if exact_pitch is not None:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = exact_pitch
    fmt.keep_with_next = keep_with_next
    return paragraph


def paragraph_border(paragraph: Paragraph, side: str = "bottom", color: str = "FF0000", eighths: int = 12,
                     space_pt: int = 4) -> None:
    """A rule along one side of a paragraph (the red rule under the 发文字号, the lines of the 版记)."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    edge = OxmlElement(f"w:{side}")
    for key, value in (("val", "single"), ("sz", str(eighths)), ("space", str(space_pt)), ("color", color)):
        edge.set(qn(f"w:{key}"), value)
    borders.append(edge)


def no_autospace(document: Document) -> None:
    """Switch off the automatic gap between Chinese and Latin text or digits (``w:autoSpaceDE/DN``).

    The gap is typographic only, but PDF extractors read it as a space (``2024 年``); a form whose values
    must come back out of its PDF exactly does without it."""
    defaults = document.styles.element.find(qn("w:docDefaults"))
    ppr_default = defaults.find(qn("w:pPrDefault"))
    if ppr_default is None:
        ppr_default = OxmlElement("w:pPrDefault")
        defaults.append(ppr_default)
    ppr = ppr_default.find(qn("w:pPr"))
    if ppr is None:
        ppr = OxmlElement("w:pPr")
        ppr_default.append(ppr)
    for name in ("w:autoSpaceDE", "w:autoSpaceDN"):
        element = OxmlElement(name)
        element.set(qn("w:val"), "0")
        ppr.append(element)


def page_setup(document: Document, margins: dict[str, Mm], even_odd: bool = False, landscape: bool = False) -> None:
    """A4 (portrait, or ``landscape``) with ``margins``; different footers on odd and even pages if ``even_odd``."""
    section = document.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = A4[::-1] if landscape else A4
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.top_margin, section.bottom_margin = margins["top"], margins["bottom"]
    section.left_margin, section.right_margin = margins["left"], margins["right"]
    section.footer_distance = Mm(18)
    if even_odd:
        document.settings.odd_and_even_pages_header_footer = True


def page_border(document: Document, style: str = "double", eighths: int = 18, color: str = "C00000",
                space_pt: int = 24) -> None:
    """A border around every page of the first section (``w:pgBorders``), ``space_pt`` in from the page's edge;
    ``style`` is a Word border style (``double``, ``thinThickSmallGap`` …), ``eighths`` its width in 1/8 pt."""
    borders = OxmlElement("w:pgBorders")
    borders.set(qn("w:offsetFrom"), "page")
    for side in ("top", "left", "bottom", "right"):
        edge = OxmlElement(f"w:{side}")
        for key, value in (("val", style), ("sz", str(eighths)), ("space", str(space_pt)), ("color", color)):
            edge.set(qn(f"w:{key}"), value)
        borders.append(edge)
    section = document.sections[0]._sectPr
    section.find(qn("w:pgMar")).addnext(borders)  # its place in w:sectPr: right after the margins


def page_numbers(document: Document, even_odd: bool = False) -> None:
    """``— 1 —`` in 4号 宋体: centred, or right on odd and left on even pages (GB/T 9704 7.5)."""
    section = document.sections[0]
    footers = [(section.footer, WD_ALIGN_PARAGRAPH.RIGHT if even_odd else WD_ALIGN_PARAGRAPH.CENTER)]
    if even_odd:
        footers.append((section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT))
    for footer, align in footers:
        paragraph = footer.paragraphs[0]
        set_paragraph(paragraph, align=align, size=SIZE["四号"], left_chars=1 if align == WD_ALIGN_PARAGRAPH.LEFT
                      else 0, right_chars=1 if align == WD_ALIGN_PARAGRAPH.RIGHT else 0)
        add_text(paragraph, "— ", font=SONGTI, size=SIZE["四号"])
        _field(add_text(paragraph, "", font=SONGTI, size=SIZE["四号"]), "PAGE")
        add_text(paragraph, " —", font=SONGTI, size=SIZE["四号"])


def _field(run: Run, instruction: str) -> None:
    for kind, text in (("begin", None), (None, instruction), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText" if text == instruction else "w:t")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def new_table(document: Document, widths_mm: list[float], rows: int = 0, borders: bool = True) -> Table:
    """A table of fixed column widths, set on ``w:tblGrid`` (which LibreOffice reads) and on every cell."""
    table: Table = document.add_table(rows=rows, cols=len(widths_mm))
    if borders:
        table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False  # w:tblLayout fixed, once: a second one makes LibreOffice drop rows at page ends
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
    return table


_TBLPR_ORDER = ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize",
                "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook"]


def table_property(table: Table, element: _Element) -> None:
    """Put ``element`` into the table's ``w:tblPr`` at the place the schema gives it (Word is strict)."""
    properties = table._tbl.tblPr
    rank = _TBLPR_ORDER.index(element.tag.split("}")[1])
    for index, child in enumerate(properties):
        name = child.tag.split("}")[1]
        if name in _TBLPR_ORDER and _TBLPR_ORDER.index(name) > rank:
            properties.insert(index, element)
            return
    properties.append(element)


def add_row(table: Table, widths_mm: list[float]) -> list[_Cell]:
    row = table.add_row()  # type: ignore[no-untyped-call]
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))  # a row never breaks across pages
    for cell, width in zip(row.cells, widths_mm, strict=True):
        cell.width = Mm(width)
    return list(row.cells)


def shade(cell: _Cell, fill: str = LABEL_SHADE) -> None:
    shading = OxmlElement("w:shd")
    for key, value in (("val", "clear"), ("color", "auto"), ("fill", fill)):
        shading.set(qn(f"w:{key}"), value)
    cell._tc.get_or_add_tcPr().append(shading)


def cell_text(cell: _Cell, text: str, font: str = FANGSONG, size: float = SIZE["小四"], bold: bool = False,
              align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT) -> Paragraph:
    """Write ``text`` as the single run of the cell's first paragraph."""
    paragraph: Paragraph = cell.paragraphs[0]
    set_paragraph(paragraph, align=align, size=size, before=2, after=2)
    add_text(paragraph, text, font=font, size=size, bold=bold)
    return paragraph


def merge_row(cells: list[_Cell]) -> _Cell:
    """Merge ``cells`` of one row into one. Such a row may break across pages: LibreOffice drops a
    can't-split row holding merged cells when it meets a page end (seen with 7.4), so the flag goes."""
    if len(cells) == 1:
        return cells[0]
    for flag in cells[0]._tc.getparent().findall(f"{qn('w:trPr')}/{qn('w:cantSplit')}"):
        flag.getparent().remove(flag)
    merged: _Cell = cells[0].merge(cells[-1])
    return merged


def repeat_header(row_cells: list[_Cell]) -> None:
    """Mark the row holding ``row_cells`` as a header repeated on every page."""
    trpr = row_cells[0]._tc.getparent().get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    trpr.append(header)


def page_break(document: Document) -> None:
    from docx.enum.text import WD_BREAK

    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
