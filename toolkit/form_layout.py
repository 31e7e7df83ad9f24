"""The Word template of a form or plan, laid out from its schema: what the official form asks, as a ruled
table of shaded labels and values, list sections as table rows, plan outlines as numbered headings.

Every label is the schema's ``title`` (so that extraction can find it again) and every value is a single
run holding one Jinja tag (so the template stays editable in Word and WPS). The sample decides which text
fields are long enough to take a whole row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from docx import Document as new_document
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from .catalogue import Form, resolve
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
    chinese_numeral,
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

PAIR_WIDTHS = [34.0, 44.0, 34.0, 44.0]
_NUMBERED = re.compile(r"^([一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[.．])")
_DICT_ATTRIBUTES = set(dir(dict))
COVER_KINDS = {"申请表", "建设方案", "评估材料", "报告"}
LONG_TEXT = 40  # characters of the sample beyond which a text field takes a whole row
TABLE_COLUMNS = 6  # a list with more columns than this is laid out item by item


@dataclass
class Slot:
    """A place on the form where a value is printed, in the order a reader meets it: what extraction looks for.

    ``field``: a label cell and its value cell; ``list``: a table with a header row of ``columns`` and a row
    per item; ``blocks``: a list laid out item by item, each item's slots in ``items``; ``text``: a heading
    (``label``) followed by paragraphs of text."""

    kind: str
    label: str
    path: str
    node: dict[str, Any] = field(default_factory=dict)
    columns: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    items: list[Slot] = field(default_factory=list)


def access(path: str, name: str) -> str:
    """The Jinja expression for field ``name`` under ``path`` (subscript where a dict method would shadow it)."""
    if name in _DICT_ATTRIBUTES or not name.isidentifier():
        return f"{path}[{name!r}]" if path else name
    return f"{path}.{name}" if path else name


def value_tag(node: dict[str, Any], expression: str, dotted: str) -> str:
    """The tag that prints a value of this schema node the way a Chinese form shows it.

    A short enum prints all its choices with boxes; the tag names the field (``options('center.type')``)
    rather than quoting the choices, which Word's smart quotes would change."""
    kind = node.get("type")
    if kind == "boolean":
        return "{{ %s|yesno }}" % expression
    if "enum" in node and len(node["enum"]) <= 5 and sum(len(str(e)) for e in node["enum"]) <= 24:
        return "{{ %s|options('%s') }}" % (expression, dotted)
    if node.get("format") == "date":
        return "{{ %s|cn_date }}" % expression
    if kind in ("number", "integer"):
        return "{{ %s|wan }}" % expression if "万元" in node.get("title", "") else "{{ %s|num }}" % expression
    if kind == "array":
        return "{{ %s|join_list }}" % expression
    return "{{ %s }}" % expression


