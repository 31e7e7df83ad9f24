"""The Word template of a form or plan: its plan (``layout_plan``) drawn with python-docx, as a ruled table of
shaded labels and values, list sections as table rows, plan outlines as numbered headings.

What goes where is the plan's business; this module only decides how it looks (fonts, sizes, widths, spacing).
Every value is a single run holding one Jinja tag, so the template stays editable in Word and WPS.
"""

from __future__ import annotations

from typing import Any, assert_never

from docx import Document as new_document
from docx.document import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from .catalogue import Form
from .docx_parts import (
    FANGSONG,
    FORM_MARGINS,
    HEITI,
    KAITI,
    SIZE,
    TEXT_WIDTH_MM,
    XIAOBIAOSONG,
    add_row,
    add_text,
    cell_text,
    merge_row,
    new_table,
    no_autospace,
    page_break,
    page_numbers,
    page_setup,
    repeat_header,
    set_paragraph,
    shade,
)
from .layout_plan import (
    Block,
    Caption,
    Cover,
    FieldTable,
    Heading,
    ItemBlocks,
    ListTable,
    LongRow,
    Narrative,
    Pair,
    Row,
    Signatures,
    SubHeader,
    Title,
    form_plan,
)

CHAR_MM = SIZE["小四"] * 25.4 / 72  # one 小四 character (labels and values), in mm
CELL_MARGINS_MM = 2 * 1.905  # left and right cell margins of the table style (108 twips each)
LABEL_CHARS = 8  # the longest label kept on one line: 统一社会信用代码, 是否在天津市注册
LABEL_MM = 39.0  # LABEL_CHARS characters, the cell margins and a little room (tests/test_layout_plan.py checks);
# the value cell beside it as wide: layout_plan.VALUE_CHARS characters, or a date such as 2024年11月20日 (LibreOffice
# sets a gap between Chinese characters and digits: 35 mm)
FIXED_SHARE = 0.75  # at most this much of a list table's width goes to columns of fixed width
PAIR_WIDTHS = [LABEL_MM, TEXT_WIDTH_MM / 2 - LABEL_MM, LABEL_MM, TEXT_WIDTH_MM / 2 - LABEL_MM]
_HEADING_STYLE = {1: (HEITI, SIZE["三号"]), 2: (KAITI, SIZE["三号"]), 3: (FANGSONG, SIZE["三号"])}


