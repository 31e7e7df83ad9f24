"""The Word template of a notice, laid out after GB/T 9704-2012 党政机关公文格式.

The words of each notice live in ``templates/notices/<id>.toml`` (``title``, ``body``, optional ``[table]``);
this module places them: 发文机关标志 in red with the red rule under the 发文字号, the 2号小标宋 title, 主送,
the 3号仿宋 body with headings by level, 附件说明, 署名 and 成文日期 (seal position; the table captioned for
``verification_code.stamp``, which puts an issued notice's QR code beside them), 附注, the 版记 at the foot
of the last page, and page numbers ``— 1 —`` right on odd pages, left on even ones. A certificate (layout
``certificate``) is an A4 landscape page in a double border instead: its red title, its fields, the award text,
and 署名 and date at the lower right under the seal.

The title is broken into lines before it reaches Word (``title_lines``): words kept whole and the lines balanced
(GB/T 9704 7.3.3: 回行时词意完整、排列对称); the renderer prints the result as ``{{ notice_title }}``.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from docx import Document as new_document
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from .catalogue import Form
from .docx_parts import (
    FANGSONG,
    GB9704_LINE_PITCH,
    GB9704_MARGINS,
    HEITI,
    KAITI,
    MARK_SIZE,
    RED,
    SIZE,
    TEXT_WIDTH_MM,
    XIAOBIAOSONG,
    add_row,
    add_text,
    cell_text,
    merge_row,
    new_table,
    page_border,
    page_numbers,
    page_setup,
    paragraph_border,
    repeat_header,
    set_paragraph,
    shade,
    table_property,
)
from .resources import data_dir

CHAR_MM = SIZE["三号"] * 25.4 / 72  # one 3号 character, in mm
TITLE_CHARS = math.floor(TEXT_WIDTH_MM / (SIZE["二号"] * 25.4 / 72))  # 2号 characters on a line of the text block
BREAK_HINT = "\u200b"  # zero-width space in a title's literal text: a place to break between words
_OPENING, _CLOSING = "《（“‘「『〔【", "》）”’」』〕】，。、；：！？"  # never ending, never starting a line
_NAME_ENDS = ("省", "市", "区", "县", "公司", "集团", "中心", "研究院", "大学")  # where a name may be cut
_SHORT_LINE = 3  # a line of fewer characters (a lone 关于) is as bad as a name cut where it may be
# The certificate: A4 landscape in a red double border, the title in 小初 on one line, fields in a borderless table.
CERTIFICATE_MARGINS = {"top": Mm(25), "bottom": Mm(18), "left": Mm(32), "right": Mm(32)}
CERTIFICATE_WIDTH_MM = 297 - 32 - 32
CERTIFICATE_TITLE_SIZE = SIZE["小初"]
CERTIFICATE_TITLE_CHARS = math.floor(CERTIFICATE_WIDTH_MM / (CERTIFICATE_TITLE_SIZE * 25.4 / 72))
CERTIFICATE_PITCH = Pt(27)
SIGNATURE_TABLE = "shenbao:signature"  # the caption of the 署名 table: where an issued notice's QR code goes
_CONTROL = re.compile(r"^\s*\{%-?\s*(.*?)\s*-?%\}\s*$")
_LEVELS = [(re.compile(r"^[一二三四五六七八九十]+、"), 1), (re.compile(r"^（[一二三四五六七八九十]+）"), 2),
           (re.compile(r"^\d+[．.]"), 3), (re.compile(r"^[（(]\d+[)）]"), 4)]


def notice_source(form_id: str) -> dict[str, Any]:
    """The words of a notice: ``templates/notices/<id>.toml``."""
    path = data_dir("templates") / "notices" / f"{form_id}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def heading_level(line: str) -> int:
    return next((level for pattern, level in _LEVELS if pattern.match(line)), 0)


def title_capacity(source: dict[str, Any]) -> int:
    """How many characters of the title's size a line of the notice (or certificate) holds."""
    return CERTIFICATE_TITLE_CHARS if source.get("layout") == "certificate" else TITLE_CHARS


# --- the title, broken into lines --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Atom:
    """What a title's lines are made of: a character, or a whole value. ``cost`` of a line break just before
    it: (cutting a value, breaking literal text), or None where no line may break."""

    text: str
    width: float
    cost: tuple[int, int] | None


