"""Validation of an application against its form: the schema first, then the policy's rules.

Every problem becomes a ``Finding`` that names the field (JSON pointer and Chinese title), the rule and
the clause of the policy it enforces, its severity and a Chinese message with the figures involved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

from . import fields
from .catalogue import Form, form
from .errors import UnusableInput
from .files import kind_of as _kind
from .formats import FORMAT_CHECKER, FORMAT_STANDARDS
from .reading import Reading, read_filled, settled
from .schema_check import compile_schema, fast_check
from .values import figure


@dataclass(frozen=True)
class Finding:
    """One problem of an application, at one field (``path``, a JSON pointer).

    Besides the Chinese message, a rule's finding carries its figures as data — the applicant's ``value``, the
    ``bound`` it fails and their ``unit`` — so that a ledger can store and query them and a page can show them
    beside the field."""

    path: str
    title: str
    rule: str
    clause: str
    severity: str
    message: str
    value: Any = None
    bound: Any = None
    unit: str = ""
    pending: bool = False  # not wrong but not decided yet: an office's section or a pending rule

    def as_dict(self) -> dict[str, str]:
        """The finding as ``shenbao validate --json`` prints it (the message, without the figures)."""
        return {k: getattr(self, k) for k in ("path", "title", "rule", "clause", "severity", "message")}

    def as_record(self) -> dict[str, Any]:
        """Everything, figures included (numbers as exact decimals, dates as ISO strings)."""
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """The verdict on one application: ``ok`` unless some finding is an error."""

    form: str
    file: str | None
    findings: tuple[Finding, ...]
    notes: tuple[Finding, ...] = ()
    rules_version: str = ""
    rules_effective: str = ""
    stage: str = "application"

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def pending(self) -> list[Finding]:
        """What is still to be done before a decision: the office's blank sections, pending rules."""
        return [f for f in self.findings if f.pending]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def as_dict(self) -> dict[str, Any]:
        """The report as ``shenbao validate --json`` prints it."""
        return {"form": self.form, "file": self.file, "ok": self.ok,
                "findings": [f.as_dict() for f in self.findings]}

    def as_record(self) -> dict[str, Any]:
        """Everything a ledger keeps: the verdict, the rules version and every finding with its figures."""
        return {"form": self.form, "file": self.file, "ok": self.ok, "stage": self.stage,
                "rules_version": self.rules_version, "rules_effective": self.rules_effective,
                "findings": [f.as_record() for f in self.findings], "notes": [f.as_record() for f in self.notes]}


STAGES = ("draft", "application", "office")


def check(target: Form | str, data: Any, stage: str = "application", file: str | None = None,
          strict: bool = False) -> Report:
    """Check ``data`` (a parsed application) against the schema and rules of ``target``.

    Values typed as people type them (``2016年3月1日``, ``1,008.2万元``, ``是``) are read first, each reading a
    note (``已按 2016-03-01 理解``; with ``strict``, an error asking for the canonical form); what is not filled
    in — an empty string or null in an optional field, a blank list item — is left out.
    ``stage`` is how far the paperwork has come:

    - ``application`` (the default): the applicant's part; the office's sections (``x-office-sections``) left
      blank are not filled in yet, not wrong;
    - ``draft``: being filled in; fields not yet filled are no findings either;
    - ``office``: about to be decided; the office's sections must be filled in too, and a rule that says
      something is still pending (``pending = true``: no expert score yet …) is an error. Before this stage
      pending rules are not asked: what the office has not done yet is not the applicant's problem."""
    target = form(target)
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, not {stage!r}")
    if not isinstance(data, Mapping):
        raise UnusableInput(file or "<data>", f"顶层应为 JSON 对象，现为{_kind(data)} (not an object)")
    as_read = settled(target)
    if as_read is not None and as_read(data):  # valid, and nothing in it to read or leave out: taken as it is
        readings: list[Reading] = []
        findings: list[Finding] = []
    else:
        data, readings = read_filled(target, data)  # read, then without what is not filled in (one walk)
        findings = list(_schema_findings(target, data))
    if strict:
        findings += [_finding(target, r.path, "input.strict", "", "error",
                              f"应写作 {r.value}（现为「{r.written}」；去掉 --strict 时按此理解）") for r in readings]
    if stage == "draft":
        findings = [f for f in findings if f.rule != "schema.required"]
    if stage == "office":
        findings += [_finding(target, section, "office.required", "", "error", "审核部门尚未填写")
                     for section in target.office_sections if fields.at(data, section) is None]
    breaches, flags = target.rules.evaluate(data)
    if stage == "draft":  # a rule on a field not filled in yet (未说明…) is the draft's blank, not a finding
        breaches = [b for b in breaches if fields.at(data, b.pointer) is not None]
    findings += [_finding(target, b.pointer, b.rule.id, b.rule.clause, "error" if b.rule.pending else b.rule.severity,
                          b.message, b.value, b.bound, b.rule.unit, b.rule.pending)
                 for b in breaches if stage == "office" or not b.rule.pending]
    notes = [] if strict else [_finding(target, r.path, "input.read", "", "note", r.message) for r in readings]
    notes += [_finding(target, b.pointer, b.rule.id, b.rule.clause, "note", b.message) for b in flags]
    effective = target.rules_effective.isoformat() if target.rules_effective else ""
    return Report(target.id, file, tuple(findings), tuple(notes), target.rules_version, effective, stage)


def validate(form_id: Form | str, data: Any, file: str | None = None) -> Report:
    """``check`` at the application stage (the name the toolkit's first releases used)."""
    return check(form_id, data, "application", file)


def _finding(target: Form, path: str, rule: str, clause: str, severity: str, message: str, value: Any = None,
             bound: Any = None, unit: str = "", pending: bool = False) -> Finding:
    return Finding(path, fields.title(target, path), rule, clause or fields.clause(target, path), severity,
                   message, value, bound, unit, pending or rule == "office.required")


