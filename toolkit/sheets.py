"""Spreadsheets of rows, as offices keep them: workbooks (.xlsx, .xls, .ods), text tables (.csv, or Excel's
tab-separated "Unicode text" .txt, in UTF-8, GB18030 or UTF-16) and JSON Lines read into ``Row``s, and the columns a
sheet may have for a form.

A column is named by the field's dotted path (``enterprise.name``) or its Chinese title (``企业名称``, or
``企业 · 企业名称`` where a title repeats); ``columns(form)`` says which header fills which field, and
``Row.data`` turns a row into the field values, each cell read by ``values.read_cell``. A JSON Lines row is the
data itself (``nested``).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import fields
from .catalogue import Form
from .errors import UnusableInput
from .files import decoded_text, read_input
from .values import read_cell

BOOKS = (".xlsx", ".xlsm", ".xls", ".ods")  # workbooks, read with python-calamine (its first visible sheet)
SUFFIXES = (*BOOKS, ".csv", ".txt", ".tsv", ".jsonl")


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
            if not path:  # a column of no field (an empty header)
                continue
            value = read_cell(raw, self.leaves[path].node)
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
    """Every row of the first sheet at ``path`` (blank rows left out), read lazily."""
    suffix = _suffix(path)
    if suffix in BOOKS:
        yield from _book_rows(path)
    elif suffix == ".jsonl":
        yield from _jsonl(path)
    else:
        yield from _text_rows(path)


def count_rows(path: Path) -> int | None:
    """How many rows the sheet holds, for a progress bar's ETA (None when it cannot tell cheaply)."""
    suffix = _suffix(path)
    if suffix in BOOKS:
        end = _first_sheet(path).end
        return end[0] if end else 0
    lines = sum(1 for line in _text(path)[0].split("\n") if line.strip())
    return lines - (0 if suffix == ".jsonl" else 1)


def sheet_headers(path: Path) -> list[str]:
    """The header row of a sheet (empty for JSON Lines, whose rows name their own fields)."""
    suffix = _suffix(path)
    if suffix == ".jsonl":
        return []
    header = next(_book_records(path) if suffix in BOOKS else _text_records(path), [])
    return [h for h in map(_header, header) if h]


def sheet_encoding(path: Path) -> str:
    """The encoding a text sheet (.csv, .txt, .tsv, .jsonl) was read in — ``files.UTF8``, or ``GB18030``,
    ``UTF-16`` … to tell the user (see ``files.decoded_text``); empty for a workbook (.xlsx, .xls, .ods)."""
    return "" if _suffix(path) in BOOKS else _text(path)[1]


def _suffix(path: Path) -> str:
    if not path.exists():
        raise UnusableInput(str(path), "文件不存在 (no such file)")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnusableInput(str(path), "只接受 .xlsx、.xls、.ods、.csv、.txt（制表符分隔）或 .jsonl 文件 "
                                       "(unsupported sheet format)")
    return suffix


def _header(cell: Any) -> str:
    return str(_cell(cell)).strip()


# .xlsx, .xls, .ods: python-calamine; its cells are str ('' when empty), float, int, bool, date, datetime, time,
# timedelta. A whole number comes as a float (20.0) from .xlsx and .ods: made an int, as openpyxl gave it, so
# that a text field reads 20, not 20.0, and a yes/no that LibreOffice saved in an .ods as 1.0 reads as yes.

def _first_sheet(path: Path) -> Any:
    """The first visible worksheet of the workbook at ``path`` (its cells, loaded at once); ``UnusableInput``
    saying why when it can't be read."""
    from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

    try:  # from the content, not the name: a workbook saved under another workbook's suffix is read all the same
        with path.open("rb") as handle, CalamineWorkbook.from_filelike(handle) as book:
            shown = [i for i, m in enumerate(book.sheets_metadata)
                     if m.typ == SheetTypeEnum.WorkSheet and m.visible == SheetVisibleEnum.Visible]
            if not book.sheet_names:
                raise UnusableInput(str(path), "工作簿中没有工作表 (no worksheet)")
            return book.get_sheet_by_index(shown[0] if shown else 0)
    except UnusableInput:
        raise
    except PasswordError:
        raise UnusableInput(str(path), "文件有密码保护；请去掉密码后另存 (password protected)") from None
    except Exception as exc:  # CalamineError, ZipError, XmlError …, and a Rust panic on a damaged file
        raise UnusableInput(str(path), _not_a_book(path, exc)) from None
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        if type(exc).__name__ != "PanicException":
            raise
        raise UnusableInput(str(path), _not_a_book(path, exc)) from None


def _not_a_book(path: Path, exc: BaseException) -> str:
    """Why ``path`` is no workbook: often a web page or a text table that a system exported under that name."""
    suffix = path.suffix.lower()
    data = read_input(path)
    resave = "请用 Excel 或 WPS 打开后另存为 .xlsx"
    if data.lstrip(codecs.BOM_UTF8).lstrip()[:1] == b"<":
        return f"这是网页（HTML）或 XML 文件，不是真正的 {suffix} 文件；{resave}"
    if not data.startswith((b"PK", b"\xd0\xcf\x11\xe0")) and _is_text(data):
        return f"这是文本文件，不是真正的 {suffix} 文件；若是逗号或制表符分隔的表格，请把扩展名改为 .csv"
    kind = "OpenDocument 表格" if suffix == ".ods" else "Excel "
    return f"不是有效的 {kind}文件，或已损坏（{type(exc).__name__}）；{resave}"


def _is_text(data: bytes) -> bool:
    try:
        decoded_text(data)
    except UnusableInput:
        return False
    return True


def _cell(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _book_records(path: Path) -> Iterator[list[Any]]:
    """The rows of the first sheet from its first row (row 1, blank or not), each cell as ``read_cell`` takes it."""
    for values in _first_sheet(path).iter_rows():
        yield [_cell(v) for v in values]


def _book_rows(path: Path) -> Iterator[Row]:
    records = _book_records(path)
    header = [_header(h) for h in next(records, [])]
    for number, values in enumerate(records, start=2):
        if any(v not in (None, "") for v in values):
            yield Row(number, dict(zip(header, values, strict=False)))


# .csv, .txt, .tsv, .jsonl: text in any encoding files.decoded_text reads; comma- or tab-separated (Excel's
# "Unicode text" is tab-separated UTF-16), whichever the header line holds more of.

def _text(path: Path) -> tuple[str, str]:
    return decoded_text(read_input(path), str(path))


def _text_records(path: Path) -> Iterator[list[str]]:
    text = _text(path)[0]
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise UnusableInput(str(path), f"不是有效的 CSV：{exc} (not CSV)") from None


def _text_rows(path: Path) -> Iterator[Row]:
    records = _text_records(path)
    header = [h.strip() for h in next(records, [])]
    for number, values in enumerate(records, start=2):
        if any(v.strip() for v in values):
            yield Row(number, dict(zip(header, values, strict=False)))


def _jsonl(path: Path) -> Iterator[Row]:
    for number, line in enumerate(io.StringIO(_text(path)[0]), start=1):
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


def check_headers(target: Form, sheet: Path, under: str = "") -> Columns:
    """The columns of ``sheet``; ``UnusableInput`` (exit 2) when a header names no field, before any row is read."""
    known = columns(target, under)
    unknown = known.unknown(sheet_headers(sheet))
    if unknown:
        raise UnusableInput(str(sheet), f"列名「{'」「'.join(unknown)}」不是表单 {target.id} 的字段；"
                                        f"可用 `shenbao skeleton {target.id} --xlsx` 生成表头")
    return known
