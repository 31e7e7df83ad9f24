"""One reading of an application as people type it: every value the schema wants in another form (a date as
``2016年3月1日``, a number as ``"1,008.2万元"``, ``是``, a USCC in small letters with a trailing space …) is read
into its JSON value by ``values.read_text`` — the same reading batch cells and extracted PDFs get — and each
reading is noted (``已按 2016-03-01 理解``) so the person sees how their input was understood.

The schema is walked once per form into one reader per node (``_Readers``); a text already written as its field
wants it (``2016-04-18`` in a date field, a choice of its enum) is recognised without reading it again.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from .catalogue import Form, form
from .fields import _takes_blank, is_blank, pointer_of, resolve
from .schema_check import compile_schema
from .values import excel_date, no_number, read_text, trimmed


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
    readings: list[Reading] = []
    return _readers(form(target), False).root(data, readings), readings


def read_filled(target: Form | str, data: Mapping[str, Any]) -> tuple[dict[str, Any], list[Reading]]:
    """``read`` and then ``fields.without_blanks`` in one walk: what was not filled in is left out of what was read
    (every value is read, a blank one too, so the readings are the same)."""
    readings: list[Reading] = []
    return _readers(form(target), True).root(data, readings), readings


def as_read(node: dict[str, Any]) -> Callable[[str], Any]:
    """Whether a text of the field ``node`` is as reading leaves it: read as itself (the same text) and not blank,
    so kept as it is with nothing noted. What ``schema_check`` asks of every text to let a record skip reading.
    It may say no to a text that is as read (the record is then read as any other), never yes to one that is not:
    the usual texts are answered without reading them, the others by the field's reader."""
    reader = _text_reader(node)

    def read_as_itself(text: str) -> bool:
        read_as = reader(text)
        return read_as.__class__ is str and read_as == text and text != "" and not text.isspace()

    kind, shape = _text_kind(node), node.get("format")
    if kind is _DAY:
        return _ISO_DAY.fullmatch  # read as itself; a real day is the format's to say
    if "enum" in node and kind is _OTHER:
        return frozenset(c for c in node["enum"] if type(c) is str and read_as_itself(c)).__contains__
    if shape in ("uscc", "cn-resident-id"):
        return lambda text: text.isascii() and text.isalnum() and text.upper() == text
    if shape == "cn-phone":
        return lambda text: text.isascii() and text != "" and not text[0].isspace() and not text[-1].isspace()
    if kind is not _PLAIN:
        return read_as_itself

    def plain(text: str) -> bool:  # no white space at either end, no invisible character: trimming changes nothing
        return text != "" and not text[0].isspace() and not text[-1].isspace() and text.isprintable() or (
            read_as_itself(text))

    return plain


@lru_cache(maxsize=128)
def settled(target: Form) -> Callable[[Any], bool] | None:
    """The form's schema check that also says whether an application is already as reading leaves it (valid,
    nothing to read, nothing blank to leave out): then ``read_filled`` would give back the same data and no
    reading. None when the schema cannot be compiled so (then every application is read)."""
    return compile_schema(target.schema, name=f"settled_{target.id.replace('-', '_')}", as_read=as_read)