def _schema_findings(target: Form, data: Mapping[str, Any]) -> Iterator[Finding]:
    if target.is_valid(data):
        return
    seen: set[tuple[str, str]] = set()
    for error in _errors(target).iter_errors(data):
        for path, message in _explain(error):
            if (path, message) not in seen:
                seen.add((path, message))
                is_format = error.validator == "format"
                rule = f"format.{error.validator_value}" if is_format else f"schema.{error.validator}"
                clause = FORMAT_STANDARDS.get(error.validator_value, "") if is_format else ""
                yield _finding(target, path, rule, clause, "error", message)


class _Errors:
    """Every schema error of an application the compiled check rejected, as ``Form.validator`` finds them, but
    without walking the sections that hold none: from the form's second rejected application on, each top-level
    section is first given to a compiled check of its own schema (``schema_check``, compiled when first asked), and
    only a section it rejects is walked for its errors. The errors and their order are ``Form.validator``'s: a
    section skipped has none (``tests/test_robustness.py`` holds the compiled checks to jsonschema's verdict)."""

    def __init__(self, target: Form) -> None:
        self.target = target
        self.rejected = 0
        self.sections: dict[str, Callable[[Any], bool] | None] = {}
        root: Any = target.schema.get("properties")
        plain = Draft202012Validator.VALIDATORS["properties"]

        def properties(validator: Any, properties: dict[str, Any], instance: Any,
                       schema: Any) -> Iterator[ValidationError]:
            if properties is not root or not validator.is_type(instance, "object"):
                yield from plain(validator, properties, instance, schema)
                return
            for name, subschema in properties.items():
                if name in instance and not self.valid(name, subschema, instance[name]):
                    yield from validator.descend(instance[name], subschema, path=name, schema_path=name)

        kind = validators.extend(Draft202012Validator, {"properties": properties})
        self.skipping = kind(target.schema, format_checker=FORMAT_CHECKER)

    def iter_errors(self, data: Any) -> Iterator[ValidationError]:
        self.rejected += 1
        errors: Iterator[ValidationError] = (self.skipping if self.rejected > 1 else self.target.validator).iter_errors(
            data)
        return errors

    def valid(self, name: str, subschema: Any, value: Any) -> bool:
        if name not in self.sections:
            self.sections[name] = _compiled(subschema, self.target.schema)
        check = self.sections[name]
        return check is not None and check(value)


def _compiled(subschema: Any, root: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A compiled yes/no check of one section's schema, its references to the form's ``$defs`` kept (None when
    the section cannot be checked on its own)."""
    if not isinstance(subschema, dict):
        return None
    return compile_schema(subschema, root, "section") or fast_check(subschema, root)


@lru_cache(maxsize=128)
def _errors(target: Form) -> _Errors:
    return _Errors(target)


TYPE_NAMES = {"string": "文字", "number": "数值", "integer": "整数", "boolean": "是/否（true/false）",
              "object": "对象", "array": "列表", "null": "空"}


def _explain(error: ValidationError) -> Iterator[tuple[str, str]]:
    """The pointer and Chinese message of a JSON Schema error (one per missing or unknown field)."""
    here = fields.pointer_of(error.absolute_path)
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        for name in expected:
            if isinstance(value, Mapping) and name not in value:
                yield f"{here}/{name}", "缺少必填项"
        return
    if kind in ("additionalProperties", "unevaluatedProperties"):
        allowed = set(error.schema.get("properties", {}))
        for name in value:
            if name not in allowed:
                yield f"{here}/{name}", f"表单中没有字段「{name}」（拼写有误？可用 `shenbao skeleton` 查看字段）"
        return
    yield here, _message(error, kind, expected, value)


def _message(error: ValidationError, kind: Any, expected: Any, value: Any) -> str:
    shown = _describe(value)
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if kind == "type":
        wanted = "或".join(TYPE_NAMES.get(t, t) for t in ([expected] if isinstance(expected, str) else expected))
        return f"应为{wanted}，现为{shown}"
    if kind == "enum":
        return f"应为以下之一：{'、'.join(map(str, expected))}；现为{shown}"
    if kind == "const":
        return f"应为 {_describe(expected)}，现为{shown}"
    if kind in _BOUNDS:
        written = figure(value)
        shown = written if len(written) <= 24 else f"一个{len(written.lstrip('-').split('.')[0])}位的数"
        return f"{_BOUNDS[kind]} {figure(expected)}，现为 {shown}"
    if kind == "minLength":
        return "不得为空" if expected == 1 else f"至少应有{expected}个字，现为{len(value)}个字"
    if kind == "maxLength":
        return f"最多{expected}个字，现为{len(value):,}个字"
    if kind == "minItems":
        return f"至少应填写{expected}项，现为{len(value)}项"
    if kind == "maxItems":
        return f"最多填写{expected}项，现为{len(value)}项"
    if kind == "uniqueItems":
        return "各项不得重复"
    if kind == "format":
        return str(error.cause) if error.cause else f"格式不正确：{shown}"
    if kind == "pattern":
        return custom or f"格式不正确：{shown}"
    if kind == "multipleOf":
        return f"应为 {figure(expected)} 的整数倍，现为 {figure(value)}"
    return custom or f"不符合表单要求：{error.message}"


_BOUNDS = {"minimum": "不得小于", "maximum": "不得大于", "exclusiveMinimum": "应大于", "exclusiveMaximum": "应小于"}


def _describe(value: Any) -> str:
    if value is None:
        return "空值"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"「{value}」" if value else "空字符串"
    if isinstance(value, (int, Decimal, float)):
        return str(value)
    return _kind(value)