def title_lines(pieces: Sequence[tuple[str, bool]], capacity: int = TITLE_CHARS) -> list[str]:
    """A title broken into balanced lines of at most ``capacity`` characters (a Latin letter or digit counts half).

    ``pieces`` are the title's literal texts (``False``) and substituted values (``True``) in order. A value is
    one unit, cut only when it is longer than a line or the only other way is a line holding a lone ``关于``,
    and then after a place name or 公司 if it can be; literal text breaks best where it carries ``BREAK_HINT``,
    else between any two characters; both only where no value boundary will do. Punctuation stays with its value
    (no line starts with ``》`` or ends with ``《``), a year with its ``年``; a line break inside a value is kept.
    Chosen: fewest cuts of values (and short lines), then fewest lines, then the least broken literal text, then
    the most even lengths (GB/T 9704 7.3.3: 回行时词意完整、排列对称)."""
    return [line for group in _forced(pieces) for line in _balanced(_atoms(_glued(group), capacity), capacity)]


def _forced(pieces: Sequence[tuple[str, bool]]) -> list[list[tuple[str, bool]]]:
    """The pieces in groups between the line breaks a value carries itself (printed as everywhere else)."""
    groups: list[list[tuple[str, bool]]] = [[]]
    for text, unit in pieces:
        first, *rest = text.split("\n")
        groups[-1].append((first, unit))
        groups += [[(part, unit)] for part in rest]
    return groups


def _balanced(atoms: list[_Atom], capacity: int) -> list[str]:
    if not atoms:
        return []
    least = max(1, math.ceil(sum(atom.width for atom in atoms) / capacity - 1e-9))
    options = [option for lines in range(least, least + 3) if (option := _arrangement(atoms, lines, capacity))]
    bounds = [0, *(min(options)[1] if options else []), len(atoms)]
    return ["".join(atom.text for atom in atoms[start:end]) for start, end in pairwise(bounds)]


def _width(text: str) -> float:
    return sum(1 if unicodedata.east_asian_width(c) in "WFA" else 0.5 for c in text)


