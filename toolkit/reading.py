"""One reading of an application as people type it: every value the schema wants in another form (a date as
``2016年3月1日``, a number as ``"1,008.2万元"``, ``是``, a USCC in small letters with a trailing space …) is read
into its JSON value by ``values.read_text`` — the same reading batch cells and extracted PDFs get — and each
reading is noted (``已按 2016-03-01 理解``) so the person sees how their input was understood.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .catalogue import Form, form
from .fields import pointer_of, resolve
from .values import excel_date, read_text


@dataclass(frozen=True)
class Reading:
    """How one value was understood: where (JSON pointer), what was written, what it was read as."""

    path: str
    written: Any
    value: Any

    @property
    def message(self) -> str:
        return f"「{_shown(self.written)}」已按 {_shown(self.value)} 理解"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return value.replace("\n", "⏎")
    return str(value)


def read(target: Form | str, data: Mapping[str, Any]) -> tuple[dict[str, Any], list[Reading]]:
    """``data`` with every value read as the schema wants it, and a ``Reading`` for each value that changed.
    A value that cannot be read stays as written, for the schema to report."""
    target = form(target)
    root = target.schema
    readings: list[Reading] = []

    def walk(node: dict[str, Any], value: Any, where: tuple[Any, ...]) -> Any:
        node = resolve(node, root)
        if isinstance(value, Mapping):
            properties = node.get("properties", {})
            return {k: walk(properties[k], v, (*where, k)) if k in properties else v for k, v in value.items()}
        if isinstance(value, list):
            items = node.get("items")
            return [walk(items, v, (*where, i)) for i, v in enumerate(value)] if isinstance(items, dict) else value
        understood = _understood(value, node)
        if understood is not value and understood != value or type(understood) is not type(value):
            readings.append(Reading(pointer_of(where), value, understood))
            return understood
        return value

    return walk(root, data, ()), readings


def _understood(value: Any, node: dict[str, Any]) -> Any:
    """One value as the field wants it (itself when it already is, or cannot be read)."""
    if isinstance(value, str):
        read_as = read_text(value, node)
        return value if isinstance(read_as, str) and read_as == value else read_as
    if node.get("format") == "date" and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return excel_date(value) or value
    if isinstance(value, float):  # a float from a library caller: the decimal it was written as
        return Decimal(repr(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
