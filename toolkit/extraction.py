"""Getting a form's data back out of a submitted PDF (or Word file), anchored on the form itself.

The form's layout plan says, in reading order, where each value is printed (``layout_plan.Slot``): a label cell
and its value cell, a list table under its header row, a heading and its text. Extraction walks those slots
over the rows and lines of the PDF (``pdf_reading``), finds each label after the previous one — so a label
used twice (``姓名``) is told apart by its place — and types the value back by the schema: ``2024年11月8日``
→ ``2024-11-08``, ``812.5万元`` → ``812.5``, ``☑是 ☐否`` → ``true``, ``☑企业类`` → ``"企业类"``, ``甲、乙`` → a
list, a table row → an item. No coordinates are kept per form.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import fields as field_paths
from .catalogue import Form, form, forms
from .convert import pdf_of
from .errors import ConversionError, UnusableInput
from .files import read_input
from .layout_plan import Slot, form_slots
from .pdf_reading import Line, Row, Token, continue_row, read_pdf
from .validation import Finding, Report, check
from .values import join_lines, read_printed, squeeze


@dataclass
class Extraction:
    """What came out of one submission: the data, the evidence of each field (its page and box, by JSON pointer),
    the fields not found (JSON pointers), and the check of the data."""

    form: str
    file: str
    data: dict[str, Any]
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    report: Report | None = None

    @property
    def ok(self) -> bool:
        return not self.missing and self.report is not None and self.report.ok

    @property
    def findings(self) -> list[Finding]:
        """A finding for each field not found, then the check's findings."""
        owner = form(self.form)
        missing = [Finding(p, field_paths.title(owner, p), "extract.missing", "", "error", "在 PDF 中没有找到此字段")
                   for p in self.missing]
        return missing + list(self.report.findings if self.report else ())

    def as_dict(self) -> dict[str, Any]:
        """As ``shenbao extract --json`` prints it (the evidence keyed by dotted path, as it always was)."""
        return {"form": self.form, "file": self.file, "data": self.data,
                "findings": [f.as_dict() for f in self.findings],
                "fields": {field_paths.dotted(p): where for p, where in self.fields.items()}}


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
def _slots(target: Form | str) -> tuple[Slot, ...]:
    """Where the form's template prints each value, in reading order: the slots of the form's layout plan."""
    return tuple(form_slots(form(target)))


class _Extractor:
    def __init__(self, target: Form, tokens: list[Token]) -> None:
        self.form = target
        self.slots = _slots(target)
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
            field_paths.put(target, path, value)

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
        self.put(into if into is not None else self.data, path, read_printed(text or "", slot.node))
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
                self.put(item, path.split("[].", 1)[1], read_printed(token.cells[position] or "", node))
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


def extract(target: Form | str, data: bytes, name: str = "") -> Extraction:
    """Read a submitted PDF or Word file (bytes) as a filled-in form: its data, where each field was found,
    the fields not found, and the check of the data; ``UnusableInput`` when it cannot be read at all.

    A .docx is turned into PDF first (LibreOffice), so both are read by the same anchors."""
    target = form(target)
    name = name or "<submission>"
    if data[:2] == b"PK":
        data = _docx_to_pdf(data, name)
    tokens, _ = read_pdf(data, name)
    _check_form(target, tokens, name)
    extractor = _Extractor(target, tokens)
    extractor.run()
    result = Extraction(target.id, name, extractor.data,
                        {field_paths.pointer(p): where for p, where in extractor.fields.items()},
                        [field_paths.pointer(p) for p in extractor.missing])
    result.report = check(target, extractor.data, file=name)
    return result


def _docx_to_pdf(data: bytes, name: str) -> bytes:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "word/document.xml" not in archive.namelist():
                raise UnusableInput(name, "不是 PDF 或 Word 文件 (not a PDF or .docx)")
    except zipfile.BadZipFile:
        raise UnusableInput(name, "Word 文件已损坏 (damaged .docx)") from None
    try:
        return pdf_of(data)
    except ConversionError as exc:
        raise UnusableInput(name, f"Word 文件无法转换为 PDF：{exc.reason}") from None


def _check_form(target: Form, tokens: list[Token], name: str) -> None:
    """Refuse a PDF of another form, saying which one it looks like."""
    head = squeeze("".join(t.text for t in tokens[:12] if isinstance(t, Line)))
    if squeeze(target.title) in head:
        return
    for other in forms():
        if squeeze(other.title) in head:
            raise UnusableInput(name, f"这不是「{target.title}」，看起来是 {other.id}（{other.title}）"
                                      f" (this looks like {other.id})")
    raise UnusableInput(name, f"没有找到表单标题「{target.title}」：这不是 {target.id} 的 PDF "
                              f"(not a PDF of {target.id})")


def extract_file(target: Form | str, path: str | Path) -> Extraction | UnusableInput:
    """Read the file at ``path`` and extract it; an unusable file gives its ``UnusableInput``."""
    try:
        return extract(target, read_input(path), str(path))
    except UnusableInput as problem:
        return problem


def extract_many(items: list[tuple[Form | str, str | Path]], jobs: int = 1) -> list[Extraction | UnusableInput]:
    """Extract (form, file) pairs on ``jobs`` processes, in order; files are read in the workers, and an unusable
    file gives its ``UnusableInput``."""
    pairs = [(form(target), path) for target, path in items]
    if jobs <= 1 or len(pairs) < 2:
        return [extract_file(target, path) for target, path in pairs]
    from concurrent.futures import ProcessPoolExecutor

    for target in {target for target, _ in pairs}:  # lay out and compile once; forked workers inherit it
        _slots(target)
        check(target, {})
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(extract_file, *zip(*pairs, strict=True), chunksize=max(1, len(pairs) // (jobs * 4))))