def _glued(pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """The pieces with the marks around a value moved into it: an opening mark before it, a closing one after."""
    glued: list[list[Any]] = []
    for text, unit in pieces:
        if unit and glued and not glued[-1][1]:
            before = glued[-1][0]
            kept = len(before.rstrip(_OPENING))
            glued[-1][0], text = before[:kept], before[kept:] + text
        elif not unit and glued and glued[-1][1]:
            closing = len(text) - len(text.lstrip(_CLOSING))
            glued[-1][0], text = glued[-1][0] + text[:closing], text[closing:]
        glued.append([text, unit])
    return [(text, unit) for text, unit in glued if text]


def _atoms(pieces: list[tuple[str, bool]], capacity: int) -> list[_Atom]:
    atoms: list[_Atom] = []
    for index, (text, unit) in enumerate(pieces):
        if unit:  # a cut costs 1 after a place name or 公司, 2 elsewhere, and 3 in a value that fits on a line
            fits = _width(text) <= capacity
            atoms += [_Atom(c, _width(c), (0, 0) if i == 0 else
                            ((1 if text[:i].endswith(_NAME_ENDS) else 3 if fits else 2), 0))
                      for i, c in enumerate(text)]
        else:
            atoms += _literal_atoms(text, after_number=index > 0 and pieces[index - 1][0].isdigit())
    return [atom if index == 0 or not (atom.text[0] in _CLOSING or atoms[index - 1].text[-1] in _OPENING)
            else _Atom(atom.text, atom.width, None) for index, atom in enumerate(atoms)]


def _literal_atoms(text: str, after_number: bool = False) -> list[_Atom]:
    """A literal text's characters: free to break before the first, where a value ends (but never between a
    number and its 年), cheap at a hint."""
    atoms: list[_Atom] = []
    cost: tuple[int, int] | None = None if after_number else (0, 0)
    for character in text:
        if character == BREAK_HINT:
            cost = (0, 1) if cost is None else min(cost, (0, 1))
            continue
        atoms.append(_Atom(character, _width(character), cost))
        cost = (0, 3)
    return atoms


def _arrangement(atoms: list[_Atom], lines: int, capacity: int) -> tuple[tuple[float, ...], list[int]] | None:
    """The best way to set ``atoms`` on exactly ``lines`` lines: its key (cuts of values, lines, breaks of
    literal text, squared distance of the line lengths from their mean) and where the lines start."""
    edges = [0.0]
    for atom in atoms:
        edges.append(edges[-1] + atom.width)
    mean = edges[-1] / lines
    best: dict[tuple[int, int], tuple[tuple[float, float, float], tuple[int, ...]]] = {(0, 0): ((0, 0, 0.0), ())}
    for line in range(1, lines + 1):
        for end in range(1, len(atoms) + 1):
            for start in range(end - 1, -1, -1):
                width = edges[end] - edges[start]
                if width > capacity + 1e-9:
                    break
                cost = atoms[start].cost if start else (0, 0)
                if (line - 1, start) not in best or cost is None:
                    continue
                (cut, broken, spread), breaks = best[(line - 1, start)]
                short = 1 if width < _SHORT_LINE and lines > 1 else 0
                option = ((cut + cost[0] + short, broken + cost[1], spread + (width - mean) ** 2),
                          breaks + ((start,) if start else ()))
                if (line, end) not in best or option < best[(line, end)]:
                    best[(line, end)] = option
    if (lines, len(atoms)) not in best:
        return None
    (cut, broken, spread), breaks = best[(lines, len(atoms))]
    return (cut, lines, broken, round(spread, 6)), list(breaks)


class NoticeLayout:
    """Lays out one notice from its words; ``build()`` returns the python-docx document of its template."""

    def __init__(self, form: Form, source: dict[str, Any]) -> None:
        self.form, self.source = form, source
        self.doc = new_document()

    def build(self) -> Document:
        normal = self.doc.styles["Normal"]
        normal.font.name, normal.font.size = "Times New Roman", Pt(SIZE["三号"])
        normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FANGSONG)
        if self.source.get("layout") == "certificate":
            self.certificate()
        else:
            self.official()
        return self.doc

    def official(self) -> None:
        """An official document after GB/T 9704: 版头, title, 主送, body, 附件, 署名, 附注, 版记, page numbers."""
        page_setup(self.doc, GB9704_MARGINS, even_odd=True)
        self.masthead()
        self.title()
        self.para("{{ addressee }}：", indent=0)
        self.body()
        self.attachments()
        self.signature()
        self.note()
        self.imprint()
        page_numbers(self.doc, even_odd=True)

    # --- pieces -------------------------------------------------------------------------------------

    def para(self, text: str, indent: float = 2, font: str = FANGSONG, size: float = SIZE["三号"],
             align: Any = None, exact_pitch: Pt | None = None, **spacing: Any) -> Any:
        """A paragraph of ``text``; 3号 text on the GB/T 9704 line pitch unless ``exact_pitch`` says otherwise."""
        pitch = exact_pitch or (GB9704_LINE_PITCH if size == SIZE["三号"] else None)
        paragraph = set_paragraph(self.doc.add_paragraph(), align=align, size=size, first_indent_chars=indent,
                                  exact_pitch=pitch, **spacing)
        if text:
            add_text(paragraph, text, font=font, size=size)
        return paragraph

    def control(self, statement: str) -> None:
        add_text(self.doc.add_paragraph(), "{%%p %s %%}" % statement, size=SIZE["三号"])

    def masthead(self) -> None:
        mark = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.CENTER, size=MARK_SIZE, after=24)
        run = add_text(mark, "{{ issuer.mark }}", font=XIAOBIAOSONG, size=MARK_SIZE, color=RED)
        for size in run._r.get_or_add_rPr().iter(qn("w:sz"), qn("w:szCs")):  # shrunk to one line by the renderer
            size.set(qn("w:val"), "{{ mark_half_points }}")
        number = self.para("{{ doc_number }}", indent=0, align=WD_ALIGN_PARAGRAPH.CENTER, before=12)
        paragraph_border(number, "bottom", "FF0000", eighths=12, space_pt=11)  # red rule 4 mm below

    def title(self) -> None:
        self.para("", indent=0)
        paragraph = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.CENTER, size=SIZE["二号"],
                                  before=12, after=12, exact_pitch=Pt(36))
        add_text(paragraph, "{{ notice_title }}", font=XIAOBIAOSONG, size=SIZE["二号"])  # broken by the renderer

    def body(self, **style: Any) -> None:
        """The body's lines: headings by their numbering, paragraphs (in ``style``), control lines, the table."""
        for raw in self.source["body"].strip().splitlines():
            line = raw.strip()
            control = _CONTROL.match(line)
            if not line:
                continue
            if control:
                self.control(control.group(1))
            elif line == "[table]":
                self.table(self.source["table"])
            else:
                level = heading_level(line)
                font = {1: HEITI, 2: KAITI}.get(level, FANGSONG)
                self.para(line, font=font, keep_with_next=level in (1, 2), **style)

    def table(self, spec: dict[str, Any]) -> None:
        columns = spec["columns"]
        widths = [float(c[2]) for c in columns]
        widths[-1] = round(TEXT_WIDTH_MM - sum(widths[:-1]), 1)
        size = SIZE["四号"]
        table = new_table(self.doc, widths)
        header = add_row(table, widths)
        repeat_header(header)
        for cell, column in zip(header, columns, strict=True):
            shade(cell)
            cell_text(cell, column[0], font=HEITI, size=size, align=WD_ALIGN_PARAGRAPH.CENTER)
        cell_text(add_row(table, widths)[0], "{%%tr for item in %s %%}" % spec["items"], size=size)
        for cell, column in zip(add_row(table, widths), columns, strict=True):
            cell_text(cell, column[1], size=size, align=WD_ALIGN_PARAGRAPH.CENTER if len(column[0]) <= 3 else
                      WD_ALIGN_PARAGRAPH.LEFT)
        cell_text(add_row(table, widths)[0], "{%tr endfor %}", size=size)
        self.para("", indent=0)

    def attachments(self) -> None:
        self.control("if attachments")
        self.para("", indent=0)
        self.control("for a in attachments")
        self.para("{{ '附件：' if loop.first else '　　　' }}{{ (loop.index ~ '．') if attachments|length > 1 }}"
                  "{{ a }}", indent=0, left_chars=2)
        self.control("endfor")
        self.control("endif")

    def signature(self) -> None:
        """署名 and 成文日期: with a seal the date sits four characters from the right and the name is centred
        over it; without, the name stands two characters from the right and the date two characters further
        right (GB/T 9704 7.3.5)."""
        self.para("", indent=0)
        right = 4 * CHAR_MM
        width = 84.0
        widths = [round(TEXT_WIDTH_MM - width - right, 1), width, round(right, 1)]
        table = new_table(self.doc, widths, borders=False)
        _caption(table, SIGNATURE_TABLE)
        rows = [("{%tr if sealed %}", None), ("{{ signatory }}", WD_ALIGN_PARAGRAPH.CENTER),
                ("{{ date|cn_date }}", WD_ALIGN_PARAGRAPH.CENTER), ("{%tr else %}", None),
                ("{{ signatory }}", WD_ALIGN_PARAGRAPH.RIGHT), ("{{ date|cn_date }}", WD_ALIGN_PARAGRAPH.RIGHT),
                ("{%tr endif %}", None)]
        for text, align in rows:
            cells = add_row(table, widths)
            if align is None:
                cell_text(cells[0], text, size=SIZE["三号"])
            else:
                cell_text(cells[1], text, size=SIZE["三号"], align=align)

    def note(self) -> None:
        self.control("if disclosure")
        self.para("（此件{{ disclosure }}）", indent=2)
        self.control("endif")

    def imprint(self) -> None:
        """The 版记: 抄送 and 印发机关/印发日期 between rules, as a table floated to the foot of the last page.

        Word honours the float; LibreOffice sets the table where it stands, right after the body."""
        widths = [round(TEXT_WIDTH_MM / 2, 1), round(TEXT_WIDTH_MM / 2, 1)]
        self.para("", indent=0)
        table = new_table(self.doc, widths, borders=False)
        _float_to_page_foot(table)
        size = SIZE["四号"]
        cell_text(add_row(table, widths)[0], "{%tr if copy_to %}", size=size)
        paragraph = cell_text(merge_row(add_row(table, widths)), "抄送：{{ copy_to|join('，') }}。", size=size)
        set_paragraph(paragraph, size=size, left_chars=1, right_chars=1, before=4, after=4)
        cell_text(add_row(table, widths)[0], "{%tr endif %}", size=size)
        cells = add_row(table, widths)
        for cell, text, align in ((cells[0], "{{ printed_by }}", WD_ALIGN_PARAGRAPH.LEFT),
                                  (cells[1], "{{ printed_date|cn_date }}印发", WD_ALIGN_PARAGRAPH.RIGHT)):
            paragraph = cell_text(cell, text, size=size, align=align)
            set_paragraph(paragraph, align=align, size=size, left_chars=1 if align == WD_ALIGN_PARAGRAPH.LEFT else 0,
                          right_chars=1 if align == WD_ALIGN_PARAGRAPH.RIGHT else 0, before=4, after=4)
        _rules(table)
        self.doc.add_paragraph()  # a floating table needs a paragraph to anchor to

    def certificate(self) -> None:
        """A4 landscape in a double red border, no page number: the red title on one line, the fields as label
        and value, the award text, and 署名 and date at the lower right where the seal is stamped over them."""
        page_setup(self.doc, CERTIFICATE_MARGINS, landscape=True)
        page_border(self.doc, style="double", eighths=18, color="C00000", space_pt=24)
        title = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.CENTER, size=CERTIFICATE_TITLE_SIZE,
                              after=18, exact_pitch=Pt(CERTIFICATE_TITLE_SIZE * 1.25))
        add_text(title, "{{ notice_title }}", font=XIAOBIAOSONG, size=CERTIFICATE_TITLE_SIZE, color=RED)
        self.certificate_fields(self.source["fields"])
        self.body(exact_pitch=CERTIFICATE_PITCH, left_chars=2, right_chars=2)
        self.certificate_signature()

    def certificate_fields(self, fields: list[list[str]]) -> None:
        """Label and value, the labels spread to one width (分散对齐) with the colon after them; no rules."""
        label, colon = round(max(len(name) for name, _ in fields) * CHAR_MM + 4.5, 1), round(CHAR_MM + 0.5, 1)
        width = CERTIFICATE_WIDTH_MM - 4 * CHAR_MM  # centred, two characters in from either side
        widths = [label, colon, round(width - label - colon, 1)]
        table = new_table(self.doc, widths, borders=False)
        for name, value in fields:
            cells = add_row(table, widths)
            for cell, text, font, align in ((cells[0], name, HEITI, WD_ALIGN_PARAGRAPH.DISTRIBUTE),
                                            (cells[1], "：", HEITI, WD_ALIGN_PARAGRAPH.LEFT),
                                            (cells[2], value, KAITI, WD_ALIGN_PARAGRAPH.LEFT)):
                paragraph = cell_text(cell, text, font=font, size=SIZE["三号"], align=align)
                set_paragraph(paragraph, align=align, size=SIZE["三号"], before=2, after=2,
                              exact_pitch=CERTIFICATE_PITCH)
        self.para("", indent=0, exact_pitch=Pt(12))

    def certificate_signature(self) -> None:
        """署名 over the date, centred in a column at the lower right, with a line of room for the seal above."""
        width = 84.0
        widths = [round(CERTIFICATE_WIDTH_MM - width - 2 * CHAR_MM, 1), width, round(2 * CHAR_MM, 1)]
        self.para("", indent=0, exact_pitch=CERTIFICATE_PITCH)
        table = new_table(self.doc, widths, borders=False)
        _caption(table, SIGNATURE_TABLE)
        for text in ("{{ signatory }}", "{{ date|cn_date }}"):
            paragraph = cell_text(add_row(table, widths)[1], text, size=SIZE["三号"], align=WD_ALIGN_PARAGRAPH.CENTER)
            set_paragraph(paragraph, align=WD_ALIGN_PARAGRAPH.CENTER, size=SIZE["三号"], exact_pitch=CERTIFICATE_PITCH)
        self.para("", indent=0, size=1, exact_pitch=Pt(1))  # the paragraph a document must end with, kept tiny


