"""Getting a form's data back out of a submitted PDF (or Word file), anchored on the form itself.

The form's layout plan says, in reading order, where each value is printed (``layout_plan.Slot``): a label cell
and its value cell, a list table under its header row, a heading and its text. Extraction walks those slots
over the rows and lines of the PDF (``pdf_reading``), finds each label after the previous one — so a label
used twice (``姓名``) is told apart by its place — and types the value back by the schema: ``2024年11月8日``
→ ``2024-11-08``, ``812.5万元`` → ``812.5``, ``☑是 ☐否`` → ``true``, ``☑企业类`` → ``"企业类"``, ``甲、乙`` → a
list, a table row → an item. No coordinates are kept per form. A value extraction had to guess — a list whose
numbering skips (a row lost at a page break), a row that does not fit the list's header, a stray line inside a
list, a text read to the end of the file — is a finding (``extract.unsure``), so a value is either right or flagged.

A Word file is not converted: its tables and paragraphs are read straight into the same rows and lines
(``docx_reading``), so a rendered document edited in Word, or a draft's blanks (``＿＿＿＿＿＿``) filled in by hand,
come back as the PDF of it would. Before any field is read, the document must be the form: its title on a line of
its own (or over two lines) — another form's title, or an official notice (a 发文字号, a title ending in 通知),
is named as such and refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import fields as field_paths
from .catalogue import Form, form, forms
from .docx_reading import is_word, read_docx
from .errors import UnusableInput
from .files import read_input
from .layout_plan import Slot, form_slots
from .pdf_reading import Line, OverBudget, Row, Token, continue_row, read_pdf
from .scan_reading import LOW_CONFIDENCE, form_labels, image_only, is_image, read_scan
from .validation import Finding, Report, check
from .values import join_lines, read_printed, squeeze, tidy


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
    kind: str = "PDF"  # what was read: "PDF", "Word" (a .docx) or "scan" (an image-only PDF or a photo, by OCR)
    unsure: dict[str, str] = field(default_factory=dict)  # JSON pointer → what extraction had to guess there

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unsure and self.report is not None and self.report.ok

    @property
    def findings(self) -> list[Finding]:
        """A finding for each field not found, then the check's findings."""
        owner = form(self.form)
        message = {"PDF": "在 PDF 中没有找到此字段", "scan": "在扫描件中没有找到此字段"}.get(self.kind,
                                                                                    "在 Word 文件中没有找到此字段")
        missing = [Finding(p, field_paths.title(owner, p), "extract.missing", "", "error", message)
                   for p in self.missing]
        unsure = [Finding(p, field_paths.title(owner, p), "extract.unsure", "", "error", why)
                  for p, why in self.unsure.items()]
        unsure += [Finding(p, field_paths.title(owner, p), "extract.low-confidence", "", "error",
                           f"扫描件此处识别置信度低（{where['confidence']:.0%}），请对照原件核对")
                   for p, where in self.fields.items() if where.get("confidence", 1) < LOW_CONFIDENCE]
        return missing + unsure + list(self.report.findings if self.report else ())

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
            if not isinstance(token, Line):
                continue
            text = squeeze(token.text)
            if text == wanted:
                self.index, self.cell = index + 1, 0
                return index
            following = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
            if (wanted.startswith(text) and len(text) >= 2 and isinstance(following, Line)
                    and text + squeeze(following.text) == wanted):  # a heading wrapped onto two lines
                self.index, self.cell = index + 2, 0
                return index + 1
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
        self.unsure: dict[str, str] = {}

    def doubt(self, path: str, why: str) -> None:
        """Mark the value at ``path`` (dotted) as one extraction is not sure of, saying why (in Chinese)."""
        self.unsure.setdefault(path, f"未能确定此字段读取正确：{why}，请核对")

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
        confidences = getattr(row, "confidences", None)  # a scan's: how sure OCR is of each cell
        if confidences and confidences[position] is not None:
            self.fields[path]["confidence"] = round(confidences[position], 3)

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
        tokens = self.cursor.tokens
        while index < len(tokens):
            token = tokens[index]
            if isinstance(token, Line):
                if self._item_follows(index, len(labels), len(items) + 1):  # a stray line inside the list
                    self.doubt(slot.path, f"列表中间夹有一行文字「{token.text[:20]}」，已跳过")
                    index += 1
                    continue
                break
            present = [i for i, c in enumerate(token.cells) if c is not None]  # cells of this row only
            cells = [squeeze(token.cells[i] or "") for i in present]
            if cells == labels:  # the header repeated on a new page
                index += 1
                continue
            if len(cells) != len(labels) or not cells[0].isdigit():
                if cells[:1] == ["无"] and len(cells) == 1:
                    index += 1
                elif cells[:1] and cells[0].isdigit():
                    self.doubt(slot.path, f"第{len(items) + 1}行的格数与表头不符，列表可能不完整")
                break
            if cells[0] != str(len(items) + 1):
                self.doubt(slot.path, f"序号应为 {len(items) + 1}，读到的是 {cells[0]}：有一行可能丢失或错位")
            item: dict[str, Any] = {}
            for (_, path, node), position in zip(slot.columns[1:], present[1:], strict=True):
                self.put(item, path.split("[].", 1)[1], read_printed(token.cells[position] or "", node))
                self.where(f"{slot.path}.{len(items)}.{path.split('[].', 1)[1]}", token, position)
            items.append(item)
            index += 1
        self.cursor.index, self.cursor.cell = index, 0
        self.put(self.data, slot.path, items)

    def _item_follows(self, index: int, width: int, number: int) -> bool:
        """The next row after the lines at ``index`` is the list's item ``number`` (the list goes on)."""
        tokens = self.cursor.tokens
        while index < len(tokens):
            token = tokens[index]
            if isinstance(token, Row):
                cells = [squeeze(c) for c in token.cells if c is not None]
                return len(cells) == width and cells[0] == str(number)
            if squeeze(token.text) in self.headings or _is_heading(token.text):
                return False
            index += 1
        return False

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
        while index < len(tokens):
            token = tokens[index]
            if not isinstance(token, Line) or squeeze(token.text) in self.headings or _is_heading(token.text):
                break
            lines.append(token.text)
            index += 1
        self.cursor.index, self.cursor.cell = index, 0
        if index >= len(tokens) and lines and slot is not self.slots[-1]:
            self.doubt(slot.path, "正文一直读到文件末尾，没有找到下一节的标题")
        self.put(self.data, slot.path, join_lines("\n".join(lines)) or None)
        if start < len(tokens):
            first = tokens[start + 1] if start + 1 < index else tokens[start]
            box = getattr(first, "box", None)
            self.fields[slot.path] = {"page": first.page, "bbox": list(box) if box else None}
            confidences: list[float] = [c for t in tokens[start + 1:index]
                                        if (c := getattr(t, "confidence", None)) is not None]
            if confidences:  # a scan's: how sure OCR is of the least sure line
                self.fields[slot.path]["confidence"] = round(min(confidences), 3)


