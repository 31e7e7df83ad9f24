"""A form's schema as one generated Python function that answers yes or no, as fastjsonschema does, but written for
the keywords the forms use and with jsonschema's own meaning of each.

The checks are laid out inline, the way the schema nests (a ``$ref`` and the ``if`` of an ``if``/``then`` become
functions of their own), and the function returns False at the first value that fails. A value's type is tested by
its exact class first (``v.__class__ is str``) and only otherwise by jsonschema's type checker, so a str subclass,
a float that is whole or a ``Fraction`` get jsonschema's verdict; a format is the very function the format checker
calls. A schema with a keyword this module does not know (beyond annotations: ``title``, ``description``, ``x-…``)
is not compiled here (``compile_schema`` returns None) and the caller keeps fastjsonschema.
``tests/test_robustness.py`` holds its verdict to jsonschema's on hostile values in every field of every form.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

from .formats import FORMAT_CHECKER
from .source_code import Source

Check = Callable[[Any], bool]
# Keywords that say nothing about validity (JSON Schema's annotations and the forms' own x-… ones).
_ANNOTATIONS = {"title", "description", "$schema", "$id", "$defs", "$comment", "examples", "default", "deprecated",
                "readOnly", "writeOnly"}
_KNOWN = {"type", "properties", "additionalProperties", "required", "minLength", "maxLength", "minimum", "maximum",
          "exclusiveMinimum", "exclusiveMaximum", "format", "enum", "const", "pattern", "items", "minItems",
          "maxItems", "uniqueItems", "$ref", "if", "then"}
# What a value of each JSON type is, by its exact class: anything else is asked of jsonschema's type checker.
_CLASSES = {"string": ("str",), "object": ("dict",), "array": ("list",), "boolean": ("bool",),
            "number": ("int", "Decimal", "float"), "integer": ("int",), "null": ("NoneType",)}
_NUMBER_ONLY = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
_BOUNDS = {"minimum": "<", "maximum": ">", "exclusiveMinimum": "<=", "exclusiveMaximum": ">="}


class Unsupported(Exception):
    """The schema uses a keyword (or a form of one) this module does not compile."""


TextCheck = Callable[[dict[str, Any]], Callable[[str], Any]]  # a string field's node → is a text of it as read?


def compile_schema(schema: dict[str, Any], root: dict[str, Any] | None = None, name: str = "schema",
                   as_read: TextCheck | None = None) -> Check | None:
    """The yes/no check of ``schema`` (its ``$ref``s resolved in ``root``, itself by default), or None when it uses
    a keyword this module does not know.

    With ``as_read`` the check says more: yes only when the value is valid AND already as reading leaves it
    (``reading.as_read``): no blank anywhere (an empty text, object or list item, a null), no name the schema does
    not list, numbers as whole numbers or decimals (no floats), booleans as booleans, each text as ``as_read(node)``
    says. Such a value is its own reading, with nothing to note."""
    try:
        writer = _Writer(root if root is not None else schema, as_read)
        writer.function(name, schema, as_read is not None)
    except Unsupported:
        return None
    return writer.compiled(name)


class _Writer(Source):
    """The source of the check function and of its helpers (one per ``$ref`` target and ``if``)."""

    def __init__(self, root: dict[str, Any], as_read: TextCheck | None = None) -> None:
        super().__init__()
        self.root = root
        self.as_read = as_read
        self.reading = False  # writing a function that also asks for values as read
        self.sources: list[str] = []
        self.refs: dict[tuple[str, bool], str] = {}  # a $ref (and whether values as read are asked) → its function
        self.objects: dict[str, Any] = {"Decimal": Decimal, "NoneType": type(None),
                                        "_is_type": Draft202012Validator.TYPE_CHECKER.is_type}

    def compiled(self, name: str) -> Check:
        namespace = dict(self.objects)
        exec(compile("\n\n".join(self.sources), f"<schema: {name}>", "exec"), namespace)  # noqa: S102 - our own source
        check: Check = namespace[name]
        return check

    def constant(self, value: Any) -> str:
        name = self.local("k")
        self.objects[name] = value
        return name

    def function(self, name: str, schema: Any, reading: bool = False) -> None:
        """``def name(v): …`` returning False at the first check that fails, True at the end; with ``reading``,
        also at the first value that is not as read."""
        outer, self.lines, depth, was = self.lines, [], self.depth, self.reading
        self.depth, self.reading = 1, reading
        self.node(schema, "v")
        self.line("return True")
        self.sources.append(f"def {name}(v):\n" + "\n".join(self.lines))
        self.lines, self.depth, self.reading = outer, depth, was

    def fail(self, condition: str) -> None:
        self.line(f"if {condition}:")
        self.line("    return False")

    def node(self, schema: Any, v: str) -> None:
        """The checks of ``schema`` on the value in ``v``."""
        if schema is True:
            return
        if schema is False:
            self.line("return False")
            return
        if not isinstance(schema, dict):
            raise Unsupported(repr(schema))
        keywords = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
        if keywords - _KNOWN or "then" in keywords and "if" not in keywords:
            raise Unsupported(", ".join(sorted(keywords - _KNOWN)))
        kinds = schema.get("type")
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if kinds is not None:
            if not isinstance(kinds, list) or not all(k in _CLASSES for k in kinds):
                raise Unsupported(f"type {kinds!r}")
            self.fail(" and ".join(self.not_of_type(v, kind) for kind in kinds))
        if self.reading:
            self.read_as_is(schema, v, kinds, keywords)
        if "$ref" in schema:
            self.fail(f"not {self.reference(schema['$ref'])}({v})")
        if "enum" in schema or "const" in schema:
            self.fail(self.not_one_of(v, schema["enum"] if "enum" in schema else [schema["const"]]))
        if "format" in schema:
            self.format(v, schema["format"])
        self.strings(schema, v, kinds)
        self.numbers(schema, v, kinds)
        self.arrays(schema, v, kinds)
        self.objects_of(schema, v, kinds)
        if "if" in schema and "then" in schema:  # both of validity alone: the value is read by the node's checks
            condition = self.local("f_if")
            self.function(condition, schema["if"])
            then = self.local("f_then")
            self.function(then, schema["then"])
            self.fail(f"{condition}({v}) and not {then}({v})")

    def read_as_is(self, schema: dict[str, Any], v: str, kinds: list[str] | None, keywords: set[str]) -> None:
        """The value is as reading leaves it (see ``compile_schema``); a node whose reading this does not know
        (no single type, a ``$ref`` beside other keywords) is not compiled with ``as_read``."""
        if "$ref" in schema:
            if keywords != {"$ref"}:
                raise Unsupported("$ref beside other keywords")
            return  # the referenced node's function asks it
        if kinds is None or len(kinds) != 1 or kinds[0] == "null":
            raise Unsupported("a node without one type")
        kind = kinds[0]
        if kind == "string":
            assert self.as_read is not None
            self.fail(f"{v}.__class__ is not str or not {self.constant(self.as_read(schema))}({v})")
        elif kind == "integer":
            self.fail(f"{v}.__class__ is not int")
        elif kind == "number":  # a finite decimal (reading makes a text of NaN and the infinities)
            self.fail(f"{v}.__class__ is not int and ({v}.__class__ is not Decimal or not {v}.is_finite())")
        elif kind == "object":
            self.fail(f"{v}.__class__ is not dict or not {v} or not {v}.keys() <= "
                      f"{self.constant(frozenset(schema.get('properties', {})))}")
        elif kind == "array":
            self.fail(f"{v}.__class__ is not list")

    def not_of_type(self, v: str, kind: str) -> str:
        classes = " and ".join(f"{v}.__class__ is not {c}" for c in _CLASSES[kind])
        if kind == "boolean":
            return classes
        return f"({classes} and not _is_type({v}, {kind!r}))"

    def guard(self, v: str, kinds: list[str] | None, kind: str) -> AbstractContextManager[None]:
        """A block for checks that apply to one type only, unless ``type`` has already made it that type."""
        if kinds == [kind] or kind == "number" and kinds == ["integer"]:
            return nullcontext()
        return self.block(f"if not {self.not_of_type(v, kind)}:")

    def reference(self, ref: str) -> str:
        key = (ref, self.reading)
        if key not in self.refs:
            if not ref.startswith("#/"):
                raise Unsupported(f"$ref {ref}")
            target: Any = self.root
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise Unsupported(f"$ref {ref}")
                target = target[part]
            self.refs[key] = self.local("f_ref")
            self.function(self.refs[key], target, self.reading)
        return self.refs[key]

    def not_one_of(self, v: str, choices: Any) -> str:
        """An ``enum`` of texts (or ``const`` text or true/false), as jsonschema's ``equal`` compares them."""
        if not isinstance(choices, list):
            raise Unsupported("enum")
        if all(type(c) is str for c in choices):
            return f"not (isinstance({v}, str) and {v} in {self.constant(frozenset(choices))})"
        if len(choices) == 1 and type(choices[0]) is bool:
            return f"{v} is not {choices[0]}"  # equal() tells true from 1 and false from 0
        raise Unsupported("enum")

    def format(self, v: str, name: Any) -> None:
        if name not in FORMAT_CHECKER.checkers:
            return  # a format the checker does not know: jsonschema lets every value pass
        function, raises = FORMAT_CHECKER.checkers[name]
        with self.block(f"if {v}.__class__ is str:"):  # a text: its answer kept (the same dates come back)
            self.fail(f"not {self.constant(_text_conforms(name))}({v})")
        with self.block("else:"):
            with self.block("try:"):
                self.fail(f"not {self.constant(function)}({v})")
            with self.block(f"except {self.constant(raises)}:"):
                self.line("return False")

    def strings(self, schema: dict[str, Any], v: str, kinds: list[str] | None) -> None:
        checks = []
        if "minLength" in schema:
            checks.append(f"len({v}) < {int(schema['minLength'])}")
        if "maxLength" in schema:
            checks.append(f"len({v}) > {int(schema['maxLength'])}")
        if "pattern" in schema:
            checks.append(f"not {self.constant(re.compile(schema['pattern']))}.search({v})")
        if checks:
            with self.guard(v, kinds, "string"):
                self.fail(" or ".join(checks))

    def numbers(self, schema: dict[str, Any], v: str, kinds: list[str] | None) -> None:
        bounds = [f"{v} {_BOUNDS[k]} {self.constant(schema[k])}" for k in _BOUNDS if k in schema]
        if bounds:
            with self.guard(v, kinds, "number"):
                self.fail(" or ".join(bounds))

    def arrays(self, schema: dict[str, Any], v: str, kinds: list[str] | None) -> None:
        if not {"items", "minItems", "maxItems", "uniqueItems"} & set(schema):
            return
        with self.guard(v, kinds, "array"):
            if "minItems" in schema:
                self.fail(f"len({v}) < {int(schema['minItems'])}")
            if "maxItems" in schema:
                self.fail(f"len({v}) > {int(schema['maxItems'])}")
            if schema.get("uniqueItems") is True:
                self.fail(f"not {self.constant(_uniq())}({v})")
            if "items" in schema:
                if not isinstance(schema["items"], (dict, bool)):
                    raise Unsupported("items as a list")
                item = self.local("i")
                with self.block(f"for {item} in {v}:"):
                    self.node(schema["items"], item)

    def objects_of(self, schema: dict[str, Any], v: str, kinds: list[str] | None) -> None:
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        required = schema.get("required", [])
        if not isinstance(properties, dict) or extra not in (True, False) or not isinstance(required, list):
            raise Unsupported("properties")
        if not (properties or required or extra is False):
            return
        with self.guard(v, kinds, "object"):
            if extra is False:
                self.fail(f"not {v}.keys() <= {self.constant(frozenset(properties))}")
            if required:
                self.fail(" or ".join(f"{name!r} not in {v}" for name in required))
            for name, subschema in properties.items():
                if subschema is True or subschema == {}:
                    continue
                inner = self.local()
                if name in required:
                    self.line(f"{inner} = {v}[{name!r}]")
                    self.node(subschema, inner)
                    continue
                with self.block(f"if {name!r} in {v}:"):
                    self.line(f"{inner} = {v}[{name!r}]")
                    self.node(subschema, inner)