def _understood(value: Any, node: dict[str, Any]) -> Any:
    """One value as the field wants it (itself when it already is, or cannot be read)."""
    if isinstance(value, str):
        read_as = read_text(value, node)
        return value if isinstance(read_as, str) and read_as == value else read_as
    if no_number(value):
        return str(value)  # NaN, ±Infinity: no number a form takes; a text where a number is wanted, the schema says
    if node.get("format") == "date" and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return excel_date(value) or value
    if isinstance(value, float):  # a float from a library caller: the decimal it was written as
        return Decimal(repr(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# --- the readers of one form ----------------------------------------------------------------------------------

Where = tuple[Any, ...]
Reader = Callable[[Any, Where, Any, list[Reading]], Any]  # (value, where its container is, its key, readings)
ObjectReader = Callable[[Mapping[str, Any], Where, list[Reading]], tuple[dict[str, Any], bool]]
ListReader = Callable[[list[Any], Where, list[Reading]], list[Any]]
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@lru_cache(maxsize=128)
def _readers(target: Form, filled: bool) -> _Readers:
    return _Readers(target.schema, filled)


class _Node:
    """The readers of one schema node: of any value, of an object (it and whether it is blank), of a list; and
    what its values need that an object's reader does without a call (``_text_kind``, numbers kept as they are)."""

    __slots__ = ("of_value", "of_object", "of_list", "text", "numbers")

    of_value: Reader
    of_object: ObjectReader
    of_list: ListReader
    text: object
    numbers: bool


class _Readers:
    """The readers of every node of one schema, made once; ``filled`` readers also leave out blanks as
    ``fields.without_blanks`` does (a blank value, a blank list item; a blank a required field takes stays).
    A blank object is known from its reading (no value in it filled), not looked at again."""

    def __init__(self, root: dict[str, Any], filled: bool) -> None:
        self.schema = root
        self.filled = filled
        self.nodes: dict[int, _Node] = {}
        self.root_object = self.object_reader(resolve(root, root), always=True)

    def root(self, data: Mapping[str, Any], readings: list[Reading]) -> dict[str, Any]:
        return self.root_object(data, (), readings)[0]

    def node(self, node: dict[str, Any]) -> _Node:
        """The readers of ``node``, made on first use (a schema that refers to itself finds them here while they
        are made: they are looked up when called)."""
        found = self.nodes.get(id(node))
        if found is None:
            found = self.nodes[id(node)] = _Node()
            resolved = resolve(node, self.schema)
            found.text, found.numbers = _text_kind(resolved), resolved.get("format") != "date"
            found.of_object = self.object_reader(resolved, always=False)
            found.of_list = self.list_reader(resolved)
            found.of_value = self.value_reader(resolved, found)
        return found

    def value_reader(self, node: dict[str, Any], readers: _Node) -> Reader:
        """Whatever the value is, as ``read`` walks it: an object by its properties, a list by its items, a
        single value by the field (``_understood``)."""
        text, leaf = _text_reader(node), _leaf_reader(node)

        def reader(value: Any, where: Where, name: Any, readings: list[Reading]) -> Any:
            kind = value.__class__
            if kind is str:
                understood = text(value)
                if understood is value:
                    return value
            elif kind is dict or kind is not list and isinstance(value, Mapping):
                return readers.of_object(value, (*where, name), readings)[0]
            elif kind is list or isinstance(value, list):
                return readers.of_list(value, (*where, name), readings)
            else:
                understood = leaf(value)
                if understood is value:
                    return value
            if understood is not value and understood != value or type(understood) is not type(value):
                readings.append(Reading(pointer_of((*where, name)), value, understood))
                return understood
            return value

        return reader

    def list_reader(self, node: dict[str, Any]) -> ListReader:
        """A list's reader: each item by the node of ``items`` (a list without is kept as it is)."""
        items = node.get("items")
        item = self.node(items) if isinstance(items, dict) else None
        prune = self.filled

        def reader(value: list[Any], where: Where, readings: list[Reading]) -> list[Any]:
            if item is None:
                return value
            kept = []
            for index, inner in enumerate(value):
                if inner.__class__ is dict:
                    inner, blank = item.of_object(inner, (*where, index), readings)
                else:
                    inner = item.of_value(inner, where, index, readings)
                    blank = _blank(inner)
                if not (prune and blank):
                    kept.append(inner)
            return kept

        return reader

    def object_reader(self, node: dict[str, Any], always: bool) -> ObjectReader:
        """An object's reader: each property by its node, a name the form does not have as it is; and whether
        nothing in it is filled. The usual values are read here, without a call: a text of a plain text field
        (trimmed), an ISO date of a date field, a whole number or a yes/no where no date is wanted (as they
        are). ``always``: left out blanks even when the node names no properties (the application itself)."""
        properties: dict[str, Any] = node.get("properties", {})
        fields = {name: self.node(child) for name, child in properties.items()}
        prune = self.filled and (always or bool(node.get("properties")))
        required = set(node.get("required", ())) if prune else set()
        takes = {name: resolve(properties[name], self.schema) for name in required if name in properties}

        def reader(value: Mapping[str, Any], where: Where, readings: list[Reading]) -> tuple[dict[str, Any], bool]:
            kept, filled = {}, False
            for name, inner in value.items():
                field = fields.get(name)
                if field is None:
                    kept[name] = inner  # an unknown field: the schema reports it
                    filled = filled or not is_blank(inner)
                    continue
                kind = inner.__class__
                if kind is str and field.text is _PLAIN:
                    got = trimmed(inner)
                    if got != inner:
                        readings.append(Reading(pointer_of((*where, name)), inner, got))
                        inner = got
                    blank = not inner.strip()
                elif (kind is str and field.text is _DAY and _ISO_DAY.fullmatch(inner) or kind is bool
                      or field.numbers and (kind is int or kind is Decimal and inner.is_finite())):
                    blank = False
                elif kind is dict:
                    inner, blank = field.of_object(inner, (*where, name), readings)
                elif kind is list:
                    inner, blank = field.of_list(inner, (*where, name), readings), False
                else:
                    inner = field.of_value(inner, where, name, readings)
                    blank = _blank(inner)
                if not blank:
                    filled = True
                elif prune and not (name in takes and _takes_blank(takes[name], inner)):
                    continue
                kept[name] = inner
            return kept, not filled

        return reader


def _blank(value: Any) -> bool:
    """``fields.is_blank``, the usual kinds first."""
    kind = value.__class__
    if kind is str:
        return not value.strip()
    if value is None:
        return True
    if kind is int or kind is Decimal or kind is bool or kind is list:
        return False
    return is_blank(value)


def _leaf_reader(node: dict[str, Any]) -> Callable[[Any], Any]:
    """``_understood`` of a value that is no text: a whole number stays itself unless the field is a date."""
    is_date = node.get("format") == "date"

    def leaf(value: Any) -> Any:
        kind = value.__class__
        if kind is bool or value is None or (kind is int or kind is Decimal and value.is_finite()) and not is_date:
            return value
        return _understood(value, node)

    return leaf


_PLAIN, _DAY, _OTHER = object(), object(), object()  # a plain text (trimmed), an ISO date, anything else


def _text_kind(node: dict[str, Any]) -> object:
    """Which of ``_text_reader``'s readings the field's texts get: ``_PLAIN`` and ``_DAY`` ones are read inline."""
    kind, shape = node.get("type"), node.get("format")
    if kind == "boolean" or kind in ("number", "integer"):
        return _OTHER
    if shape == "date":
        return _DAY
    if "enum" in node or shape in ("uscc", "cn-resident-id", "cn-phone"):
        return _OTHER
    return _PLAIN


def _text_reader(node: dict[str, Any]) -> Callable[[str], Any]:
    """``_understood`` of a text in this field: itself (the same object) when it is already what the field wants,
    else ``values.read_text`` of it. Each shortcut gives what ``read_text`` gives (``tests/test_rules.py``)."""
    kind, shape = node.get("type"), node.get("format")

    def general(text: str) -> Any:
        read_as = read_text(text, node)
        return text if isinstance(read_as, str) and read_as == text else read_as

    if kind == "boolean" or kind in ("number", "integer"):
        return general
    if shape == "date":  # 2016-04-18 reads as itself (read_date gives back what it matched, or nothing)
        return lambda text: text if _ISO_DAY.fullmatch(text) else general(text)
    if "enum" in node:
        known = {c: general(c) for c in node["enum"] if type(c) is str}
        return lambda text: known[text] if text in known else general(text)
    if shape in ("uscc", "cn-resident-id"):  # ASCII letters and digits: only the capitals to make
        return lambda text: _same(text, text.upper()) if text.isascii() and text.isalnum() else general(text)
    if shape == "cn-phone":  # ASCII is its own NFKC: only the trimming to do
        return lambda text: _same(text, trimmed(text)) if text.isascii() else general(text)
    return lambda text: _same(text, trimmed(text))


def _same(text: str, read_as: str) -> str:
    return text if read_as == text else read_as
