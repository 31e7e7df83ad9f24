"""Reading and writing an application's fields by dotted path (``enterprise.name``), and laying one set of
data over another (the office's defaults under a row, a decision file over a notice's sample)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def set_field(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``dotted`` in ``data``, making the objects on the way."""
    *parents, last = dotted.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


def remove_field(data: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data.pop(last, None)


def get_field(data: Any, dotted: str, missing: Any = None) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return missing
        data = data[part]
    return data


def merged(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with ``overlay`` laid over it, object by object."""
    result = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