def fast_check(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Check | None:
    """fastjsonschema's yes/no check of ``schema`` (draft 7, the ``$defs`` of ``root`` kept for its references),
    for a schema ``compile_schema`` does not compile; None when fastjsonschema cannot compile it either."""
    if not isinstance(schema, dict) or root is not None and {"$id", "$defs", "definitions"} & set(schema):
        return None
    defs = {"$defs": root.get("$defs", {})} if root is not None else {}
    # a deep copy: fastjsonschema rewrites the schema it compiles (its $ref resolution)
    draft7 = copy.deepcopy({**schema, **defs, "$schema": "http://json-schema.org/draft-07/schema#"})
    try:
        check = fastjsonschema.compile(draft7, formats=format_functions(), use_default=False)
    except fastjsonschema.JsonSchemaException:
        return None

    def valid(value: Any) -> bool:
        try:
            check(value)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return valid


@functools.cache
def _text_conforms(name: str) -> Callable[[str], bool]:
    """Whether a text is of the format ``name``, as the format checker says, each text asked once (the formats are
    functions of the text alone)."""
    return functools.lru_cache(maxsize=1 << 14)(_conforms(*FORMAT_CHECKER.checkers[name]))


def format_functions() -> dict[str, Check]:
    """Each format of ``FORMAT_CHECKER`` as a yes/no function (what fastjsonschema's ``formats`` takes)."""
    return {name: _conforms(function, raises) for name, (function, raises) in FORMAT_CHECKER.checkers.items()}


def _conforms(function: Callable[[Any], Any], raises: Any) -> Check:
    """A format checker's function as yes or no (no for the exception it raises on a value not of its format)."""
    def check(value: Any) -> bool:
        try:
            return bool(function(value))
        except raises:
            return False

    return check


def _uniq() -> Callable[[Any], bool]:
    """jsonschema's own test of ``uniqueItems`` (not public: without it the schema is not compiled here)."""
    try:
        from jsonschema._utils import uniq
    except ImportError:  # pragma: no cover - a jsonschema without it
        raise Unsupported("uniqueItems") from None
    return uniq  # type: ignore[no-any-return]
