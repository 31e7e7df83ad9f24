"""Batch notices: one document per row of a spreadsheet, fast, resumable, and never half-written.

Rows come from .xlsx, .csv or .jsonl; a column is named by the field's dotted path (``enterprise.name``) or
its Chinese title (``企业名称``, or ``企业 · 企业名称`` where a title repeats). Each row is validated; a bad row
is reported by its number, field and reason and skipped. Documents are rendered from a template prepared once
(``prepared_template``), on several processes, each written to a temporary file and renamed, and listed in
``manifest.csv`` with their SHA-256. After a crash — even SIGKILL — a rerun with ``resume`` keeps every
document already whole, removes stray temporary files and writes the rest.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import fields
from .catalogue import form, resolve
from .errors import UnusableInput
from .extraction import typed
from .fields import get as get_field
from .fields import merged
from .fields import put as set_field
from .prepared_template import PreparedTemplate
from .render import Payload, write_atomically
from .validation import validate

MANIFEST = "manifest.csv"
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')
CHUNK = 32  # rows a worker renders per task


@dataclass
class Outcome:
    """One row of the manifest."""

    row: int
    file: str
    status: str  # written | skipped | failed
    message: str = ""
    sha256: str = ""


# --- columns ------------------------------------------------------------------------------------------

def leaf_fields(form_id: str, root_path: str = "") -> dict[str, dict[str, Any]]:
    """Every field a column can fill: dotted path → schema node (a list of objects is one JSON cell)."""
    schema = form(form_id).schema
    start: dict[str, Any] = schema
    for part in [p for p in root_path.replace("[]", ".[]").split(".") if p]:
        start = resolve(start, schema)
        start = start.get("items", {}) if part == "[]" else start.get("properties", {}).get(part, {})
    fields: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any], path: str) -> None:
        node = resolve(node, schema)
        if node.get("type") == "object" and node.get("properties"):
            for name, child in node["properties"].items():
                walk(child, f"{path}.{name}" if path else name)
        elif path:
            fields[path] = node

    walk(start, "")
    return fields


def column_names(form_id: str, root_path: str = "") -> dict[str, str]:
    """Every header a sheet may use → the dotted path it fills."""
    leaves = leaf_fields(form_id, root_path)
    names: dict[str, str] = {}
    plain: dict[str, list[str]] = {}
    for path in leaves:
        pointer = "/" + "/".join(([root_path.replace("[]", ".0")] if root_path else []) + [path]).replace(".", "/")
        composite = fields.title(form(form_id), pointer)
        if root_path:
            composite = composite.split(" · ", 2)[-1]
        names[path] = names[composite] = path
        plain.setdefault(composite.split(" · ")[-1], []).append(path)
    for title, paths in plain.items():
        if len(paths) == 1:
            names.setdefault(title, paths[0])
    return names


def headers_for_sheet(form_id: str) -> list[str]:
    """The headers of an empty sheet for ``form_id``: the Chinese titles, made unique where they repeat."""
    names = column_names(form_id)
    by_path: dict[str, list[str]] = {}
    for name, path in names.items():
        by_path.setdefault(path, []).append(name)
    return [min((n for n in by_path[p] if n != p), key=len, default=p) for p in leaf_fields(form_id)]


# --- reading rows -------------------------------------------------------------------------------------

def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number as the office sees it, raw values by header) of every row, read lazily."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise UnusableInput(str(path), "文件不存在 (no such file)")
    if suffix == ".xlsx":
        yield from _xlsx(path)
    elif suffix == ".csv":
        yield from _csv(path)
    elif suffix == ".jsonl":
        yield from _jsonl(path)
    else:
        raise UnusableInput(str(path), "只接受 .xlsx、.csv 或 .jsonl 文件 (unsupported sheet format)")


def _xlsx(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise UnusableInput(str(path), f"不是有效的 Excel 文件 ({type(exc).__name__})") from None
    rows = book.active.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    for number, values in enumerate(rows, start=2):
        if any(v not in (None, "") for v in values):
            yield number, dict(zip(header, values, strict=False))
    book.close()


def _csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            for number, values in enumerate(reader, start=2):
                if any(v.strip() for v in values):
                    yield number, dict(zip(header, values, strict=False))
    except UnicodeDecodeError:
        raise UnusableInput(str(path), "不是 UTF-8 编码的 CSV (not UTF-8)") from None


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    value = json.loads(line, parse_float=Decimal)
                except json.JSONDecodeError as exc:
                    yield number, {"__error__": f"不是有效的 JSON：{exc.msg}"}
                    continue
                yield number, value if isinstance(value, dict) else {"__error__": "不是 JSON 对象"}


def count_rows(path: Path) -> int | None:
    """How many rows the sheet holds, for the progress bar's ETA (None when it cannot tell cheaply)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".jsonl"):
        with path.open("rb") as handle:
            lines = sum(1 for line in handle if line.strip())
        return lines - (1 if suffix == ".csv" else 0)
    if suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        rows = book.active.max_row
        book.close()
        return rows - 1 if rows else None
    return None


