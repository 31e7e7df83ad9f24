"""The ledger as plain data: one object per submission (what ``shenbao ledger list --json`` and ``show --json``
print) and one per event — JSON-ready, times as local ISO 8601 with their offset."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .models import Event, Finding, Submission


def moment(value: dt.datetime | None) -> str | None:
    """A stored moment in local time: ``2024-11-08T09:30:00+08:00``."""
    return value.astimezone().isoformat(timespec="seconds") if value else None


def finding(row: Finding) -> dict[str, Any]:
    return {"stage": row.stage, "path": row.path, "title": row.title, "rule": row.rule, "clause": row.clause,
            "severity": row.severity, "message": row.message, "value": row.value, "bound": row.bound,
            "unit": row.unit, "pending": row.pending}


def submission(item: Submission, *, data: bool = False) -> dict[str, Any]:
    """A submission: ``id``, ``form``, ``status``, ``applicant``, ``file``, ``sha256``, ``findings`` and the rest
    the ledger knows of it (with ``data``, the data read out of the file)."""
    record: dict[str, Any] = {
        "id": item.id, "form": item.form, "status": item.status,
        "applicant": {"name": item.applicant_name, "uscc": item.applicant_uscc},
        "file": item.file_name, "sha256": item.sha256, "findings": [finding(f) for f in item.findings],
        "rules_version": item.rules_version, "received": moment(item.received_at), "updated": moment(item.updated_at),
        "reason": item.reason, "previous": item.previous_id, "decision": decision(item)}
    if data:
        record["data"] = item.data
    return record


def decision(item: Submission) -> dict[str, Any] | None:
    made = item.decision
    if made is None:
        return None
    return {"verdict": made.verdict, "by": made.decided_by, "at": moment(made.decided_at), "note": made.note,
            "notice": made.notice, "number": made.document_number, "numbers": {n.field: n.text for n in made.numbers},
            "document": made.document_name, "sha256": made.document_sha256, "issued": moment(made.issued_at)}


def event(row: Event) -> dict[str, Any]:
    return {"id": row.id, "submission": row.submission_id, "at": moment(row.at), "kind": row.kind,
            "actor": row.actor, "detail": row.detail}
