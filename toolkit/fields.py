"""The fields of a form — its schema walked in one place — and the one place field paths change notation.

Two notations, converted only here:

- **JSON pointers** outside: in findings, the API, the ledger and the web (``/ip/0/title``, RFC 6901);
- **dotted paths** inside: in rule files, templates and sheet headers (``ip[].title`` for the field of every
  item, ``ip.0.title`` for one item's value when data is read or set).

``fields(form)`` walks the schema once into ``Field`` objects (title chain, clause, requiredness, the resolved
node); ``title``, ``clause``, ``choices``, ``leaves`` and ``blank`` answer from that walk. ``get``, ``put``,
``remove`` and ``merged`` read and write an application's data by dotted path.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalogue import Form


@dataclass(frozen=True)
class Field:
    """One field of a form: where it is (``path``, dotted, lists as ``[]``), what it is and how it is called."""

    path: str
    node: dict[str, Any]
    titles: tuple[str, ...]
    clause: str
    required: bool

    @property
    def title(self) -> str:
        return self.titles[-1] if self.titles else ""

    @property
    def type(self) -> str:
        return str(self.node.get("type", ""))

    @property
    def is_leaf(self) -> bool:
        """A value a person types (a list of objects is not; a list of texts or numbers is)."""
        if self.type == "object":
            return False
        return not (self.type == "array" and self.node.get("items", {}).get("type") == "object")


def resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/contact``) to the schema it names."""
    while "$ref" in node and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


# --- notations ----------------------------------------------------------------------------------------

def pointer(dotted: str, index: int | None = None) -> str:
    """A dotted path as a JSON pointer: ``staff.total`` → ``/staff/total``; ``ip[].title`` with ``index`` 3
    → ``/ip/3/title`` (without an index the ``[]`` is dropped: ``/ip/title``)."""
    if not dotted:
        return ""
    if "[]" in dotted:
        dotted = dotted.replace("[]", f".{index}" if index is not None else "", 1)
    return "/" + "/".join(_escape(p) for p in dotted.split(".") if p)


def pointer_of(parts: Iterable[Any]) -> str:
    """The JSON pointer of a sequence of keys and item numbers (a jsonschema error's ``absolute_path``)."""
    return "".join(f"/{_escape(str(p))}" for p in parts)


def dotted(json_pointer: str) -> str:
    """A JSON pointer as a dotted path to one value: ``/ip/0/title`` → ``ip.0.title``."""
    return ".".join(_unescape(p) for p in json_pointer.split("/")[1:])


def schema_path(json_pointer: str) -> str:
    """The field a pointer to a value names: ``/ip/0/title`` → ``ip[].title`` (item numbers become ``[]``)."""
    parts: list[str] = []
    for part in json_pointer.split("/")[1:]:
        if part.isdigit() and parts:
            parts[-1] += "[]"
        else:
            parts.append(_unescape(part))
    return ".".join(parts)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


# --- the schema, walked once --------------------------------------------------------------------------

@lru_cache(maxsize=128)
def fields(form: Form) -> dict[str, Field]:
    """Every field of ``form`` by dotted path (``enterprise.name``, ``ip[]``, ``ip[].title``), in schema order."""
    root = form.schema
    found: dict[str, Field] = {}

    def walk(node: dict[str, Any], path: str, titles: tuple[str, ...], clause: str, required: bool) -> None:
        node = resolve(node, root)
        clause = node.get("x-clause", clause)
        if path:
            found[path] = Field(path, node, titles, clause, required)
        for name, child in node.get("properties", {}).items():
            resolved = resolve(child, root)
            walk(resolved, f"{path}.{name}" if path else name, (*titles, resolved.get("title", name)), clause,
                 required and name in node.get("required", []))
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            items = resolve(node["items"], root)
            walk(items, f"{path}[]", titles, clause, required)

    walk(root, "", (), root.get("x-clause", ""), True)
    return found


def node(form: Form, path: str) -> dict[str, Any]:
    """The resolved schema node of a dotted field path (empty when the form has no such field)."""
    if not path:
        return form.schema
    found = fields(form).get(path)
    return found.node if found else {}


@lru_cache(maxsize=8192)
def title(form: Form, json_pointer: str) -> str:
    """The Chinese title of the value at ``json_pointer``: ``/ip/1/title`` → ``知识产权 · 第2项 · 名称``."""
    known = fields(form)
    titles: list[str] = []
    path = ""
    for part in [_unescape(p) for p in json_pointer.split("/")[1:] if p]:
        if part.isdigit() and f"{path}[]" in known:
            path += "[]"
            titles.append(f"第{int(part) + 1}项")
        elif (f"{path}.{part}" if path else part) in known:
            path = f"{path}.{part}" if path else part
            titles.append(known[path].title)
        else:
            titles.append(part)
            path = "\0"  # nothing below an unknown name is known
    return " · ".join(titles) if titles else form.schema.get("title", "")


