"""The plan of a form's template, from its schema alone: which blocks follow one another, in reading order.

A plan is a list of blocks (a cover or a title, headings, tables of label and value cells, list tables, lists
laid out item by item, narrative text, signatures), each carrying its labels, the dotted paths of its values
and their Jinja tags, but nothing of Word: ``form_layout`` draws a plan with python-docx, and extraction reads a
PDF by the slots derived from it (``form_slots``). Every label is the schema's ``title``, so extraction can find
it again. A text field marked ``"x-long": true`` in the schema takes a whole row (or, in a plan's outline, a
heading and paragraphs); so do a list of plain values, an identifier that must never break across lines
(``UNBREAKABLE_FORMATS``) and choices printed with their boxes that are wider than a value cell. The sections
the office fills in (``x-office-sections``) come last, after the applicant's signatures, under ``OFFICE_HEADING``,
so the applicant sees at a glance which parts are not theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .catalogue import Form
from .fields import dotted as pointer_path
from .fields import resolve
from .values import chinese_numeral

TABLE_COLUMNS = 6  # a list with more columns than this is laid out item by item
NUMBERED = re.compile(r"^([一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[.．])")
_DICT_ATTRIBUTES = set(dir(dict))
_DATE_LINE = "日期：　　　　年　　月　　日"
OFFICE_HEADING = "以下由审核部门填写"
UNBREAKABLE_FORMATS = ("uscc", "cn-resident-id")  # identifiers printed on one line: a whole row, a wide column
IDENTIFIER_WIDTH = 10.6  # characters of a list column holding such an identifier (91120104MA05K7X10W: 10.5)
VALUE_CHARS = 8  # characters a value cell beside another field holds on one line (form_layout's PAIR_WIDTHS)


@dataclass
class Slot:
    """A place on the form where a value is printed, in the order a reader meets it: what extraction looks for.

    ``field``: a label cell and its value cell; ``list``: a table with a header row of ``columns`` and a row
    per item; ``blocks``: a list laid out item by item, each item's slots in ``items``; ``text``: a heading
    (``label``) followed by paragraphs of text; ``header`` and ``heading``: a sub-header row or a heading."""

    kind: str
    label: str
    path: str
    node: dict[str, Any] = field(default_factory=dict)
    columns: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    items: list[Slot] = field(default_factory=list)


@dataclass
class Entry:
    """A label and the tag that prints the value at ``path`` (schema ``node``)."""

    label: str
    tag: str
    path: str
    node: dict[str, Any]


@dataclass
class Pair:
    """A table row of one or two label and value cells side by side (one: its value spans the row)."""

    fields: list[Entry]


@dataclass
class LongRow:
    """A table row of a label and a value taking the rest of the row."""

    field: Entry

    @property
    def fields(self) -> list[Entry]:
        return [self.field]


@dataclass
class SubHeader:
    """A shaded row across a table naming the object whose fields follow."""

    label: str
    path: str


Row = Pair | LongRow | SubHeader


@dataclass
class Column:
    """A column of a list table: header, the tag printing it for ``item``, width in characters, path, node;
    a ``fixed`` column keeps its width when the table is fitted to the page: its values have a known width and
    must not wrap (an identifier, a date, a number, choices), while columns of free text share the rest."""

    label: str
    tag: str
    weight: float
    path: str
    node: dict[str, Any]
    fixed: bool = False


@dataclass
class Cover:
    """The cover page: number line, title, and the applicant, contact and date lines — what an official form's
    cover carries, nothing more."""

    title: str
    lines: list[tuple[str, str]]
    number: str = "编号：____________"


@dataclass
class Title:
    """The form's title at the top of its first page (a form without a cover)."""

    text: str


@dataclass
class Heading:
    """A heading of ``level`` 1 (section) to 3; ``indented`` by two characters or flush left."""

    text: str
    level: int
    indented: bool


@dataclass
class Caption:
    """A short bold line naming the list table that follows."""

    text: str


@dataclass
class FieldTable:
    """A ruled table of label and value cells."""

    rows: list[Row]


@dataclass
class ListTable:
    """A list of objects as a table: a header row of ``columns``, a row per item, ``无`` when it is empty."""

    expression: str
    path: str
    columns: list[Column]


@dataclass
class ItemBlocks:
    """A list too wide for a row per item: each item as a small table of ``rows`` under ``第N项``."""

    expression: str
    path: str
    rows: list[Row]


@dataclass
class Narrative:
    """Paragraphs of text printing ``expression``, under the heading ``label``."""

    label: str
    expression: str
    path: str