class FormLayout:
    """Lays out one form; ``build()`` returns the python-docx document of its template."""

    def __init__(self, form: Form, sample: dict[str, Any]) -> None:
        self.form, self.schema, self.sample = form, form.schema, sample
        self.plan = form.kind == "建设方案"
        self.doc = new_document()
        self.sections = 0
        self.list_path = ""  # the schema path of the list whose items ``item`` stands for
        self.slots: list[Slot] = []  # where each value is printed, in reading order

    # --- schema helpers ------------------------------------------------------------------------------

    def node(self, node: dict[str, Any]) -> dict[str, Any]:
        return resolve(node, self.schema)

    def is_long(self, node: dict[str, Any], sample: Any) -> bool:
        if node.get("type") == "array" and self.node(node.get("items", {})).get("type") != "object":
            return True
        return isinstance(sample, str) and len(sample) > LONG_TEXT and "enum" not in node

    def is_list_of_objects(self, node: dict[str, Any]) -> bool:
        return node.get("type") == "array" and self.node(node.get("items", {})).get("type") == "object"

    def dotted(self, expression: str) -> str:
        """The schema path of a Jinja expression: ``item.title`` inside ``ip`` → ``ip[].title``."""
        path = re.sub(r"\['([^']+)'\]", r".\1", expression)
        if path == "item" or path.startswith("item."):
            path = self.list_path + "[]" + path[4:]
        return path

    # --- document --------------------------------------------------------------------------------------

    def build(self) -> Document:
        normal = self.doc.styles["Normal"]
        normal.font.name, normal.font.size = "Times New Roman", Pt(SIZE["小四"])
        normal.element.get_or_add_rPr().get_or_add_rFonts().set(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia", FANGSONG)
        page_setup(self.doc, FORM_MARGINS)
        no_autospace(self.doc)
        if self.form.kind in COVER_KINDS:
            self.cover()
        else:
            self.title(self.form.title, before=0)
        self.body()
        self.signatures()
        page_numbers(self.doc)
        return self.doc

    def title(self, text: str, before: float = 0) -> None:
        paragraph = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.CENTER, size=SIZE["二号"],
                                  before=before, after=18)
        add_text(paragraph, text, font=XIAOBIAOSONG, size=SIZE["二号"])

    def cover(self) -> None:
        top = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.RIGHT, size=SIZE["四号"])
        add_text(top, "编号：____________", font=FANGSONG, size=SIZE["四号"])
        self.title(self.form.title, before=120)
        for label, tag in self.cover_lines():
            paragraph = set_paragraph(self.doc.add_paragraph(), size=SIZE["三号"], left_chars=4, after=14)
            add_text(paragraph, f"{label}：", font=HEITI, size=SIZE["三号"])
            add_text(paragraph, tag, font=FANGSONG, size=SIZE["三号"])
        note = set_paragraph(self.doc.add_paragraph(), align=WD_ALIGN_PARAGRAPH.CENTER, size=SIZE["四号"], before=90)
        add_text(note, f"依据：{self.form.policy}（{self.form.clause}）", font=KAITI, size=SIZE["四号"])
        page_break(self.doc)

    def cover_lines(self) -> list[tuple[str, str]]:
        """The applicant, the date and the contact of the cover page, found by their place in the schema."""
        lines: list[tuple[str, str]] = []
        properties = self.schema["properties"]
        unit = "编制单位" if self.plan else "申报单位"
        for name, node in properties.items():
            node = self.node(node)
            if node.get("type") == "object" and "name" in node.get("properties", {}) and name != "contact":
                lines.append((f"{unit}（盖章）", "{{ %s }}" % access(access("", name), "name")))
                break
        contact = self.node(properties.get("contact", {})).get("properties", {})
        if "name" in contact:
            lines.append(("联 系 人", "{{ contact.name }}"))
        if "phone" in contact:
            lines.append(("联系电话", "{{ contact.phone }}"))
        for name, node in properties.items():
            if self.node(node).get("format") == "date":
                lines.append((self.node(node)["title"], "{{ %s|cn_date }}" % name))
                break
        return lines

    def table(self, widths: list[float]) -> Any:
        """A new table; a thin paragraph keeps it from running into a table just before it (Word and
        LibreOffice would join the two, and a reader of the PDF could no longer tell them apart)."""
        body = self.doc.element.body
        if len(body) > 1 and body[-2].tag == qn("w:tbl"):
            set_paragraph(self.doc.add_paragraph(), size=4, exact_pitch=Pt(4))
        return new_table(self.doc, widths)

    def heading(self, text: str, level: int) -> None:
        self.slots.append(Slot("heading", text, ""))
        font, size = {1: (HEITI, SIZE["三号"]), 2: (KAITI, SIZE["三号"]), 3: (FANGSONG, SIZE["三号"])}[min(level, 3)]
        paragraph = set_paragraph(self.doc.add_paragraph(), size=size, before=10 if level == 1 else 6, after=6,
                                  keep_with_next=True, first_indent_chars=0 if level == 1 and not self.plan else 2)
        add_text(paragraph, text, font=font, size=size, bold=level == 3)

    def section_title(self, title: str) -> str:
        if self.plan or _NUMBERED.match(title):
            return title
        self.sections += 1
        return f"{chinese_numeral(self.sections)}、{title}"

    # --- body --------------------------------------------------------------------------------------------

    def body(self) -> None:
        loose: list[tuple[str, dict[str, Any]]] = []
        for name, raw in self.schema["properties"].items():
            node = self.node(raw)
            if node.get("type") == "object" or self.is_list_of_objects(node) or self.is_outline_text(node, name):
                self.fields_table("", loose)
                loose = []
                self.block(name, node)
            else:
                loose.append((name, node))
        self.fields_table("", loose)

    def is_outline_text(self, node: dict[str, Any], name: str) -> bool:
        return self.plan and node.get("type") == "string" and bool(_NUMBERED.match(node.get("title", "")))

    def block(self, name: str, node: dict[str, Any]) -> None:
        title = node.get("title", name)
        if self.is_outline_text(node, name):
            self.heading(title, 1)
            self.narrative(access("", name), title)
        elif self.is_list_of_objects(node):
            self.heading(self.section_title(title), 1)
            self.list_table(access("", name), self.node(node["items"]))
        elif self.plan and _NUMBERED.match(title):
            self.heading(title, 1)
            self.outline(access("", name), node, self.sample.get(name, {}), 2)
        else:
            self.heading(self.section_title(title) if not self.plan else title, 1 if not self.plan else 2)
            self.object_rows(access("", name), node, self.sample.get(name, {}))

    def narrative(self, expression: str, title: str) -> None:
        self.slots.append(Slot("text", title, self.dotted(expression)))
        paragraph = set_paragraph(self.doc.add_paragraph(), size=SIZE["三号"], first_indent_chars=2,
                                  exact_pitch=Pt(28))
        add_text(paragraph, "{{ %s }}" % expression, font=FANGSONG, size=SIZE["三号"])

    def outline(self, path: str, node: dict[str, Any], sample: Any, level: int) -> None:
        """A plan section: narrative sub-fields as headings with their text, figures as a table."""
        loose: list[tuple[str, dict[str, Any]]] = []
        for name, raw in node.get("properties", {}).items():
            child, value = self.node(raw), (sample or {}).get(name)
            if child.get("type") == "string" and self.is_long(child, value) or (
                    child.get("type") == "object" and _NUMBERED.match(child.get("title", ""))):
                self.heading(child.get("title", name), level)
                if child.get("type") == "object":
                    self.outline(access(path, name), child, value, level + 1)
                else:
                    self.narrative(access(path, name), child.get("title", name))
            elif self.is_list_of_objects(child) or child.get("type") == "object":
                self.fields_table(path, loose, sample)
                loose = []
                self.heading(child.get("title", name), level)
                if child.get("type") == "object":
                    self.object_rows(access(path, name), child, value)
                else:
                    self.list_table(access(path, name), self.node(child["items"]))
            else:
                loose.append((name, child))
        self.fields_table(path, loose, sample)

    def object_rows(self, path: str, node: dict[str, Any], sample: Any) -> None:
        """An object as a ruled table; its lists of objects follow as tables of their own."""
        table = self.table(PAIR_WIDTHS)
        later: list[tuple[str, dict[str, Any]]] = []
        self._rows(table, path, node, sample or {}, later)
        for name, child in later:
            caption = set_paragraph(self.doc.add_paragraph(), size=SIZE["小四"], before=6, keep_with_next=True)
            add_text(caption, child.get("title", name), font=HEITI, size=SIZE["小四"])
            self.slots.append(Slot("heading", child.get("title", name), ""))
            self.list_table(access(path, name), self.node(child["items"]))

    def _rows(self, table: Any, path: str, node: dict[str, Any], sample: dict[str, Any],
              later: list[tuple[str, dict[str, Any]]]) -> None:
        pending: list[tuple[str, str, str, dict[str, Any]]] = []
        for name, raw in node.get("properties", {}).items():
            child, expression = self.node(raw), access(path, name)
            if self.is_list_of_objects(child):
                later.append((name, child))
            elif child.get("type") == "object":
                self._pairs(table, pending)
                pending = []
                header = merge_row(add_row(table, PAIR_WIDTHS))
                shade(header)
                cell_text(header, child.get("title", name), font=HEITI)
                self.slots.append(Slot("header", child.get("title", name), self.dotted(expression)))
                self._rows(table, expression, child, sample.get(name) or {}, later)
            elif self.is_long(child, sample.get(name)):
                self._pairs(table, pending)
                pending = []
                cells = add_row(table, PAIR_WIDTHS)
                shade(cells[0])
                cell_text(cells[0], child.get("title", name), font=HEITI)
                cell_text(merge_row(cells[1:]), value_tag(child, expression, self.dotted(expression)))
                self.slots.append(Slot("field", child.get("title", name), self.dotted(expression), child))
            else:
                dotted = self.dotted(expression)
                pending.append((child.get("title", name), value_tag(child, expression, dotted), dotted, child))
        self._pairs(table, pending)

    def _pairs(self, table: Any, pending: list[tuple[str, str, str, dict[str, Any]]]) -> None:
        for start in range(0, len(pending), 2):
            cells = add_row(table, PAIR_WIDTHS)
            pair = pending[start:start + 2]
            for index, (label, tag, dotted, node) in enumerate(pair):
                shade(cells[2 * index])
                cell_text(cells[2 * index], label, font=HEITI)
                cell_text(cells[2 * index + 1], tag)
                self.slots.append(Slot("field", label, dotted, node))
            if len(pair) == 1:
                merge_row(cells[1:])

    def fields_table(self, path: str, fields: list[tuple[str, dict[str, Any]]], sample: Any = None) -> None:
        if fields:
            node = {"properties": dict(fields)}
            table = self.table(PAIR_WIDTHS)
            self._rows(table, path, node, sample if sample is not None else self.sample, [])

    def columns(self, item: dict[str, Any], prefix: str = "item", title: str = "") -> list[tuple[Any, ...]]:
        """(header, tag, weight, path, node) of each column of a list of objects; nested objects spread out."""
        result: list[tuple[Any, ...]] = []
        for name, raw in item.get("properties", {}).items():
            child, expression = self.node(raw), access(prefix, name)
            label = f"{title}{child.get('title', name)}"
            if child.get("type") == "object":
                result += self.columns(child, expression, f"{label} · ")
            else:
                dotted = self.dotted(expression)
                result.append((label, value_tag(child, expression, dotted), max(len(label) * 0.7,
                               _content_width(child)), dotted, child))
        return result

    def list_table(self, expression: str, item: dict[str, Any]) -> None:
        """Rows of a list: a header row, one row per item, ``无`` when the list is empty."""
        self.list_path = self.dotted(expression)
        columns = [("序号", "{{ loop.index }}", 2.5, "", {})] + self.columns(item)
        if len(columns) > TABLE_COLUMNS + 1:
            return self.item_blocks(expression, item)
        self.slots.append(Slot("list", "", self.list_path, columns=[(c[0], c[3], c[4]) for c in columns]))
        widths = _widths([column[2] for column in columns])
        table = self.table(widths)
        header = add_row(table, widths)
        repeat_header(header)
        for cell, (label, *_) in zip(header, columns, strict=True):
            shade(cell)
            cell_text(cell, label, font=HEITI, align=WD_ALIGN_PARAGRAPH.CENTER)
        self._control_row(table, widths, "{%%tr if %s %%}" % expression)
        self._control_row(table, widths, "{%%tr for item in %s %%}" % expression)
        for cell, (_, tag, *_) in zip(add_row(table, widths), columns, strict=True):
            cell_text(cell, tag)
        self._control_row(table, widths, "{%tr endfor %}")
        self._control_row(table, widths, "{%tr else %}")
        cell_text(merge_row(add_row(table, widths)), "无", align=WD_ALIGN_PARAGRAPH.CENTER)
        self._control_row(table, widths, "{%tr endif %}")
        return None

    def item_blocks(self, expression: str, item: dict[str, Any]) -> None:
        """A list too wide for one row per item: each item as a small table of its own."""
        self._control_paragraph("{%%p if %s %%}" % expression)
        self._control_paragraph("{%%p for item in %s %%}" % expression)
        caption = set_paragraph(self.doc.add_paragraph(), size=SIZE["小四"], before=6, keep_with_next=True)
        add_text(caption, "第{{ loop.index }}项", font=HEITI, size=SIZE["小四"])
        table = self.table(PAIR_WIDTHS)
        outer, self.slots = self.slots, []
        self._rows(table, "item", item, {}, [])
        outer.append(Slot("blocks", "", self.list_path, items=self.slots))
        self.slots = outer
        self._control_paragraph("{%p endfor %}")
        self._control_paragraph("{%p else %}")
        add_text(set_paragraph(self.doc.add_paragraph(), size=SIZE["小四"], first_indent_chars=2), "无",
                 size=SIZE["小四"])
        self._control_paragraph("{%p endif %}")

    def _control_row(self, table: Any, widths: list[float], tag: str) -> None:
        cell_text(add_row(table, widths)[0], tag)

    def _control_paragraph(self, tag: str) -> None:
        add_text(self.doc.add_paragraph(), tag, size=SIZE["小四"])

    def signatures(self) -> None:
        if self.form.kind in COVER_KINDS:
            unit = "编制单位" if self.plan else "申报单位"
            lines = [f"{unit}（盖章）：", "法定代表人（签字）：", "日期：　　　　年　　月　　日"]
        else:
            lines = ["填报人（签字）：", "审核人（签字）：", "日期：　　　　年　　月　　日"]
        for index, text in enumerate(lines):
            paragraph = set_paragraph(self.doc.add_paragraph(), size=SIZE["三号"], left_chars=12,
                                      before=36 if index == 0 else 12)
            add_text(paragraph, text, font=FANGSONG, size=SIZE["三号"])