class FormLayout:
    """Draws the plan of one form; ``build()`` returns the python-docx document of its template."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self.plan: list[Block] = form_plan(form)
        self.doc = new_document()

    def build(self) -> Document:
        normal = self.doc.styles["Normal"]
        normal.font.name, normal.font.size = "Times New Roman", Pt(SIZE["小四"])
        normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FANGSONG)
        page_setup(self.doc, FORM_MARGINS)
        no_autospace(self.doc)
        for block in self.plan:
            self.draw(block)
        page_numbers(self.doc)
        return self.doc

    def draw(self, block: Block) -> None:
        match block:  # every kind of block, or mypy says which is left out
            case Cover():
                self.cover(block)
            case Title():
                self.title(block)
            case Heading():
                self.heading(block)
            case Caption():
                self.caption(block)
            case FieldTable():
                self.field_table(block)
            case ListTable():
                self.list_table(block)
            case ItemBlocks():
                self.item_blocks(block)
            case Narrative():
                self.narrative(block)
            case Signatures():
                self.signatures(block)
            case _:
                assert_never(block)

    # --- paragraphs ---------------------------------------------------------------------------------------

    def title(self, block: Title, before: float = 0) -> None:
        paragraph = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.CENTER, size=SIZE["二号"],
                                  before=before, after=18)
        add_text(paragraph, block.text, font=XIAOBIAOSONG, size=SIZE["二号"])

    def cover(self, block: Cover) -> None:
        top = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.RIGHT, size=SIZE["四号"])
        add_text(top, block.number, font=FANGSONG, size=SIZE["四号"])
        self.title(Title(block.title), before=120)
        for index, (label, tag) in enumerate(block.lines):
            paragraph = set_paragraph(self.doc.add_paragraph(), size=SIZE["三号"], left_chars=4,
                                      before=120 if index == 0 else 0, after=14)
            add_text(paragraph, f"{label}：", font=HEITI, size=SIZE["三号"])
            add_text(paragraph, tag, font=FANGSONG, size=SIZE["三号"])
        page_break(self.doc)

    def heading(self, block: Heading) -> None:
        font, size = _HEADING_STYLE[min(block.level, 3)]
        paragraph = set_paragraph(self.doc.add_paragraph(), size=size, before=10 if block.level == 1 else 6, after=6,
                                  keep_with_next=True, first_indent_chars=2 if block.indented else 0)
        add_text(paragraph, block.text, font=font, size=size, bold=block.level == 3)

    def caption(self, block: Caption) -> None:
        paragraph = set_paragraph(self.doc.add_paragraph(), size=SIZE["小四"], before=6, keep_with_next=True)
        add_text(paragraph, block.text, font=HEITI, size=SIZE["小四"])

    def narrative(self, block: Narrative) -> None:
        paragraph = set_paragraph(self.doc.add_paragraph(), size=SIZE["三号"], first_indent_chars=2,
                                  exact_pitch=Pt(28))
        add_text(paragraph, "{{ %s }}" % block.expression, font=FANGSONG, size=SIZE["三号"])

    def signatures(self, block: Signatures) -> None:
        for index, text in enumerate(block.lines):  # room below: the office's part may follow
            paragraph = set_paragraph(self.doc.add_paragraph(), size=SIZE["三号"], left_chars=12,
                                      before=36 if index == 0 else 12, after=18 if index == len(block.lines) - 1 else 0)
            add_text(paragraph, text, font=FANGSONG, size=SIZE["三号"])

    # --- tables -------------------------------------------------------------------------------------------

    def table(self, widths: list[float]) -> Any:
        """A new table; a thin paragraph keeps it from running into a table just before it (Word and
        LibreOffice would join the two, and a reader of the PDF could no longer tell them apart)."""
        body = self.doc.element.body
        if len(body) > 1 and body[-2].tag == qn("w:tbl"):
            set_paragraph(self.doc.add_paragraph(), size=4, exact_pitch=Pt(4))
        return new_table(self.doc, widths)

    def field_table(self, block: FieldTable) -> None:
        self.rows(self.table(PAIR_WIDTHS), block.rows)

    def rows(self, table: Any, rows: list[Row]) -> None:
        for row in rows:
            cells = add_row(table, PAIR_WIDTHS)
            if isinstance(row, SubHeader):
                self.sub_header(table, cells, row.label)
                continue
            for index, field in enumerate(row.fields):
                shade(cells[2 * index])
                cell_text(cells[2 * index], field.label, font=HEITI)
                if isinstance(row, Pair):
                    cell_text(cells[2 * index + 1], field.tag)
            if isinstance(row, LongRow):
                cell_text(merge_row(cells[1:]), row.field.tag)
            elif len(row.fields) == 1:
                merge_row(cells[1:])

    def sub_header(self, table: Any, cells: list[Any], label: str) -> None:
        """A shaded row across the table. Its line has no spacing above or below, and its height comes from the
        row: LibreOffice splits a row that may break (a merged one must) between its line and the spacing under
        it, leaving an empty shaded row at the top of the next page."""
        header = merge_row(cells)
        shade(header)
        set_paragraph(cell_text(header, label, font=HEITI), size=SIZE["小四"], keep_with_next=True)  # Word keeps it
        table.rows[-1].height, table.rows[-1].height_rule = Mm(7), WD_ROW_HEIGHT_RULE.AT_LEAST
        header.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER

    def list_table(self, block: ListTable) -> None:
        """Rows of a list: a header row, one row per item, ``无`` when the list is empty."""
        widths = _widths([column.weight for column in block.columns], [column.fixed for column in block.columns])
        table = self.table(widths)
        header = add_row(table, widths)
        repeat_header(header)
        for cell, column in zip(header, block.columns, strict=True):
            shade(cell)
            cell_text(cell, column.label, font=HEITI, align=WD_ALIGN_PARAGRAPH.CENTER)
        self._control_row(table, widths, "{%%tr if %s %%}" % block.expression)
        self._control_row(table, widths, "{%%tr for item in %s %%}" % block.expression)
        for cell, column in zip(add_row(table, widths), block.columns, strict=True):
            cell_text(cell, column.tag)
        self._control_row(table, widths, "{%tr endfor %}")
        self._control_row(table, widths, "{%tr else %}")
        cell_text(merge_row(add_row(table, widths)), "无", align=WD_ALIGN_PARAGRAPH.CENTER)
        self._control_row(table, widths, "{%tr endif %}")

    def item_blocks(self, block: ItemBlocks) -> None:
        """A list too wide for one row per item: each item as a small table of its own."""
        self._control_paragraph("{%%p if %s %%}" % block.expression)
        self._control_paragraph("{%%p for item in %s %%}" % block.expression)
        self.caption(Caption("第{{ loop.index }}项"))
        self.rows(self.table(PAIR_WIDTHS), block.rows)
        self._control_paragraph("{%p endfor %}")
        self._control_paragraph("{%p else %}")
        add_text(set_paragraph(self.doc.add_paragraph(), size=SIZE["小四"], first_indent_chars=2), "无",
                 size=SIZE["小四"])
        self._control_paragraph("{%p endif %}")

    def _control_row(self, table: Any, widths: list[float], tag: str) -> None:
        cell_text(add_row(table, widths)[0], tag)

    def _control_paragraph(self, tag: str) -> None:
        add_text(self.doc.add_paragraph(), tag, size=SIZE["小四"])


def _widths(weights: list[float], fixed: list[bool] | None = None) -> list[float]:
    """Column widths in mm over the text block: a ``fixed`` column gets its weight in characters (and the cell
    margins), so that what it holds stays on one line; the others share the rest in proportion to their weights.
    Where the fixed ones would leave the others too little, all are in proportion."""
    fixed = fixed or [False] * len(weights)
    kept = sum(w * CHAR_MM + CELL_MARGINS_MM for w, f in zip(weights, fixed, strict=True) if f)
    free = sum(w for w, f in zip(weights, fixed, strict=True) if not f)
    if not free or kept > TEXT_WIDTH_MM * FIXED_SHARE:
        fixed, kept, free = [False] * len(weights), 0, sum(weights)
    scale = (TEXT_WIDTH_MM - kept) / free
    widths = [round(w * CHAR_MM + CELL_MARGINS_MM if f else w * scale, 1) for w, f in zip(weights, fixed, strict=True)]
    return widths[:-1] + [round(TEXT_WIDTH_MM - sum(widths[:-1]), 1)]
