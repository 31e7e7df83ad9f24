"""From a validated application to the notice that decides it: the programme's approval notice when the
application passes, the 不予通过通知 listing every failed rule when it does not.

Which notice approves which form, and which notice fields come from the application, is data:
``schemas/decisions.toml``. The office's own part of a notice — 发文机关, 文号, dates, a certificate number —
comes from a decision file (``shenbao decide --decision FILE.json``), by default the notice's sample.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from .catalogue import form
from .errors import ShenbaoError
from .expression import MISSING, compile_expression, exact, plain
from .fields import merged, put, remove
from .resources import data_dir
from .validation import Report, load_application, validate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REJECTION = "rejection-notice"


class NoApprovalNotice(ShenbaoError):
    """The form has no approval notice in ``schemas/decisions.toml``."""


@cache
def _decisions() -> dict[str, Any]:
    return tomllib.loads((data_dir("schemas") / "decisions.toml").read_text(encoding="utf-8"))


def approval_notice(form_id: str) -> str | None:
    """The id of the notice that approves ``form_id``, if the catalogue has one."""
    entry = _decisions().get(form_id)
    return entry["notice"] if entry else None


def notice_sample(notice_id: str) -> dict[str, Any]:
    path = data_dir("samples") / f"{notice_id}.json"
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def decide(form_id: str, application: Mapping[str, Any],
           decision: Mapping[str, Any] | None = None) -> tuple[Report, str, dict[str, Any]]:
    """Validate ``application``; return the report, the id of the notice to send and the notice's data."""
    report = validate(form_id, application)
    if report.ok:
        notice_id = approval_notice(form_id)
        if notice_id is None:
            raise NoApprovalNotice(f"表单 {form_id} 没有对应的审批通知（schemas/decisions.toml）；"
                                   f"申请未通过时可生成不予通过通知")
        fields = _decisions()[form_id].get("fields", {})
    else:
        notice_id, fields = REJECTION, _decisions()["__rejection__"]["fields"]
    data = merged(notice_sample(notice_id), decision or {})
    scope = {**exact(application), "form": _form_facts(form_id), "findings": [
        {**f.as_dict()} for f in report.errors]}
    for path, source in fields.items():
        value = compile_expression(source)(scope)
        if value is None:
            remove(data, path)
        elif value is not MISSING:
            put(data, path, plain(value))
    return report, notice_id, data


def _form_facts(form_id: str) -> dict[str, str]:
    target = form(form_id)
    return {"id": target.id, "title": target.title, "policy": target.policy}


def load_decision(path: str | Path | None) -> dict[str, Any]:
    """The office's part of a notice, read from JSON; nothing when no file is given."""
    return load_application(path) if path else {}