def _is_heading(text: str) -> bool:
    return bool(re.match(r"^([一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)", text.strip())) and len(text) < 40


def extract(target: Form | str, data: bytes, name: str = "") -> Extraction:
    """Read a submitted PDF or Word file (bytes) as a filled-in form: its data, where each field was found,
    the fields not found, and the check of the data; ``UnusableInput`` when it cannot be read at all, or is
    another form or an official notice.

    A .docx is read straight from its tables and paragraphs (``docx_reading``) into the rows and lines a PDF
    gives, so both are walked by the same anchors."""
    target = form(target)
    name = name or "<submission>"
    kind = "Word" if is_word(data) else "scan" if is_image(data) else "PDF"
    if kind == "PDF":
        try:
            tokens = read_pdf(data, name)[0]
        except UnusableInput as problem:
            if isinstance(problem, OverBudget) or not image_only(data):
                raise
            kind = "scan"  # no text layer: a scanned paper, read by OCR
    if kind != "PDF":
        tokens = read_docx(data, name) if kind == "Word" else read_scan(
            data, name, form_labels(target.title, _slots(target)))[0]
    _check_form(target, tokens, name, kind)
    extractor = _Extractor(target, tokens)
    extractor.run()
    result = Extraction(target.id, name, extractor.data,
                        {field_paths.pointer(p): where for p, where in extractor.fields.items()},
                        [field_paths.pointer(p) for p in extractor.missing], kind=kind,
                        unsure={field_paths.pointer(p): why for p, why in extractor.unsure.items()})
    result.report = check(target, extractor.data, file=name)
    return result