@dataclass
class Signatures:
    """The lines signed and stamped at the end of the form."""

    lines: list[str]


Block = Cover | Title | Heading | Caption | FieldTable | ListTable | ItemBlocks | Narrative | Signatures


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
    if boxed_choices(node):
        return "{{ %s|options('%s') }}" % (expression, dotted)
    if node.get("format") == "date":
        return "{{ %s|cn_date }}" % expression
    if kind in ("number", "integer"):
        return "{{ %s|wan }}" % expression if "万元" in node.get("title", "") else "{{ %s|num }}" % expression
    if kind == "array":
        return "{{ %s|join_list }}" % expression
    return "{{ %s }}" % expression


def boxed_choices(node: dict[str, Any]) -> list[str]:
    """The choices of a short enum, printed each with its box (``☑企业类　☐事业类``); none for other fields."""
    choices = [str(e) for e in node.get("enum", [])]
    return choices if 0 < len(choices) <= 5 and sum(len(c) for c in choices) <= 24 else []


def dotted(expression: str, within: str = "") -> str:
    """The schema path of a Jinja expression: ``item.title`` inside the list ``ip`` → ``ip[].title``."""
    path = re.sub(r"\['([^']+)'\]", r".\1", expression)
    if path == "item" or path.startswith("item."):
        path = within + "[]" + path[4:]
    return path


def form_plan(form: Form) -> list[Block]:
    """The blocks of ``form``'s template, in reading order, from its schema and layout facts alone."""
    return _Planner(form).plan()


@cache
def _cached_slots(form: Form) -> tuple[Slot, ...]:
    return tuple(plan_slots(form_plan(form)))


def form_slots(form: Form) -> list[Slot]:
    """Where each value of ``form`` is printed on its template, in reading order (see ``Slot``)."""
    return list(_cached_slots(form))


def plan_slots(blocks: list[Block]) -> list[Slot]:
    """The slots of a plan: its headings, fields, lists and texts in the order they are printed."""
    slots: list[Slot] = []
    for block in blocks:
        if isinstance(block, (Heading, Caption)):
            slots.append(Slot("heading", block.text, ""))
        elif isinstance(block, Narrative):
            slots.append(Slot("text", block.label, block.path))
        elif isinstance(block, FieldTable):
            slots += _row_slots(block.rows)
        elif isinstance(block, ListTable):
            slots.append(Slot("list", "", block.path, columns=[(c.label, c.path, c.node) for c in block.columns]))
        elif isinstance(block, ItemBlocks):
            slots.append(Slot("blocks", "", block.path, items=_row_slots(block.rows)))
    return slots


def _row_slots(rows: list[Row]) -> list[Slot]:
    slots: list[Slot] = []
    for row in rows:
        if isinstance(row, SubHeader):
            slots.append(Slot("header", row.label, row.path))
        else:
            slots += [Slot("field", f.label, f.path, f.node) for f in row.fields]
    return slots


