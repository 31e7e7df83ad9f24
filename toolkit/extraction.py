"""Getting a form's data back out of a submitted PDF, anchored on the form itself.

The form's layout says, in reading order, where each value is printed (``form_layout.Slot``): a label cell
and its value cell, a list table under its header row, a heading and its text. Extraction walks those slots
over the rows and lines of the PDF (``pdf_reading``), finds each label after the previous one — so a label
used twice (``姓名``) is told apart by its place — and types the value back by the schema: ``2024年11月8日``
→ ``2024-11-08``, ``812.5万元`` → ``812.5``, ``☑是 ☐否`` → ``true``, ``☑企业类`` → ``"企业类"``, ``甲、乙`` → a
list, a table row → an item. No coordinates are kept per form.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from .catalogue import form, forms
from .errors import UnusableInput
from .fields import put as set_field
from .form_layout import Slot, form_slots, slots_from_json
from .pdf_reading import Line, Row, Token, continue_row, read_pdf
from .resources import data_dir
from .template_build import sample_of
from .validation import Report, validate

_CJK = r"\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ITEM = re.compile(r"^第(\d+)项$")


@dataclass
class Extraction:
    """What came out of one PDF: the data, where each field was found, the fields not found, the report."""

    form: str
    file: str
    data: dict[str, Any]
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    report: Report | None = None

    @property
    def ok(self) -> bool:
        return not self.missing and self.report is not None and self.report.ok

    def as_dict(self) -> dict[str, Any]:
        """As ``shenbao extract --json`` prints it."""
        findings = [{"path": "/" + p.replace(".", "/"), "title": p, "rule": "extract.missing", "clause": "",
                     "severity": "error", "message": "在 PDF 中没有找到此字段"} for p in self.missing]
        findings += [f.as_dict() for f in (self.report.findings if self.report else ())]
        return {"form": self.form, "file": self.file, "data": self.data, "findings": findings,
                "fields": self.fields}


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def tidy(text: str) -> str:
    """Drop the gaps a PDF shows between Chinese and Latin text or digits (``到 2021 年`` → ``到2021年``)."""
    return re.sub(rf"(?<=[{_CJK}])[ \t]+(?=[0-9A-Za-z%.])|(?<=[0-9A-Za-z%.])[ \t]+(?=[{_CJK}])", "", text)


def join_lines(text: str) -> str:
    """A cell's wrapped lines as the one text that was typed.

    A wrap inside Chinese text or inside one long Latin token (``91120104MA05K7X1⏎0W``) added nothing; a wrap
    between two Latin words took the place of a space."""
    lines = [line.strip() for line in text.split("\n")]
    result = lines[0] if lines else ""
    for previous, line in zip(lines, lines[1:], strict=False):
        if not line:
            continue
        one_token = " " not in previous and previous.isascii()
        latin_boundary = previous[-1:].isascii() and line[:1].isascii() and previous[-1:].isalnum()
        result += " " if latin_boundary and not one_token and not previous.endswith("-") else ""
        result += line
    return tidy(result)


def _number(text: str, integer: bool) -> Any:
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace("，", "")
    cleaned = re.sub(r"(万元|元|人|㎡|m2|%|分|年|个|件|家|项)$", "", re.sub(r"\s+", "", cleaned))
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return text
    return int(value) if integer and value == int(value) else value


def typed(text: str, node: dict[str, Any], choices: tuple[str, ...] = ()) -> Any:
    """The JSON value of a printed value, by its schema node."""
    raw = text.strip()
    text = join_lines(raw)
    kind = node.get("type")
    if kind == "boolean":
        ticked = squeeze(text)
        return True if "☑是" in ticked else False if "☑否" in ticked else None
    if "enum" in node and "☑" in text:
        chosen = [c for c in node["enum"] if f"☑{squeeze(str(c))}" in squeeze(text)]
        return chosen[0] if chosen else None
    if kind == "array":
        items = node.get("items", {})
        if squeeze(text) in ("", "无"):
            return []
        if items.get("type") in ("number", "integer"):
            return [typed(p, items) for p in text.split("、") if p.strip()]
        return [typed(p, items) for p in re.split(r"(?:^|\n)\d+．", raw) if p.strip()]
    if text == "":  # an empty cell: an empty text, or no value at all for a choice, date or number
        plain = kind == "string" and not ({"enum", "format", "pattern"} & set(node))
        return "" if plain else None
    if node.get("format") == "date":
        match = _DATE.search(squeeze(text))
        return f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}" if match else text
    if kind in ("number", "integer"):
        return _number(text, kind == "integer")
    if node.get("format") in ("uscc", "cn-phone", "cn-resident-id") or "enum" in node:
        return re.sub(r"\s+", "", text)
    return text


class _Cursor:
    """A position in the PDF's tokens: the next label is looked for after it."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.index, self.cell = tokens, 0, 0

    def find_label(self, label: str) -> tuple[Row, int] | None:
        wanted = squeeze(label)
        for index in range(self.index, len(self.tokens)):
            token = self.tokens[index]
            if not isinstance(token, Row):
                continue
            start = self.cell if index == self.index else 0
            for position in range(start, len(token.cells) - 1):
                cell = squeeze(token.cells[position] or "")
                if cell and (cell == wanted or (wanted.startswith(cell) and self._rejoin(index, wanted))):
                    self.index, self.cell = index, position + 1
                    return token, position
        return None

    def _rejoin(self, index: int, label: str) -> bool:
        """A row broken across a page end with its label: ``研究开发组织管`` here, ``理水平`` atop the next
        page. Join the two rows back into one when the pieces of the label add up."""
        if index + 1 >= len(self.tokens):
            return False
        first, rest = self.tokens[index], self.tokens[index + 1]
        if not (isinstance(first, Row) and isinstance(rest, Row) and rest.page == first.page + 1):
            return False
        if squeeze(first.cells[0] or "") + squeeze(rest.cells[0] or "") != label or not continue_row(first, rest):
            return False
        first.cells[0] = label
        del self.tokens[index + 1]
        return True

    def find_line(self, text: str, stop: int | None = None) -> int | None:
        wanted = squeeze(text)
        for index in range(self.index, stop if stop is not None else len(self.tokens)):
            token = self.tokens[index]
            if isinstance(token, Line) and squeeze(token.text) == wanted:
                self.index, self.cell = index + 1, 0
                return index
        return None

    def find_header(self, labels: list[str]) -> int | None:
        wanted = [squeeze(label) for label in labels]
        for index in range(self.index, len(self.tokens)):
            token = self.tokens[index]
            if isinstance(token, Row) and [squeeze(c) for c in token.cells if c is not None] == wanted:
                self.index, self.cell = index + 1, 0
                return index
        return None


