"""What staff enter when they issue notices: the notices the ledger issues (each form's approval notice and the
不予通过通知), and for one of them the fields of the decision itself — 成文日期, 公示期, 有效期 … — that are neither
the office profile's (发文机关, 联系方式), nor taken from the application (``decisions.toml``), nor numbered by the
ledger (发文字号, 证书编号)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import fields
from ..catalogue import Form, form, forms
from ..decision import REJECTION, decisions
from ..office import for_notice, numbering

APPROVED, REJECTED = "通过", "不予通过"


def notices_for() -> dict[str, tuple[Form, str]]:
    """The notices staff issue from the ledger, by id, each with the status of the submissions it goes to."""
    found: dict[str, tuple[Form, str]] = {}
    for target in forms():
        entry = decisions().get(target.id)
        if isinstance(entry, Mapping) and entry.get("notice"):
            found.setdefault(str(entry["notice"]), (form(str(entry["notice"])), APPROVED))
    found[REJECTION] = (form(REJECTION), REJECTED)
    return found


def given_elsewhere(notice: Form, profile: Mapping[str, Any]) -> set[str]:
    """The JSON pointers of the notice's fields that staff do not type: the profile's, the application's, the
    ledger's numbers."""
    taken = {fields.pointer(path) for path, _ in _flat(for_notice(profile, notice))}
    for key, entry in decisions().items():
        if not isinstance(entry, Mapping):
            continue
        sends = entry.get("notice") == notice.id or (key == "__rejection__" and notice.id == REJECTION)
        if sends:
            taken |= {fields.pointer(path) for path in entry.get("fields", {})}
    try:
        taken |= {fields.pointer(n.path) for n in numbering(profile, notice)}
    except Exception:  # a profile without this notice's numbering: issuing says so when it starts
        pass
    return taken


def _flat(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            items += _flat(value, path)
        else:
            items.append((path, value))
    return items


def facts_view(notice: Form, profile: Mapping[str, Any]) -> dict[str, Any]:
    """The form view of ``notice`` with only the fields staff enter for this decision."""
    from .form_view import view

    return _pruned(view(notice, "applicant"), given_elsewhere(notice, profile)) or {}


def _pruned(node: dict[str, Any], taken: set[str]) -> dict[str, Any] | None:
    """``node`` without the fields at or under a pointer of ``taken``; None when nothing is left of it."""
    pointer = str(node.get("pointer", ""))
    if pointer and any(pointer == t or pointer.startswith(f"{t}/") for t in taken):
        return None
    children = node.get("children")
    if children is None:
        return node
    kept = [c for c in (_pruned(child, taken) for child in children) if c is not None]
    return {**node, "children": kept} if kept or not pointer else None
