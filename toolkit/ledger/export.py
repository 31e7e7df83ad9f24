"""The ledger as an Excel workbook, as offices file it: one sheet per form, Chinese headers — the ledger's columns
(status, applicant, file, findings, decision, notice and number), then the form's own fields under the headers a
batch sheet uses — figures as numbers, dates as dates, and nothing a cell could run as a formula."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from .. import fields
from ..catalogue import Form, form
from ..sheets import headers
from .database import dumps
from .models import Submission

DATE, MOMENT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters a worksheet cannot hold


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone().replace(tzinfo=None, microsecond=0) if value else None


def _problems(item: Submission) -> str:
    return "；".join(f"{f.title}：{f.message}" for f in item.findings if f.severity == "error")


# The ledger's columns: header, and the cell of a submission.
COLUMNS: tuple[tuple[str, Callable[[Submission], Any]], ...] = (
    ("台账编号", lambda s: s.id),
    ("状态", lambda s: s.status),
    ("申请人名称", lambda s: s.applicant_name),
    ("申请人统一社会信用代码", lambda s: s.applicant_uscc),
    ("收件时间", lambda s: _local(s.received_at)),
    ("文件", lambda s: s.file_name),
    ("文件SHA-256", lambda s: s.sha256),
    ("规则版本", lambda s: s.rules_version),
    ("错误数", lambda s: sum(f.severity == "error" and f.stage == "application" for f in s.findings)),
    ("问题", _problems),
    ("无法读取的原因", lambda s: s.reason),
    ("更正的申请", lambda s: s.previous_id),
    ("决定", lambda s: s.decision.verdict if s.decision else None),
    ("决定人", lambda s: s.decision.decided_by if s.decision else None),
    ("决定时间", lambda s: _local(s.decision.decided_at) if s.decision else None),
    ("决定说明", lambda s: s.decision.note if s.decision else None),
    ("通知", lambda s: form(s.decision.notice).title if s.decision and s.decision.notice else None),
    ("发文字号", lambda s: s.decision.document_number if s.decision else None),
    ("其他编号", lambda s: "；".join(n.text for n in s.decision.numbers if n.text != s.decision.document_number)
     if s.decision else None),
    ("通知文件", lambda s: s.decision.document_name if s.decision else None),
    ("通知SHA-256", lambda s: s.decision.document_sha256 if s.decision else None),
    ("发出时间", lambda s: _local(s.decision.issued_at) if s.decision else None),
)


def workbook(items: Sequence[Submission]) -> bytes:
    """An .xlsx of ``items``: a sheet for each form among them, in the catalogue's order."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    book.remove(book.active)
    by_form: dict[str, list[Submission]] = {}
    for item in items:
        by_form.setdefault(item.form, []).append(item)
    if not by_form:
        book.create_sheet("台账").append([header for header, _ in COLUMNS])
    for form_id in sorted(by_form, key=lambda f: (form(f).order, f)):
        _sheet(book, form(form_id), by_form[form_id], Font(bold=True))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet(book: Any, target: Form, items: list[Submission], bold: Any) -> None:
    sheet = book.create_sheet(_title(book, target))
    leaves = list(fields.leaves(target).items())
    titles = [header for header, _ in COLUMNS] + headers(target)
    sheet.append(titles)
    for cell in sheet[1]:
        cell.font = bold
    for number, item in enumerate(items, start=2):
        values = [cell(item) for _, cell in COLUMNS]
        values += [_typed(fields.get(item.data or {}, path), leaf) for path, leaf in leaves]
        for column, value in enumerate(values, start=1):
            _put(sheet.cell(row=number, column=column), value)
    sheet.freeze_panes = "B2"
    for column, title in enumerate(titles, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=column).column_letter].width = min(40, 4 + 2 * len(title))


def _title(book: Any, target: Form) -> str:
    """The form's title as a sheet name: at most 31 characters, none of ``[]:*?/\\``, unique in the book."""
    base = re.sub(r"[\[\]:*?/\\]", "_", target.title)[:31]
    name, n = base, 2
    while name in book.sheetnames:
        name = f"{base[:28]}({n})"
        n += 1
    return name


def _typed(value: Any, leaf: fields.Field) -> Any:
    """A field's value as a cell: numbers as numbers, dates as dates, 是/否, a list as its JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if leaf.node.get("format") == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, (list, dict)):
        return json.dumps(json.loads(dumps(value)), ensure_ascii=False)
    return value


def _put(cell: Any, value: Any) -> None:
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str):
        value = _ILLEGAL.sub("", value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # ``=HYPERLINK(…)`` typed into a form stays text, never a formula
    elif isinstance(value, dt.datetime):
        cell.number_format = MOMENT
    elif isinstance(value, dt.date):
        cell.number_format = DATE