def clause(form: Form, json_pointer: str) -> str:
    """The clause a field is asked for by: its own ``x-clause``, else the nearest ancestor's, else the form's."""
    path = schema_path(json_pointer)
    known = fields(form)
    while path:
        if path in known:
            return known[path].clause
        path = path.rsplit(".", 1)[0] if "." in path else ""
    return form.clause


def choices(form: Form, path: str) -> tuple[str, ...]:
    """The enum of the field at a dotted path (a list's items' enum for a list), empty when it has none."""
    found = node(form, path)
    if found.get("type") == "array":
        found = node(form, f"{path}[]")
    return tuple(str(e) for e in found.get("enum", ()))


def leaves(form: Form, under: str = "") -> dict[str, Field]:
    """The fields a spreadsheet column can fill, by dotted path relative to ``under`` (``enterprises[]``): every
    leaf that is not inside a list (a list of objects is one JSON cell)."""
    prefix = f"{under}." if under else ""
    result: dict[str, Field] = {}
    for path, field in fields(form).items():
        if not path.startswith(prefix):
            continue
        relative = path[len(prefix):]
        if "[]" in relative or field.type == "object" and field.node.get("properties"):
            continue
        result[relative] = field
    return result


def blank(form: Form) -> dict[str, Any]:
    """A blank application of ``form`` to fill in: every field present, every value empty."""
    root = form.schema

    def empty_object(node: dict[str, Any]) -> dict[str, Any]:
        return {name: empty(sub) for name, sub in node.get("properties", {}).items()}

    def empty(node: dict[str, Any]) -> Any:
        node = resolve(node, root)
        kind = node.get("type")
        if kind == "object":
            return empty_object(node)
        if kind == "array":
            items = resolve(node.get("items", {}), root)
            return [empty(items)] if items.get("type") == "object" else []
        return "" if kind == "string" else None

    return empty_object(resolve(root, root))  # a form is an object, whatever else its schema says


def is_blank(value: Any) -> bool:
    """Nothing filled in: ``None``, an empty or white-space text, or an object made only of such blanks (the
    skeleton's empty sections and list items). A list is never blank: ``[]`` says "none"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    if isinstance(value, Mapping):
        return all(is_blank(v) for v in value.values())
    return False


def without_blanks(form: Form, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with what was not filled in left out: blank values (an empty string or null means "not filled",
    so a required field left blank is reported as missing) and blank items of lists. A blank the schema takes
    as a value (an empty text where any text will do) stays where it is required."""
    root = form.schema

    def prune_object(node: dict[str, Any], value: Mapping[str, Any]) -> dict[str, Any]:
        required = set(node.get("required", ()))
        kept = {}
        for name, inner in value.items():
            child = node.get("properties", {}).get(name)
            if child is None:
                kept[name] = inner  # an unknown field: the schema reports it
            elif not is_blank(inner) or name in required and _takes_blank(resolve(child, root), inner):
                kept[name] = prune(child, inner)
        return kept

    def prune(node: dict[str, Any], value: Any) -> Any:
        node = resolve(node, root)
        if isinstance(value, Mapping) and node.get("properties"):
            return prune_object(node, value)
        if isinstance(value, list) and isinstance(node.get("items"), dict):
            return [prune(node["items"], item) for item in value if not is_blank(item)]
        return value

    return prune_object(resolve(root, root), data)


def _takes_blank(node: dict[str, Any], value: Any) -> bool:
    """Whether the schema accepts this blank as a value: ``""`` for a plain text, ``null`` where null is a type."""
    if value is None:
        kinds = node.get("type")
        return kinds == "null" or isinstance(kinds, list) and "null" in kinds
    if isinstance(value, str):
        return node.get("type") == "string" and not node.get("minLength") and not (
            {"format", "enum", "pattern", "const"} & set(node))
    return False


# --- data by dotted path ------------------------------------------------------------------------------

def put(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` (``enterprise.name``) in ``data``, making the objects on the way."""
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


def remove(data: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data.pop(last, None)


def get(data: Any, path: str, missing: Any = None) -> Any:
    """The value at ``path`` (``ip.0.title`` indexes a list), or ``missing``."""
    for part in path.split("."):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return missing
    return data


def at(data: Any, json_pointer: str, missing: Any = None) -> Any:
    """The value at a JSON pointer, or ``missing``."""
    return get(data, dotted(json_pointer), missing) if json_pointer else data


def merged(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with ``overlay`` laid over it, object by object."""
    result = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