@cache
def _slots(form_id: str) -> tuple[Slot, ...]:
    """Where the form's template prints each value: written beside it when it was built, else laid out now."""
    path = data_dir("templates") / f"{form_id}.slots.json"
    if path.exists():
        return tuple(slots_from_json(json.loads(path.read_text(encoding="utf-8"))))
    target = form(form_id)
    return tuple(form_slots(target, sample_of(target)))


class _Extractor:
    def __init__(self, form_id: str, tokens: list[Token]) -> None:
        self.form_id = form_id
        self.slots = _slots(form_id)
        self.headings = {squeeze(s.label) for s in self.slots if s.kind in ("text", "header", "heading")}
        self.cursor = _Cursor(tokens)
        self.data: dict[str, Any] = {}
        self.fields: dict[str, dict[str, Any]] = {}
        self.missing: list[str] = []

    def run(self) -> None:
        for slot in self.slots:
            {"field": self.field, "list": self.list, "blocks": self.blocks, "text": self.text}.get(
                slot.kind, lambda s: None)(slot)

    def put(self, target: dict[str, Any], path: str, value: Any) -> None:
        if value is not None:
            set_field(target, path, value)

    def where(self, path: str, row: Row, position: int) -> None:
        box = row.boxes[position]
        self.fields[path] = {"page": row.page, "bbox": [round(v, 1) for v in box] if box else None}

    def field(self, slot: Slot, into: dict[str, Any] | None = None, prefix: str = "") -> None:
        found = self.cursor.find_label(slot.label)
        path = slot.path.split("[].", 1)[1] if prefix else slot.path
        if found is None:
            self.missing.append(prefix + path)
            return
        row, position = found
        value_position = next((i for i in range(position + 1, len(row.cells)) if row.cells[i] is not None), None)
        text = row.cells[value_position] if value_position is not None else ""
        self.put(into if into is not None else self.data, path, typed(text or "", slot.node))
        if value_position is not None:
            self.where(prefix + path, row, value_position)

    def list(self, slot: Slot) -> None:
        labels = [squeeze(c[0]) for c in slot.columns]
        start = self.cursor.find_header(labels)
        if start is None:
            self.missing.append(slot.path)
            return
        items: list[dict[str, Any]] = []
        index = start + 1
        while index < len(self.cursor.tokens):
            token = self.cursor.tokens[index]
            if isinstance(token, Line):
                break
            present = [i for i, c in enumerate(token.cells) if c is not None]  # cells of this row only
            cells = [squeeze(token.cells[i] or "") for i in present]
            if cells == labels:  # the header repeated on a new page
                index += 1
                continue
            if len(cells) != len(labels) or not cells[0].isdigit():
                index += 1 if cells[:1] == ["无"] and len(cells) == 1 else 0
                break
            item: dict[str, Any] = {}
            for (_, path, node), position in zip(slot.columns[1:], present[1:], strict=True):
                self.put(item, path.split("[].", 1)[1], typed(token.cells[position] or "", node))
                self.where(f"{slot.path}.{len(items)}.{path.split('[].', 1)[1]}", token, position)
            items.append(item)
            index += 1
        self.cursor.index, self.cursor.cell = index, 0
        self.put(self.data, slot.path, items)

    def blocks(self, slot: Slot) -> None:
        items: list[dict[str, Any]] = []
        while self.cursor.find_line(f"第{len(items) + 1}项") is not None:
            item: dict[str, Any] = {}
            for inner in slot.items:
                if inner.kind == "field":
                    self.field(inner, item, prefix=f"{slot.path}.{len(items)}.")
            items.append(item)
        self.put(self.data, slot.path, items)

    def text(self, slot: Slot) -> None:
        start = self.cursor.find_line(slot.label)
        if start is None:
            self.missing.append(slot.path)
            return
        lines: list[str] = []
        index = start + 1
        tokens = self.cursor.tokens
        while index < len(tokens) and isinstance(tokens[index], Line) and squeeze(
                tokens[index].text) not in self.headings and not _is_heading(tokens[index].text):
            lines.append(tokens[index].text)
            index += 1
        self.cursor.index, self.cursor.cell = index, 0
        self.put(self.data, slot.path, join_lines("\n".join(lines)) or None)
        if start < len(tokens):
            first = tokens[start + 1] if start + 1 < index else tokens[start]
            self.fields[slot.path] = {"page": first.page, "bbox": list(getattr(first, "box", [])) or None}