def _caption(table: Any, text: str) -> None:
    """An invisible caption (``w:tblCaption``, last in ``w:tblPr``) by which a program finds the table again: the
    署名 table, where ``verification_code.stamp`` puts an issued notice's QR code beside the signatory."""
    caption = OxmlElement("w:tblCaption")
    caption.set(qn("w:val"), text)
    table._tbl.tblPr.append(caption)


def _float_to_page_foot(table: Any) -> None:
    """Anchor the table to the bottom of the text block of the page it falls on (where 版记 belongs)."""
    position = OxmlElement("w:tblpPr")
    for key, value in (("vertAnchor", "margin"), ("horzAnchor", "margin"), ("tblpYSpec", "bottom"),
                       ("tblpXSpec", "center")):
        position.set(qn(f"w:{key}"), value)
    table_property(table, position)


def _rules(table: Any) -> None:
    """Thick rules above and below the 版记, a thin one between its lines; no vertical lines."""
    borders = OxmlElement("w:tblBorders")
    for side, size in (("top", 8), ("bottom", 8), ("insideH", 4)):
        edge = OxmlElement(f"w:{side}")
        for key, value in (("val", "single"), ("sz", str(size)), ("space", "0"), ("color", "000000")):
            edge.set(qn(f"w:{key}"), value)
        borders.append(edge)
    table_property(table, borders)


def build_notice_template(form: Form) -> Document:
    """The template of the notice ``form``, from its words in ``templates/notices/<id>.toml``."""
    return NoticeLayout(form, notice_source(form.id)).build()