class _Planner:
    """Walks one form's schema and lays its blocks out one after another."""

    def __init__(self, form: Form) -> None:
        self.form, self.schema = form, form.schema
        self.outline = bool(form.layout["outline"])  # a plan: numbered outline headings, narrative sections
        self.sections = 0  # section headings numbered so far (一、二、…)
        self.blocks: list[Block] = []

    def plan(self) -> list[Block]:
        self.blocks.append(self.cover() if self.form.layout["cover"] else Title(self.form.title))
        office = self.office_names()
        properties = self.schema["properties"]
        self.body({name: node for name, node in properties.items() if name not in office})
        self.blocks.append(Signatures(self.signature_lines()))
        self.office_part({name: node for name, node in properties.items() if name in office})
        return self.blocks

    def office_names(self) -> set[str]:
        """The top-level fields the office fills in (``x-office-sections``; a deeper pointer stays in place)."""
        paths = [pointer_path(p) for p in self.form.office_sections]
        return {path for path in paths if path in self.schema["properties"]}

    # --- schema -------------------------------------------------------------------------------------------

    def node(self, node: dict[str, Any]) -> dict[str, Any]:
        return resolve(node, self.schema)

    def is_list_of_objects(self, node: dict[str, Any]) -> bool:
        return node.get("type") == "array" and self.node(node.get("items", {})).get("type") == "object"

    def is_long(self, node: dict[str, Any]) -> bool:
        """A value that takes a whole row: a list of plain values, or a text the schema marks ``x-long``."""
        if node.get("type") == "array" and not self.is_list_of_objects(node):
            return True
        return node.get("x-long") is True

    def takes_row(self, node: dict[str, Any]) -> bool:
        """A value printed alone on its table row: a long one, an identifier that must not break, or choices
        with their boxes too wide for a value cell (they would break inside a word)."""
        choices = boxed_choices(node)
        wide = sum(len(c) + 2 for c in choices) - 1 > VALUE_CHARS  # a box and a space each, no space at the end
        return self.is_long(node) or node.get("format") in UNBREAKABLE_FORMATS or wide

    def is_outline_text(self, node: dict[str, Any]) -> bool:
        return self.outline and node.get("type") == "string" and bool(NUMBERED.match(node.get("title", "")))

    def field(self, node: dict[str, Any], name: str, expression: str, within: str = "") -> Entry:
        path = dotted(expression, within)
        return Entry(node.get("title", name), value_tag(node, expression, path), path, node)

    # --- cover, headings, signatures ----------------------------------------------------------------------

    @property
    def unit(self) -> str:
        return "编制单位" if self.outline else "申报单位"

    def cover(self) -> Cover:
        return Cover(self.form.title, self.cover_lines())

    def cover_lines(self) -> list[tuple[str, str]]:
        """The applicant, the contact and the date of the cover page, found by their place in the schema."""
        lines: list[tuple[str, str]] = []
        properties = self.schema["properties"]
        for name, node in properties.items():
            node = self.node(node)
            if node.get("type") == "object" and "name" in node.get("properties", {}) and name != "contact":
                lines.append((f"{self.unit}（盖章）", "{{ %s }}" % access(access("", name), "name")))
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

    def signature_lines(self) -> list[str]:
        if self.form.layout["cover"]:
            return [f"{self.unit}（盖章）：", "法定代表人（签字）：", _DATE_LINE]
        return ["填报人（签字）：", "审核人（签字）：", _DATE_LINE]

    def heading(self, text: str, level: int) -> None:
        self.blocks.append(Heading(text, level, indented=not (level == 1 and not self.outline)))

    def section_title(self, title: str) -> str:
        """A section heading numbered 一、二、… unless the form is a plan or the title carries its number."""
        if self.outline or NUMBERED.match(title):
            return title
        self.sections += 1
        return f"{chinese_numeral(self.sections)}、{title}"

    # --- body -----------------------------------------------------------------------------------------------

    def body(self, properties: dict[str, Any]) -> None:
        """The applicant's sections in schema order: loose fields gathered in tables between the sections."""
        loose: list[tuple[str, dict[str, Any]]] = []
        for name, raw in properties.items():
            node = self.node(raw)
            if node.get("type") == "object" or self.is_list_of_objects(node) or self.is_outline_text(node):
                self.fields_table("", loose)
                loose = []
                self.block(name, node)
            else:
                loose.append((name, node))
        self.fields_table("", loose)

    def office_part(self, properties: dict[str, Any]) -> None:
        """The office's sections, in schema order, as one table under ``OFFICE_HEADING``: loose fields two by
        two, each object under a sub-header of its title."""
        if properties:
            self.heading(OFFICE_HEADING, 1)
            self.object_rows("", {"properties": {name: self.node(node) for name, node in properties.items()}})

    def block(self, name: str, node: dict[str, Any]) -> None:
        """A top-level section: a plan's narrative, a list, a plan's numbered outline, or an object's table."""
        title, expression = node.get("title", name), access("", name)
        if self.is_outline_text(node):
            self.heading(title, 1)
            self.blocks.append(Narrative(title, expression, dotted(expression)))
        elif self.is_list_of_objects(node):
            self.heading(self.section_title(title), 1)
            self.list_table(expression, self.node(node["items"]))
        elif self.outline and NUMBERED.match(title):
            self.heading(title, 1)
            self.outline_section(expression, node, 2)
        elif self.outline:
            self.heading(title, 2)
            self.object_rows(expression, node)
        else:
            self.heading(self.section_title(title), 1)
            self.object_rows(expression, node)

    def outline_section(self, path: str, node: dict[str, Any], level: int) -> None:
        """A plan section: long texts and numbered sub-sections as headings, other objects and lists under
        headings of their own, the remaining fields gathered in a table."""
        loose: list[tuple[str, dict[str, Any]]] = []
        for name, raw in node.get("properties", {}).items():
            child, expression = self.node(raw), access(path, name)
            title, kind = child.get("title", name), child.get("type")
            if kind == "string" and self.is_long(child) or kind == "object" and NUMBERED.match(title):
                self.heading(title, level)
                if kind == "object":
                    self.outline_section(expression, child, level + 1)
                else:
                    self.blocks.append(Narrative(title, expression, dotted(expression)))
            elif self.is_list_of_objects(child) or kind == "object":
                self.fields_table(path, loose)
                loose = []
                self.heading(title, level)
                if kind == "object":
                    self.object_rows(expression, child)
                else:
                    self.list_table(expression, self.node(child["items"]))
            else:
                loose.append((name, child))
        self.fields_table(path, loose)

    def object_rows(self, path: str, node: dict[str, Any]) -> None:
        """An object as a ruled table; its lists of objects follow, each under a caption, as tables of their own."""
        later: list[tuple[str, str, dict[str, Any]]] = []
        self.blocks.append(FieldTable(self.rows(path, node, later)))
        for name, expression, child in later:
            self.blocks.append(Caption(child.get("title", name)))
            self.list_table(expression, self.node(child["items"]))

    def fields_table(self, path: str, fields: list[tuple[str, dict[str, Any]]]) -> None:
        if fields:
            self.blocks.append(FieldTable(self.rows(path, {"properties": dict(fields)}, [])))

    def rows(self, path: str, node: dict[str, Any], later: list[tuple[str, str, dict[str, Any]]],
             within: str = "") -> list[Row]:
        """The rows of an object's table: fields two by two, long ones alone, a sub-header before each nested
        object; its lists of objects are put in ``later``."""
        rows: list[Row] = []
        pending: list[Entry] = []
        for name, raw in node.get("properties", {}).items():
            child, expression = self.node(raw), access(path, name)
            if self.is_list_of_objects(child):
                later.append((name, expression, child))
                continue
            if child.get("type") == "object" or self.takes_row(child):
                rows += _pairs(pending)
                pending = []
            if child.get("type") == "object":
                rows.append(SubHeader(child.get("title", name), dotted(expression, within)))
                rows += self.rows(expression, child, later, within)
            elif self.takes_row(child):
                rows.append(LongRow(self.field(child, name, expression, within)))
            else:
                pending.append(self.field(child, name, expression, within))
        return rows + _pairs(pending)

    def list_table(self, expression: str, item: dict[str, Any]) -> None:
        """A list of objects: a table with a column per field, or item by item when that would be too wide."""
        path = dotted(expression)
        columns = [Column("序号", "{{ loop.index }}", 2.5, "", {}, fixed=True)] + self.columns(item, "item", "", path)
        if len(columns) > TABLE_COLUMNS + 1:
            self.blocks.append(ItemBlocks(expression, path, self.rows("item", item, [], within=path)))
        else:
            self.blocks.append(ListTable(expression, path, columns))

    def columns(self, item: dict[str, Any], prefix: str, title: str, within: str) -> list[Column]:
        """The columns of a list of objects; the fields of a nested object spread out as columns of their own."""
        result: list[Column] = []
        for name, raw in item.get("properties", {}).items():
            child, expression = self.node(raw), access(prefix, name)
            label = f"{title}{child.get('title', name)}"
            if child.get("type") == "object":
                result += self.columns(child, expression, f"{label} · ", within)
            else:
                path = dotted(expression, within)
                result.append(Column(label, value_tag(child, expression, path),
                                     max(len(label) * 0.7, _content_width(child)), path, child,
                                     fixed=_known_width(child)))
        return result


def _pairs(fields: list[Entry]) -> list[Row]:
    return [Pair(fields[start:start + 2]) for start in range(0, len(fields), 2)]


def _known_width(node: dict[str, Any]) -> bool:
    """A value whose width the schema tells and that reads badly wrapped: an identifier, a date, a number,
    a yes or no, a choice among a few short words (each printed on a line of its own)."""
    kind, form = node.get("type"), node.get("format")
    short_choices = max(map(len, boxed_choices(node)), default=99) <= 5
    return form in UNBREAKABLE_FORMATS or form == "date" or kind in ("number", "integer", "boolean") or short_choices


def _content_width(node: dict[str, Any]) -> float:
    """How many characters a value of this kind needs, roughly, to stand on one line."""
    if node.get("format") in UNBREAKABLE_FORMATS:
        return IDENTIFIER_WIDTH
    if node.get("format") == "date":
        return 8.5  # 2024年11月20日: three characters, eight digits and the gaps LibreOffice sets between them
    if node.get("type") in ("number", "integer", "boolean"):
        return 5
    if "enum" in node:
        return max(len(str(e)) for e in node["enum"]) + 1
    return 9
