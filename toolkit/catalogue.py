"""The catalogue of forms, plans and notices: each one's schema, rules and place in its policy.

Everything is read from ``schemas/``: ``<id>.schema.json`` (JSON Schema 2020-12 with the form's facts under
``x-`` keys, see ``docs/architecture.md``) and, beside it, ``<id>.rules.toml`` (its eligibility rules). A schema
may ``$ref`` a shared file (``common/notice-header.schema.json``, the GB/T 9704 elements of every notice); the
catalogue hands out the schema with those references laid in, so every later stage sees one self-contained
document. A form from elsewhere (a new policy tried out before it ships) is ``Form.load(path)``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .errors import UnknownForm, UnusableInput
from .fields import blank
from .formats import FORMAT_CHECKER
from .resources import data_dir
from .rules import RuleSet, load_rules
from .schema_check import compile_schema, fast_check

ROLES = ("application", "record", "notice")


@dataclass(frozen=True)
class Form:
    """One form, plan outline or notice of the catalogue."""

    id: str
    schema_path: Path

    @classmethod
    def load(cls, schema_path: str | Path) -> Form:
        """A form from its schema file (``<id>.schema.json``), its rules and sample beside it."""
        path = Path(schema_path)
        if not path.name.endswith(".schema.json") or not path.is_file():
            raise UnusableInput(str(path), "应为表单的 <id>.schema.json 文件 (not a form schema)")
        return cls(path.name.removesuffix(".schema.json"), path)

    def __reduce__(self) -> tuple[Any, ...]:  # crosses process boundaries (batch and extraction workers)
        return (_restore, (self.id, self.schema_path))

    @cached_property
    def schema(self) -> dict[str, Any]:
        """The schema, with references to shared schema files laid in (local ``#/$defs`` ones stay)."""
        bundled = _bundled(_read_json(self.schema_path), self.schema_path.parent)
        if not isinstance(bundled, dict):
            raise UnusableInput(str(self.schema_path), "表单的 schema 应为一个 JSON 对象 (a form schema is an object)")
        return bundled

    def _text(self, key: str, default: str | None = None) -> str:
        """The schema's text under ``key`` (``default`` when absent); ``UnusableInput`` when it is not text."""
        value = self.schema.get(key, default)
        if not isinstance(value, str):
            told = "缺少" if value is None else f"不是文本（{value!r}）"
            raise UnusableInput(str(self.schema_path), f"表单 schema 的 {key} {told}，应为文本 (must be a string)")
        return value

    @property
    def title(self) -> str:
        return self._text("title")

    @property
    def kind(self) -> str:
        """The category printed in ``shenbao forms``: ``申请表``, ``建设方案``, ``记录``, ``通知`` …"""
        return self._text("x-kind", "")

    @property
    def role(self) -> str:
        """``application`` (filled in by an applicant), ``record`` (kept by staff) or ``notice`` (issued)."""
        return self._text("x-role", "application")

    @property
    def is_notice(self) -> bool:
        return self.role == "notice"

    @property
    def layout(self) -> dict[str, bool]:
        """How a form is laid out: ``cover`` (a cover page), ``outline`` (a plan's numbered outline)."""
        return {"cover": False, "outline": False, **self.schema.get("x-layout", {})}

    @property
    def applicant(self) -> str | None:
        """JSON pointer of the party a form is from, or a notice is about (an object with name and uscc)."""
        return self._text("x-applicant") if "x-applicant" in self.schema else None

    @property
    def as_of(self) -> str | None:
        """JSON pointer of the date the rules are judged at (``/application_date``, ``/report_date`` …)."""
        return self._text("x-as-of") if "x-as-of" in self.schema else None

    @property
    def office_sections(self) -> tuple[str, ...]:
        """JSON pointers of the sections the office fills in, not the applicant (审查意见, 专家评分 …)."""
        return tuple(self.schema.get("x-office-sections", ()))

    @property
    def policy(self) -> str:
        return self._text("x-policy", "")

    @property
    def clause(self) -> str:
        return self._text("x-clause", "")

    @property
    def order(self) -> int:
        return int(self.schema.get("x-order", 999))

    @cached_property
    def rules(self) -> RuleSet:
        return load_rules(self.schema_path.with_name(f"{self.id}.rules.toml"))

    @property
    def rules_version(self) -> str:
        return self.rules.version

    @property
    def rules_effective(self) -> dt.date | None:
        return self.rules.effective

    @property
    def sample_path(self) -> Path:
        """The complete example of this form (for tests and the demo only, never for a real document)."""
        beside = self.schema_path.with_name(f"{self.id}.json")
        return beside if beside.is_file() else data_dir("samples") / f"{self.id}.json"

    @property
    def template_path(self) -> Path | None:
        """The Word template shipped for this form, or None (then it is laid out from the schema when needed)."""
        for candidate in (self.schema_path.with_name(f"{self.id}.docx"), data_dir("templates") / f"{self.id}.docx"):
            if candidate.is_file():
                return candidate
        return None

    @cached_property
    def is_valid(self) -> Callable[[Any], bool]:
        """A compiled yes/no check of the schema, some thirty times faster than ``validator``.

        The schema is written out as one Python function (``schema_check``) with jsonschema's meaning of every
        keyword; a schema with a keyword it does not compile goes to fastjsonschema, which knows drafts up to 7
        (the forms use only keywords that mean the same in draft 7 and 2020-12: ``tests/test_catalogue.py`` holds
        them to that subset, ``tests/test_robustness.py`` checks the compiled check agrees with ``validator``).
        Only an application it rejects goes through ``validator`` to collect every finding.
        """
        check = compile_schema(self.schema, name=f"schema_{self.id.replace('-', '_')}") or fast_check(self.schema)
        if check is None:
            raise UnusableInput(str(self.schema_path), "表单的 schema 无法编译（fastjsonschema 不支持其中的关键字）")
        return check

    @cached_property
    def validator(self) -> Draft202012Validator:
        """The schema's validator, built once (``jsonschema.validate`` rebuilds it on every call)."""
        return Draft202012Validator(self.schema, format_checker=FORMAT_CHECKER)


def _restore(form_id: str, schema_path: Path) -> Form:
    known = _catalogue().get(form_id)
    return known if known is not None and known.schema_path == schema_path else Form(form_id, schema_path)


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _bundled(node: Any, folder: Path) -> Any:
    """``node`` with every ``$ref`` to another file (``common/x.schema.json#/$defs/y``) replaced by its target."""
    if isinstance(node, list):
        return [_bundled(item, folder) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref", "")
    if reference and not reference.startswith("#"):
        file, _, fragment = reference.partition("#")
        target: Any = _shared(folder / file)
        for part in [p for p in fragment.split("/") if p]:
            target = target[part]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _bundled({**copy.deepcopy(target), **siblings}, (folder / file).parent)
    return {key: _bundled(value, folder) for key, value in node.items()}


@cache
def _shared(path: Path) -> Any:
    return _read_json(path.resolve())


@cache
def _catalogue() -> dict[str, Form]:
    folder = data_dir("schemas")
    found = [Form(p.name.removesuffix(".schema.json"), p) for p in folder.glob("*.schema.json")]
    return {f.id: f for f in sorted(found, key=lambda f: (f.order, f.id))}


def forms() -> list[Form]:
    """Every form of the catalogue, in the catalogue's order."""
    return list(_catalogue().values())


def form(form_id: str | Form) -> Form:
    """The form ``form_id`` (a form given is returned as it is); ``UnknownForm`` when there is none."""
    if isinstance(form_id, Form):
        return form_id
    try:
        return _catalogue()[form_id]
    except KeyError:
        raise UnknownForm(form_id, list(_catalogue())) from None


def schema(form_id: str | Form) -> dict[str, Any]:
    """The JSON Schema of ``form_id``."""
    return form(form_id).schema


def skeleton(form_id: str | Form) -> dict[str, Any]:
    """A blank application of ``form_id`` to fill in: every field present, every value empty."""
    return blank(form(form_id))
