"""From an application to the notice that decides it: the programme's approval notice when the application
passes, the 不予通过通知 listing every failed rule when it does not.

Which notice approves which form, and which notice fields come from the application, is data:
``schemas/decisions.toml``. The office's own part of a notice — 发文机关, 文号, dates, a certificate number — is
the ``office`` argument: the library never makes it up.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from . import fields
from .catalogue import Form, form
from .errors import ShenbaoError
from .expression import MISSING, compile_expression, exact, plain
from .office import for_notice
from .reading import read
from .rendering import document
from .resources import data_dir
from .template_check import require_clean
from .validation import Finding, Report, check
from .values import chinese_date

REJECTION = "rejection-notice"


class NoApprovalNotice(ShenbaoError):
    """The form has no approval notice in ``schemas/decisions.toml``."""


@dataclass(frozen=True)
class Decision:
    """A decision on an application.

    ``verdict`` is ``approved`` (every condition holds), ``rejected`` (some condition fails: the 不予通过通知 cites
    each) or ``pending`` (nothing fails, but something is still to be done — an office's section blank, no expert
    score yet — so no notice at all). ``report`` is the check of the application as the office sees it;
    ``notice`` the notice chosen and ``data`` its data (the office's part with the applicant's laid over it);
    ``notice_report`` the check of that data, dates against the application's included. ``document`` is the
    notice as .docx bytes, or None when pending or when the notice's data is incomplete or wrong."""

    verdict: str
    report: Report
    notice: Form | None
    data: dict[str, Any]
    notice_report: Report | None
    document: bytes | None

    @property
    def approved(self) -> bool:
        return self.verdict == "approved"

    @property
    def pending(self) -> list[Finding]:
        return self.report.pending if self.verdict == "pending" else []

    @property
    def missing(self) -> list[Finding]:
        """What the office must still enter for the notice, item by item: its required fields left blank (a
        section left out entirely stands for each required item in it)."""
        if self.notice is None or self.notice_report is None:
            return []
        known = fields.fields(self.notice)
        items: list[Finding] = []
        for finding in (f for f in self.notice_report.errors if f.rule == "schema.required"):
            path = fields.schema_path(finding.path)
            inside = [p for p, f in known.items() if p.startswith(f"{path}.") and f.required and f.is_leaf
                      and "[]" not in p]
            items += [replace(finding, path=fields.pointer(p), title=fields.title(self.notice, fields.pointer(p)))
                      for p in inside] or [finding]
        return items

    @property
    def words(self) -> str:
        return {"approved": "通过", "rejected": "不予通过", "pending": "待定"}[self.verdict]


@cache
def decisions() -> dict[str, Any]:
    """``schemas/decisions.toml``: for each form, the notice that approves it, and the facts its decisions take."""
    return tomllib.loads((data_dir("schemas") / "decisions.toml").read_text(encoding="utf-8"))


def approval_notice(target: Form | str) -> Form | None:
    """The notice that approves ``target``, if the catalogue has one."""
    entry = decisions().get(form(target).id)
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
    """The notice's data: ``office`` with the fields ``decisions.toml`` takes from the application laid over it;
    a rejection cites every condition that fails (not what is merely pending)."""
    target = form(target)
    entry = decisions()[target.id if report.ok else "__rejection__"]
    data = fields.merged(office, {})
    scope = {**exact(application), "form": {"id": target.id, "title": target.title, "policy": target.policy},
             "applicant": exact(fields.at(application, target.applicant, {}) if target.applicant else {}),
             "as_of": exact(fields.at(application, target.as_of, MISSING) if target.as_of else MISSING),
             "findings": [f.as_dict() for f in report.errors if not f.pending]}
    for path, source in entry.get("fields", {}).items():
        value = compile_expression(source)(scope)
        if value is None:
            fields.remove(data, path)
        elif value is not MISSING:
            fields.put(data, path, plain(value))
    return data


def decide(target: Form | str, application: Mapping[str, Any], office: Mapping[str, Any],
           facts: Mapping[str, Any] | None = None, *, template: bytes | None = None,
           template_name: str = "模板") -> Decision:
    """Decide ``application`` as the office does (``check`` at the ``office`` stage); fill in the notice that says
    so with the office's part — its profile (``office``: what of it the notice has a place for) and this
    decision's ``facts`` (number, dates, scores …; any field of the notice), never made up — and render it when
    the notice's data is complete and consistent: in the office's own ``template`` (.docx bytes, called
    ``template_name`` in a message) if given, linted first against the notice chosen (``TemplateRefused``)."""
    target = form(target)
    report = check(target, application, stage="office")
    failed = [f for f in report.errors if not f.pending]
    if not failed and report.pending:
        return Decision("pending", report, None, {}, None, None)
    verdict = "rejected" if failed else "approved"
    notice = notice_for(target, verdict == "approved")
    part = read(notice, fields.merged(for_notice(office, notice), facts or {}))[0]
    data = notice_data(target, read(target, application)[0], report, part)
    notice_report = _with_dates(check(notice, data), target, application, notice, data)
    rendered = None
    if notice_report.ok and template is not None:
        require_clean(template, notice, template_name)
        rendered = document(notice, data, template=template, name=template_name)
    elif notice_report.ok:
        rendered = document(notice, data)
    return Decision(verdict, report, notice, data, notice_report, rendered)


def _with_dates(report: Report, target: Form, application: Mapping[str, Any], notice: Form,
                data: Mapping[str, Any]) -> Report:
    """The notice's report, with a finding when the notice is dated before the application it decides."""
    applied, dated = fields.at(application, target.as_of) if target.as_of else None, data.get("date")
    try:
        late = dt.date.fromisoformat(str(dated)) < dt.date.fromisoformat(str(applied))
    except ValueError:  # a date that is no date: the schema reports it
        return report
    if not late:
        return report
    message = (f"成文日期{chinese_date(str(dated))}早于{fields.title(target, str(target.as_of))}"
               f"{chinese_date(str(applied))}：通知不能在申请之前作出")
    finding = Finding("/date", fields.title(notice, "/date"), "decision.after-application",
                      fields.clause(notice, "/date"), "error", message, dated, applied, "date")
    return replace(report, findings=(*report.findings, finding))