_HEAD = 12  # the first lines and rows of a document: where its title stands
_DOC_NUMBER = re.compile(r"^[^\d：:]{1,15}[〔\[(]\d{4}[〕\])]第?\d+号")  # 发文字号 (squeezed): 津科成〔2018〕171号
_NOTICE_TITLE_ENDS = ("通知", "证书", "名单", "公示", "公告", "通告", "通报", "决定", "批复")  # 文种 of a title


def _check_form(target: Form, tokens: list[Token], name: str, kind: str) -> None:
    """Refuse a document of another form, or an official notice, saying what it is. A form's title stands on a
    line of its own (or wraps over two); a title merely quoted in a line (``关于…《市级高企认定申请书》不予通过的
    通知``) does not make a document that form."""
    lines = _head_lines(tokens)
    if squeeze(target.title) in lines:
        return
    for other in forms():
        if squeeze(other.title) in lines:
            raise UnusableInput(name, f"这不是「{target.title}」，看起来是 {other.id}（{other.title}）"
                                      f" (this looks like {other.id})")
    notice = _notice(tokens)
    if notice:
        raise UnusableInput(name, f"这是一份公文（{notice}），不是「{target.title}」"
                                  f" (an official notice, not {target.id})")
    chinese, english = {"PDF": ("PDF", "PDF"), "scan": ("扫描件", "scan")}.get(kind, ("Word 文件", ".docx"))
    raise UnusableInput(name, f"没有找到表单标题「{target.title}」：这不是 {target.id} 的 {chinese} "
                              f"(not a {english} of {target.id})")


def _head_lines(tokens: list[Token]) -> set[str]:
    """The squeezed lines among the first tokens, and each two lines that follow one another, joined."""
    head = tokens[:_HEAD]
    lines = {squeeze(t.text) for t in head if isinstance(t, Line)}
    return lines | {squeeze(a.text + b.text) for a, b in zip(head, head[1:], strict=False)
                    if isinstance(a, Line) and isinstance(b, Line)}


def _notice(tokens: list[Token]) -> str:
    """What marks the document as an official notice: its 发文字号 and its title (up to three lines, after the
    发文字号 if there is one, the last ending in 通知, 证书, 名单 …); empty when it shows neither."""
    lines = [tidy(t.text.replace("\n", "").strip()) for t in tokens[:_HEAD] if isinstance(t, Line)]
    number = next((i for i, line in enumerate(lines) if _DOC_NUMBER.match(squeeze(line))), None)
    start = number + 1 if number is not None else 0
    last = len(lines) if number is None else min(len(lines), start + 3)
    end = next((i for i in range(start, last) if squeeze(lines[i]).endswith(_NOTICE_TITLE_ENDS)), None)
    title = "" if end is None else lines[end] if number is None else "".join(lines[start:end + 1])
    return "，".join(part for part in (lines[number] if number is not None else "", title) if part)


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
    with ProcessPoolExecutor(max_workers=jobs, initializer=_limit_memory) as pool:
        return list(pool.map(extract_file, *zip(*pairs, strict=True), chunksize=max(1, len(pairs) // (jobs * 4))))


WORKER_MEMORY = 4 * 2**30  # bytes of address space a worker of extract_many may take; past it a file is refused


def _limit_memory() -> None:
    """A worker's memory budget: past it a file's reading fails with ``MemoryError`` (refused, ``OverBudget``)
    and the worker goes on with the next file."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY or soft > WORKER_MEMORY:
            resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, hard))
    except (ImportError, ValueError, OSError):  # not on POSIX, or not allowed: the caps of ``Budget`` remain
        pass
