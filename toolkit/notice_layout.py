"""The Word template of a notice, laid out after GB/T 9704-2012 党政机关公文格式.

The words of each notice live in ``templates/notices/<id>.toml`` (``title``, ``body``, optional ``[table]``);
this module places them: 发文机关标志 in red with the red rule under the 发文字号, the 2号小标宋 title, 主送,
the 3号仿宋 body with headings by level, 附件说明, 署名 and 成文日期 (seal position), 附注, the 版记 at the foot
of the last page, and page numbers ``— 1 —`` right on odd pages, left on even ones.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from docx import Document as new_document
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

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
    page_numbers,
    page_setup,
    paragraph_border,
    repeat_header,
    set_paragraph,
    shade,
    table_property,
)
from .resources import data_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CHAR_MM = SIZE["三号"] * 25.4 / 72  # one 3号 character, in mm
_CONTROL = re.compile(r"^\s*\{%-?\s*(.*?)\s*-?%\}\s*$")
_LEVELS = [(re.compile(r"^[一二三四五六七八九十]+、"), 1), (re.compile(r"^（[一二三四五六七八九十]+）"), 2),
           (re.compile(r"^\d+[．.]"), 3), (re.compile(r"^[（(]\d+[)）]"), 4)]


def notice_source(form_id: str) -> dict[str, Any]:
    """The words of a notice: ``templates/notices/<id>.toml``."""
    path = data_dir("templates") / "notices" / f"{form_id}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def heading_level(line: str) -> int:
    return next((level for pattern, level in _LEVELS if pattern.match(line)), 0)


class NoticeLayout:
    def __init__(self, form: Form, source: dict[str, Any]) -> None:
        self.form, self.source = form, source
        self.doc = new_document()

    def build(self) -> Document:
        normal = self.doc.styles["Normal"]
        normal.font.name, normal.font.size = "Times New Roman", Pt(SIZE["三号"])
        normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FANGSONG)
        page_setup(self.doc, GB9704_MARGINS, even_odd=True)
        if self.source.get("layout") == "certificate":
            self.certificate()
        else:
            self.masthead()
            self.title()
            self.para("{{ addressee }}：", indent=0)
            self.body()
            self.attachments()
            self.signature(seal_aware=True)
            self.note()
            self.imprint()
        page_numbers(self.doc, even_odd=True)
        return self.doc

    # --- pieces -------------------------------------------------------------------------------------

    def para(self, text: str, indent: float = 2, font: str = FANGSONG, size: float = SIZE["三号"],
             align: Any = None, **spacing: Any) -> Any:
        paragraph = set_paragraph(self.doc.add_paragraph(), align=align, size=size, first_indent_chars=indent,
                                  exact_pitch=GB9704_LINE_PITCH if size == SIZE["三号"] else None, **spacing)
        if text:
            add_text(paragraph, text, font=font, size=size)
        return paragraph

    def control(self, statement: str) -> None:
        add_text(self.doc.add_paragraph(), "{%%p %s %%}" % statement, size=SIZE["三号"])

    def masthead(self) -> None:
        mark = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.CENTER, size=MARK_SIZE, after=24)
        run = add_text(mark, "{{ issuer.mark }}", font=XIAOBIAOSONG, size=MARK_SIZE, color=RED)
        for size in run._r.rPr.iter(qn("w:sz"), qn("w:szCs")):  # shrunk to one line by the renderer
            size.set(qn("w:val"), "{{ mark_half_points }}")
        number = self.para("{{ doc_number }}", indent=0, align=WD_ALIGN_PARAGRAPH.CENTER, before=12)
        paragraph_border(number, "bottom", "FF0000", eighths=12, space_pt=11)  # red rule 4 mm below

    def title(self) -> None:
        self.para("", indent=0)
        paragraph = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.CENTER, size=SIZE["二号"],
                                  before=12, after=12, exact_pitch=Pt(36))
        add_text(paragraph, self.source["title"].strip(), font=XIAOBIAOSONG, size=SIZE["二号"])

    def body(self) -> None:
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
                self.para(line, font=font, keep_with_next=level in (1, 2))

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

    def signature(self, seal_aware: bool) -> None:
        """署名 and 成文日期: with a seal the date sits four characters from the right and the name is centred
        over it; without, the name stands two characters from the right and the date two characters further
        right (GB/T 9704 7.3.5)."""
        self.para("", indent=0)
        right = 4 * CHAR_MM
        width = 84.0
        widths = [round(TEXT_WIDTH_MM - width - right, 1), width, round(right, 1)]
        table = new_table(self.doc, widths, borders=False)
        rows = [("{%tr if sealed %}", None), ("{{ signatory }}", WD_ALIGN_PARAGRAPH.CENTER),
                ("{{ date|cn_date }}", WD_ALIGN_PARAGRAPH.CENTER), ("{%tr else %}", None),
                ("{{ signatory }}", WD_ALIGN_PARAGRAPH.RIGHT), ("{{ date|cn_date }}", WD_ALIGN_PARAGRAPH.RIGHT),
                ("{%tr endif %}", None)]
        if not seal_aware:
            rows = rows[1:3]
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
        paragraph = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.CENTER, size=SIZE["小初"],
                                  before=36, after=30)
        add_text(paragraph, self.source["title"].strip(), font=XIAOBIAOSONG, size=SIZE["小初"], color=RED)
        self.body()
        self.signature(seal_aware=False)


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
