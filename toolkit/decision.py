"""From an application to the notice that decides it: the programme's approval notice when the application
passes, the 不予通过通知 listing every failed rule when it does not.

Which notice approves which form, and which notice fields come from the application, is data:
``schemas/decisions.toml``. The office's own part of a notice — 发文机关, 文号, dates, a certificate number — is
the ``office`` argument: the library never makes it up.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from . import fields
from .catalogue import Form, form
from .errors import ShenbaoError
from .expression import MISSING, compile_expression, exact, plain
from .rendering import document
from .resources import data_dir
from .validation import Report, check

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REJECTION = "rejection-notice"


class NoApprovalNotice(ShenbaoError):
    """The form has no approval notice in ``schemas/decisions.toml``."""


@dataclass(frozen=True)
class Decision:
    """A decided application: the verdict, the application's report, the notice chosen, its data (the office's
    part with the applicant's laid over it), the check of that data and — when it is complete — the notice as
    .docx bytes (``document`` is None when ``notice_report`` has errors: the office's part is incomplete)."""

    approved: bool
    report: Report
    notice: Form
    data: dict[str, Any]
    notice_report: Report
    document: bytes | None

    @property
    def verdict(self) -> str:
        return "通过" if self.approved else "不予通过"


@cache
def _decisions() -> dict[str, Any]:
    return tomllib.loads((data_dir("schemas") / "decisions.toml").read_text(encoding="utf-8"))


def approval_notice(target: Form | str) -> Form | None:
    """The notice that approves ``target``, if the catalogue has one."""
    entry = _decisions().get(form(target).id)
    return form(entry["notice"]) if entry else None


def notice_for(target: Form | str, approved: bool) -> Form:
    """The notice a decision on ``target`` sends: its approval notice, or the 不予通过通知."""
    if not approved:
        return form(REJECTION)
    notice = approval_notice(target)
    if notice is None:
        raise NoApprovalNotice(f"表单 {form(target).id} 没有对应的审批通知（schemas/decisions.toml）；"
                               f"申请未通过时可生成不予通过通知")
    return notice


def notice_data(target: Form | str, application: Mapping[str, Any], report: Report,
                office: Mapping[str, Any]) -> dict[str, Any]:
    """The notice's data: ``office`` with the fields ``decisions.toml`` takes from the application laid over it."""
    target = form(target)
    entry = _decisions()[target.id if report.ok else "__rejection__"]
    data = fields.merged(office, {})
    scope = {**exact(application), "form": {"id": target.id, "title": target.title, "policy": target.policy},
             "applicant": exact(fields.at(application, target.applicant, {}) if target.applicant else {}),
             "as_of": exact(fields.at(application, target.as_of, MISSING) if target.as_of else MISSING),
             "findings": [f.as_dict() for f in report.errors]}
    for path, source in entry.get("fields", {}).items():
        value = compile_expression(source)(scope)
        if value is None:
            fields.remove(data, path)
        elif value is not MISSING:
            fields.put(data, path, plain(value))
    return data


def decide(target: Form | str, application: Mapping[str, Any], office: Mapping[str, Any]) -> Decision:
    """Check ``application``; choose and fill in the notice that decides it, with the ``office``'s part; render it
    when its data is complete."""
    target = form(target)
    report = check(target, application)
    notice = notice_for(target, report.ok)
    data = notice_data(target, application, report, office)
    notice_report = check(notice, data)
    rendered = document(notice, data) if notice_report.ok else None
    return Decision(report.ok, report, notice, data, notice_report, rendered)