def _content_width(node: dict[str, Any]) -> float:
    """How many characters a value of this kind needs, roughly, to stand on one line."""
    if node.get("format") == "date":
        return 7
    if node.get("type") in ("number", "integer", "boolean"):
        return 5
    if "enum" in node:
        return max(len(str(e)) for e in node["enum"]) + 1
    return 9


def _widths(weights: list[float]) -> list[float]:
    """Column widths in mm over the text block, in proportion to ``weights``."""
    scale = TEXT_WIDTH_MM / sum(weights)
    widths = [round(w * scale, 1) for w in weights[:-1]]
    return widths + [round(TEXT_WIDTH_MM - sum(widths), 1)]


def form_slots(form: Form, sample: dict[str, Any]) -> list[Slot]:
    """Where each value of ``form`` is printed on its template, in reading order (see ``Slot``)."""
    layout = FormLayout(form, sample)
    layout.build()
    return layout.slots


def slots_to_json(slots: list[Slot]) -> list[dict[str, Any]]:
    """The slots as JSON, written beside the template (``templates/<id>.slots.json``) when it is built."""
    return [{"kind": s.kind, "label": s.label, "path": s.path, "node": s.node,
             "columns": [list(c) for c in s.columns], "items": slots_to_json(s.items)} for s in slots]


def slots_from_json(entries: list[dict[str, Any]]) -> list[Slot]:
    return [Slot(e["kind"], e["label"], e["path"], e["node"], [tuple(c) for c in e["columns"]],
                 slots_from_json(e["items"])) for e in entries]
