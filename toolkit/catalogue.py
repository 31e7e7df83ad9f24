"""The catalogue of forms, plans and notices: each one's schema, rules and place in its policy.

Everything is read from ``schemas/``: ``<id>.schema.json`` (JSON Schema 2020-12 with the form's
metadata under ``x-`` keys) and, beside it, ``<id>.rules.toml`` (its eligibility rules).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache, partial
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

from .errors import UnknownForm
from .formats import FORMAT_CHECKER
from .resources import data_dir
from .rules import RuleSet, load_rules


@dataclass(frozen=True)
class Form:
    """One form, plan outline or notice of the catalogue."""

    id: str
    schema_path: Path

    @cached_property
    def schema(self) -> dict[str, Any]:
        with self.schema_path.open(encoding="utf-8") as handle:
            return json.load(handle)

    @property
    def title(self) -> str:
        return self.schema["title"]

    @property
    def kind(self) -> str:
        """``申请表``, ``建设方案``, ``记录`` or ``通知`` … as the schema's ``x-kind`` says."""
        return self.schema.get("x-kind", "")

    @property
    def policy(self) -> str:
        return self.schema.get("x-policy", "")

    @property
    def clause(self) -> str:
        return self.schema.get("x-clause", "")

    @property
    def order(self) -> int:
        return int(self.schema.get("x-order", 999))

    @cached_property
    def rules(self) -> RuleSet:
        return load_rules(self.schema_path.with_name(f"{self.id}.rules.toml"))

    @cached_property
    def is_valid(self) -> Callable[[Any], bool]:
        """A compiled yes/no check of the schema, about ten times faster than ``validator``.

        fastjsonschema compiles the schema to Python once; it knows drafts up to 7, and the forms use only
        keywords that mean the same in draft 7 and 2020-12 (``tests/test_catalogue.py`` holds them to that
        subset, ``tests/test_robustness.py`` checks both validators agree). Only an application it rejects
        goes through ``validator`` to collect every finding.
        """
        # a deep copy: fastjsonschema rewrites the schema it compiles (its $ref resolution)
        draft7 = {**copy.deepcopy(self.schema), "$schema": "http://json-schema.org/draft-07/schema#"}
        formats = {name: partial(FORMAT_CHECKER.conforms, format=name) for name in FORMAT_CHECKER.checkers}
        check = fastjsonschema.compile(draft7, formats=formats, use_default=False)

        def is_valid(data: Any) -> bool:
            try:
                check(data)
            except fastjsonschema.JsonSchemaException:
                return False
            return True

        return is_valid

    @cached_property
    def validator(self) -> Draft202012Validator:
        """The schema's validator, built once (``jsonschema.validate`` rebuilds it on every call)."""
        return Draft202012Validator(self.schema, format_checker=FORMAT_CHECKER)


@cache
def _catalogue() -> dict[str, Form]:
    folder = data_dir("schemas")
    found = [Form(p.name.removesuffix(".schema.json"), p) for p in folder.glob("*.schema.json")]
    return {f.id: f for f in sorted(found, key=lambda f: (f.order, f.id))}


def forms() -> list[Form]:
    """Every form of the catalogue, in the catalogue's order."""
    return list(_catalogue().values())


def form(form_id: str) -> Form:
    """The form ``form_id``; ``UnknownForm`` when there is none."""
    try:
        return _catalogue()[form_id]
    except KeyError:
        raise UnknownForm(form_id, list(_catalogue())) from None


def schema(form_id: str) -> dict[str, Any]:
    """The JSON Schema of ``form_id``."""
    return form(form_id).schema


def skeleton(form_id: str) -> dict[str, Any]:
    """A blank application of ``form_id`` to fill in: every field present, every value empty."""
    return _blank(form(form_id).schema, form(form_id).schema)


def _blank(node: dict[str, Any], root: dict[str, Any]) -> Any:
    node = resolve(node, root)
    kind = node.get("type")
    if kind == "object":
        return {name: _blank(sub, root) for name, sub in node.get("properties", {}).items()}
    if kind == "array":
        items = resolve(node.get("items", {}), root)
        return [_blank(items, root)] if items.get("type") == "object" else []
    if kind == "string":
        return ""
    return None


def resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/contact``) to the schema it names."""
    while "$ref" in node and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


@lru_cache(maxsize=4096)
def field_title(form_id: str, json_pointer: str) -> str:
    """The Chinese title of the field at ``json_pointer``: ``/ip/1/title`` → ``知识产权 · 第2项 · 名称``."""
    root = form(form_id).schema
    node, titles = root, []
    for part in [p for p in json_pointer.split("/") if p]:
        node = resolve(node, root)
        if part.isdigit() and "items" in node:
            node = node["items"]
            titles.append(f"第{int(part) + 1}项")
        elif part in node.get("properties", {}):
            node = node["properties"][part]
            titles.append(resolve(node, root).get("title", part))
        else:
            titles.append(part)
            node = {}
    return " · ".join(titles) if titles else root.get("title", "")


@lru_cache(maxsize=4096)
def field_clause(form_id: str, json_pointer: str) -> str:
    """The clause a field is asked for by: its own ``x-clause``, else the nearest ancestor's, else the form's."""
    root = form(form_id).schema
    node, clause = root, root.get("x-clause", "")
    for part in [p for p in json_pointer.split("/") if p]:
        node = resolve(node, root)
        node = node.get("items", {}) if part.isdigit() else node.get("properties", {}).get(part, {})
        clause = resolve(node, root).get("x-clause", clause)
    return clause


@lru_cache(maxsize=4096)
def field_choices(form_id: str, dotted: str) -> tuple[str, ...]:
    """The enum of the field at a dotted path (``ip[].acquisition_mode``), empty when it has none."""
    root = form(form_id).schema
    node: dict[str, Any] = root
    for part in dotted.replace("[]", ".[]").split("."):
        node = resolve(node, root)
        node = node.get("items", {}) if part == "[]" else node.get("properties", {}).get(part, {})
        node = resolve(node, root)
        if node.get("type") == "array" and "enum" in resolve(node.get("items", {}), root) and part != "[]":
            node = {**node, "enum": resolve(node["items"], root)["enum"]}
    return tuple(str(e) for e in node.get("enum", ()))