def sheet_headers(path: Path) -> list[str]:
    """The header row of a .xlsx or .csv sheet (empty for JSON Lines, whose rows name their own fields)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                return [h.strip() for h in next(csv.reader(handle), [])]
        except UnicodeDecodeError:
            raise UnusableInput(str(path), "不是 UTF-8 编码的 CSV (not UTF-8)") from None
    if suffix == ".xlsx":
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
            raise UnusableInput(str(path), f"不是有效的 Excel 文件 ({type(exc).__name__})") from None
        header = next(book.active.iter_rows(max_row=1, values_only=True), ())
        book.close()
        return [str(h).strip() for h in header if h is not None]
    return []


def check_headers(form_id: str, sheet: Path, root_path: str = "") -> None:
    """Refuse a sheet whose columns name no field (exit 2), before any row is rendered."""
    if not sheet.exists():
        raise UnusableInput(str(sheet), "文件不存在 (no such file)")
    names = column_names(form_id, root_path)
    unknown = [h for h in sheet_headers(sheet) if h and h not in names]
    if unknown:
        raise UnusableInput(str(sheet), f"列名「{'」「'.join(unknown)}」不是表单 {form_id} 的字段；"
                                        f"可用 `shenbao skeleton {form_id} --xlsx` 生成表头")


def cell(raw: Any, node: dict[str, Any]) -> Any:
    """A spreadsheet cell as the field's JSON value (Excel numbers, dates and booleans included)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = node.get("type")
    if isinstance(raw, (dt.datetime, dt.date)):
        return (raw.date() if isinstance(raw, dt.datetime) else raw).isoformat()
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and kind in ("number", "integer"):
        number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        return int(number) if kind == "integer" and number == int(number) else number
    text = str(raw).strip() if not isinstance(raw, float) else repr(raw)
    if kind in ("object",) or (kind == "array" and text.startswith("[")):
        try:
            return json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError:
            return text
    if kind == "boolean":
        lowered = text.lower()
        return True if lowered in ("是", "true", "1", "☑", "yes", "y") else False if lowered in (
            "否", "false", "0", "☐", "no", "n") else text
    if kind == "array":
        items = node.get("items", {})
        return [cell(p, items) for p in re.split(r"[、;；]\s*", text) if p.strip()]
    if kind == "string" and not node.get("format"):
        return text
    return typed(text, node)


def row_data(raw: Mapping[str, Any], names: Mapping[str, str], fields: Mapping[str, dict[str, Any]],
             defaults: Mapping[str, Any], nested: bool = False) -> dict[str, Any]:
    """A row's document data: the defaults (the office's part), with the row's cells set over them.
    A JSON Lines row (``nested``) is the data itself, merged over the defaults."""
    if "__error__" in raw:
        return {"__error__": raw["__error__"]}
    if nested:
        return merged(defaults, raw)
    data = merged(defaults, {})
    for header, value in raw.items():
        path = names.get(header)
        typed_value = cell(value, fields[path]) if path else None
        if typed_value is not None:
            set_field(data, path, typed_value)
    return data


# --- names --------------------------------------------------------------------------------------------

def file_name(pattern: str, data: Mapping[str, Any], row: int) -> str:
    """``{enterprise.uscc}-{enterprise.name}`` filled from the row, safe on every file system."""
    name = re.sub(r"\{([^{}]+)\}", lambda m: str(get_field(data, m.group(1), "")), pattern)
    name = _UNSAFE.sub("_", name).strip(" ._") or f"row-{row}"
    return name[:120]


# --- the job ------------------------------------------------------------------------------------------

_prepared: PreparedTemplate | None = None  # set in the parent before the workers fork


def _render_chunk(jobs: list[tuple[int, dict[str, Any], str]]) -> list[Outcome]:
    assert _prepared is not None
    outcomes = []
    for row, data, target in jobs:
        payload = _prepared.render_bytes(data)
        write_atomically(Payload(payload), Path(target))  # killed midway: a stray .tmp, never half a document
        outcomes.append(Outcome(row, Path(target).name, "written", "", hashlib.sha256(payload).hexdigest()))
    return outcomes


def remove_strays(out_dir: Path) -> int:
    """Delete temporary files a killed run left behind."""
    strays = list(out_dir.glob(".*.tmp"))
    for stray in strays:
        stray.unlink(missing_ok=True)
    return len(strays)


