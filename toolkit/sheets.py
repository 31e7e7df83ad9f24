"""Spreadsheets of rows, as offices keep them: .xlsx, .csv and JSON Lines read lazily into ``Row``s, and the
columns a sheet may have for a form.

A column is named by the field's dotted path (``enterprise.name``) or its Chinese title (``企业名称``, or
``企业 · 企业名称`` where a title repeats); ``columns(form)`` says which header fills which field, and
``Row.data`` turns a row into the field values, each cell read by ``values.read_cell``. A JSON Lines row is the
data itself (``nested``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import fields
from .catalogue import Form
from .errors import UnusableInput
from .values import read_cell

SUFFIXES = (".xlsx", ".csv", ".jsonl")


@dataclass(frozen=True)
class Row:
    """One row of a sheet: its number as the office sees it, its cells by header (or, ``nested``, the data
    itself), and ``error`` when the row could not be read at all."""

    number: int
    values: Mapping[str, Any] = field(default_factory=dict)
    nested: bool = False
    error: str = ""


@dataclass(frozen=True)
class Columns:
    """The headers a sheet may use for the fields of a form (or of the items of one of its lists)."""

    names: Mapping[str, str]  # header → dotted path
    leaves: Mapping[str, fields.Field]  # dotted path → field

    def unknown(self, headers: list[str]) -> list[str]:
        return [h for h in headers if h and h not in self.names]

    def data(self, row: Row, defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A row's data: the defaults (the office's part), with the row's cells set over them."""
        if row.nested:
            return fields.merged(defaults or {}, row.values)
        data = fields.merged(defaults or {}, {})
        for header, raw in row.values.items():
            path = self.names.get(header)
            value = read_cell(raw, self.leaves[path].node) if path else None
            if value is not None:
                fields.put(data, path, value)
        return data


def columns(target: Form, under: str = "") -> Columns:
    """Every header a sheet may use for ``target`` (or for the items of its list ``under``, as ``enterprises[]``)."""
    leaves = fields.leaves(target, under)
    names: dict[str, str] = {}
    plain: dict[str, list[str]] = {}
    depth = len(fields.fields(target)[under].titles) if under else 0
    for path, leaf in leaves.items():
        composite = " · ".join(leaf.titles[depth:])
        names[path] = names[composite] = path
        plain.setdefault(leaf.title, []).append(path)
    for title, paths in plain.items():
        if len(paths) == 1:
            names.setdefault(title, paths[0])
    return Columns(names, leaves)


def headers(target: Form) -> list[str]:
    """The headers of an empty sheet for ``target``: the Chinese titles, made unique where they repeat."""
    names = columns(target).names
    by_path: dict[str, list[str]] = {}
    for name, path in names.items():
        by_path.setdefault(path, []).append(name)
    return [min((n for n in by_path[p] if n != p), key=len, default=p) for p in fields.leaves(target)]


def empty_sheet(target: Form) -> bytes:
    """An .xlsx with the form's headers and no rows, to fill in for a batch."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = target.title[:31]
    sheet.append(headers(target))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- reading a sheet ------------------------------------------------------------------------------------

def read_rows(path: Path) -> Iterator[Row]:
    """Every row of the sheet at ``path`` (blank rows left out), read lazily."""
    suffix = _suffix(path)
    if suffix == ".xlsx":
        yield from _xlsx(path)
    elif suffix == ".csv":
        yield from _csv(path)
    else:
        yield from _jsonl(path)


def _suffix(path: Path) -> str:
    if not path.exists():
        raise UnusableInput(str(path), "文件不存在 (no such file)")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnusableInput(str(path), "只接受 .xlsx、.csv 或 .jsonl 文件 (unsupported sheet format)")
    return suffix


def _open_book(path: Path) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise UnusableInput(str(path), f"不是有效的 Excel 文件 ({type(exc).__name__})") from None


def _first_sheet(book: Any, path: Path) -> Any:
    sheet = book.active
    if sheet is None:
        raise UnusableInput(str(path), "Excel 文件中没有工作表 (no worksheet)")
    return sheet


def _xlsx(path: Path) -> Iterator[Row]:
    book = _open_book(path)
    try:
        rows = _first_sheet(book, path).iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        for number, values in enumerate(rows, start=2):
            if any(v not in (None, "") for v in values):
                yield Row(number, dict(zip(header, values, strict=False)))
    finally:
        book.close()


def _csv_lines(path: Path) -> Iterator[list[str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from csv.reader(handle)
    except UnicodeDecodeError:
        raise UnusableInput(str(path), "不是 UTF-8 编码的 CSV (not UTF-8)") from None


def _csv(path: Path) -> Iterator[Row]:
    lines = _csv_lines(path)
    header = [h.strip() for h in next(lines, [])]
    for number, values in enumerate(lines, start=2):
        if any(v.strip() for v in values):
            yield Row(number, dict(zip(header, values, strict=False)))


def _jsonl(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                yield Row(number, nested=True, error=f"不是有效的 JSON：{exc.msg}")
                continue
            if isinstance(value, dict):
                yield Row(number, value, nested=True)
            else:
                yield Row(number, nested=True, error="不是 JSON 对象")


def count_rows(path: Path) -> int | None:
    """How many rows the sheet holds, for a progress bar's ETA (None when it cannot tell cheaply)."""
    suffix = _suffix(path)
    if suffix in (".csv", ".jsonl"):
        with path.open("rb") as handle:
            lines = sum(1 for line in handle if line.strip())
        return lines - (1 if suffix == ".csv" else 0)
    book = _open_book(path)
    rows = _first_sheet(book, path).max_row
    book.close()
    return rows - 1 if rows else None


def sheet_headers(path: Path) -> list[str]:
    """The header row of a .xlsx or .csv sheet (empty for JSON Lines, whose rows name their own fields)."""
    suffix = _suffix(path)
    if suffix == ".csv":
        return [h.strip() for h in next(_csv_lines(path), [])]
    if suffix == ".xlsx":
        book = _open_book(path)
        header = next(_first_sheet(book, path).iter_rows(max_row=1, values_only=True), ())
        book.close()
        return [str(h).strip() for h in header if h is not None]
    return []


def check_headers(target: Form, sheet: Path, under: str = "") -> Columns:
    """The columns of ``sheet``; ``UnusableInput`` (exit 2) when a header names no field, before any row is read."""
    known = columns(target, under)
    unknown = known.unknown(sheet_headers(sheet))
    if unknown:
        raise UnusableInput(str(sheet), f"列名「{'」「'.join(unknown)}」不是表单 {target.id} 的字段；"
                                        f"可用 `shenbao skeleton {target.id} --xlsx` 生成表头")
    return known