def _is_heading(text: str) -> bool:
    return bool(re.match(r"^([一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)", text.strip())) and len(text) < 40


def extract(form_id: str, path: str | Path) -> Extraction:
    """Read the PDF at ``path`` as a filled-in ``form_id``; ``UnusableInput`` when it cannot be read at all."""
    target = form(form_id)
    tokens, _ = read_pdf(path)
    _check_form(form_id, tokens, str(path))
    extractor = _Extractor(form_id, tokens)
    extractor.run()
    result = Extraction(form_id, str(path), extractor.data, extractor.fields, extractor.missing)
    result.report = validate(target.id, extractor.data, str(path))
    return result


def _check_form(form_id: str, tokens: list[Token], name: str) -> None:
    """Refuse a PDF of another form, saying which one it looks like."""
    head = squeeze("".join(t.text for t in tokens[:12] if isinstance(t, Line)))
    if squeeze(form(form_id).title) in head:
        return
    for other in forms():
        if squeeze(other.title) in head:
            raise UnusableInput(name, f"这不是「{form(form_id).title}」，看起来是 {other.id}（{other.title}）"
                                      f" (this looks like {other.id})")
    raise UnusableInput(name, f"没有找到表单标题「{form(form_id).title}」：这不是 {form_id} 的 PDF "
                              f"(not a PDF of {form_id})")


def extract_many(form_id: str, paths: list[str], jobs: int = 1) -> list[Extraction | UnusableInput]:
    """Extract many PDFs of one form on ``jobs`` processes; an unusable file gives its ``UnusableInput``."""
    form(form_id)
    return extract_files([(form_id, p) for p in paths], jobs)


def extract_files(items: list[tuple[str, str]], jobs: int = 1) -> list[Extraction | UnusableInput]:
    """Extract (form id, PDF) pairs on ``jobs`` processes, in order; pages are read in the workers."""
    if jobs <= 1 or len(items) < 2:
        return [_extract_or_error(form_id, path) for form_id, path in items]
    from concurrent.futures import ProcessPoolExecutor

    for form_id in {form_id for form_id, _ in items}:  # lay out and compile once; forked workers inherit it
        _slots(form_id)
        validate(form_id, {})
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_extract_or_error, *zip(*items, strict=True), chunksize=max(1, len(items) // (jobs * 4))))


def _extract_or_error(form_id: str, path: str) -> Extraction | UnusableInput:
    try:
        return extract(form_id, path)
    except UnusableInput as problem:
        return problem