def run(form_id: str, sheet: Path, out_dir: Path, name: str = "row-{__row__}", jobs: int = 1,
        resume: bool = False, defaults: Mapping[str, Any] | None = None,
        progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """Render one document per row of ``sheet`` into ``out_dir``; return the manifest's rows."""
    global _prepared
    form(form_id)
    check_headers(form_id, sheet)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_strays(out_dir)
    _prepared = PreparedTemplate(form_id)
    names, fields = column_names(form_id), leaf_fields(form_id)
    outcomes: list[Outcome] = []
    taken: set[str] = set()
    pending: list[tuple[int, dict[str, Any], str]] = []

    def plan() -> Iterator[list[tuple[int, dict[str, Any], str]]]:
        nested = sheet.suffix.lower() == ".jsonl"
        for row, raw in read_rows(sheet):
            data = row_data(raw, names, fields, defaults or {}, nested)
            if "__error__" in data:
                outcomes.append(Outcome(row, "", "failed", data["__error__"]))
                continue
            report = validate(form_id, data)
            if not report.ok:
                reasons = "；".join(f"{f.path}（{f.title}）：{f.message}" for f in report.errors)
                outcomes.append(Outcome(row, "", "failed", reasons))
                if progress:
                    progress(1)
                continue
            target = _unique(file_name(name.replace("{__row__}", str(row)), data, row), taken)
            path = out_dir / f"{target}.docx"
            if resume and path.exists():
                outcomes.append(Outcome(row, path.name, "skipped", "已存在", _sha256(path)))
                if progress:
                    progress(1)
                continue
            pending.append((row, data, str(path)))
            if len(pending) >= CHUNK:
                yield pending[:]
                pending.clear()
        if pending:
            yield pending[:]

    if jobs <= 1:
        for chunk in plan():
            outcomes += _render_chunk(chunk)
            if progress:
                progress(len(chunk))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            in_flight: list[Any] = []
            for chunk in plan():
                in_flight.append(pool.submit(_render_chunk, chunk))
                while len(in_flight) >= 2 * jobs:  # memory stays flat however long the sheet
                    done = in_flight.pop(0).result()
                    outcomes += done
                    if progress:
                        progress(len(done))
            for future in in_flight:
                done = future.result()
                outcomes += done
                if progress:
                    progress(len(done))
    outcomes.sort(key=lambda o: o.row)
    write_manifest(out_dir, outcomes)
    return outcomes


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate.lower() in taken:
        candidate = f"{name}-{number}"
        number += 1
    taken.add(candidate.lower())
    return candidate


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(out_dir: Path, outcomes: list[Outcome]) -> Path:
    """``manifest.csv``: row, file, status, message, sha256 — written atomically, readable by Excel (BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "file", "status", "message", "sha256"])
    for outcome in outcomes:
        writer.writerow([outcome.row, outcome.file, outcome.status, outcome.message, outcome.sha256])
    return write_atomically(Payload(buffer.getvalue().encode("utf-8-sig")), out_dir / MANIFEST)


def one_document(form_id: str, sheet: Path, out: Path, defaults: Mapping[str, Any] | None = None
                 ) -> tuple[Path | None, list[Outcome]]:
    """Every row as one row of the notice's table (``--one``): the 公示名单 of many enterprises."""
    schema = form(form_id).schema
    lists = [n for n, p in schema["properties"].items()
             if resolve(p, schema).get("type") == "array" and resolve(resolve(p, schema)["items"], schema).get(
                 "type") == "object"]
    if len(lists) != 1:
        raise UnusableInput(form_id, "--one 只适用于正文含一张名单表格的通知")
    check_headers(form_id, sheet, f"{lists[0]}[]")
    names, fields = column_names(form_id, f"{lists[0]}[]"), leaf_fields(form_id, f"{lists[0]}[]")
    items, rows = [], []
    for row, raw in read_rows(sheet):
        items.append(row_data(raw, names, fields, {}, sheet.suffix.lower() == ".jsonl"))
        rows.append(row)
    data = merged(defaults or {}, {lists[0]: items})
    report = validate(form_id, data)
    if not report.ok:
        outcomes = []
        for finding in report.errors:
            match = re.match(rf"^/{lists[0]}/(\d+)", finding.path)
            row = rows[int(match[1])] if match else 0
            outcomes.append(Outcome(row, "", "failed", f"{finding.path}（{finding.title}）：{finding.message}"))
        return None, outcomes
    PreparedTemplate(form_id).render(data, out)
    return out, [Outcome(row, out.name, "written", "", "") for row in rows]
