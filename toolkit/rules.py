"""Eligibility rules: policy clauses stated as data in ``schemas/<form>.rules.toml``.

A rule names the clause it enforces, the field a finding points at, a severity and a Chinese message.
Its check is either ``test`` (an expression that must hold) or ``value`` ``op`` ``bound`` (a comparison
whose two sides are quoted in the message as ``{value}`` and ``{bound}``, written in ``unit``). ``when``
limits a rule to the applications it concerns; ``for_each`` checks every item of a list, the item being
``item`` and its number ``{n}``. See the README, "How to add a form or change a threshold".
"""

from __future__ import annotations

import datetime as dt
import operator
import string
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RuleError
from .expression import MISSING, Compiled, compile_expression, exact, plain
from .fields import pointer
from .values import figure

SEVERITIES = ("error", "warning")
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
    "contains": lambda a, b: b in a, "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
}
_RULE_KEYS = {"id", "clause", "severity", "path", "message", "when", "for_each", "test", "value", "op",
              "bound", "unit", "bound_unit", "figures", "description", "pending"}


@dataclass(frozen=True)
class Breach:
    """One rule that an application fails: which rule, where, the message, and its figures as data (the
    applicant's ``value`` and the ``bound`` it fails, as plain JSON values, in ``unit``)."""

    rule: Rule
    pointer: str
    message: str
    value: Any = None
    bound: Any = None


@dataclass(frozen=True)
class Rule:
    """One clause of a policy, compiled once from its rule file entry."""

    id: str
    clause: str
    severity: str
    path: str
    message: str
    description: str = ""
    unit: str = ""
    bound_unit: str = ""
    when: Compiled | None = None
    for_each: Compiled | None = None
    test: Compiled | None = None
    value: Compiled | None = None
    op: Callable[[Any, Any], bool] | None = None
    bound: Compiled | None = None
    figures: dict[str, tuple[Compiled, str]] = field(default_factory=dict)
    pending: bool = False  # says that something is still to be done (no expert score yet), not that it is wrong

    def breaches(self, scope: dict[str, Any]) -> Iterator[Breach]:
        """Every way ``scope`` (the application, plus the rule file's ``tables``) fails this rule."""
        if self.for_each is None:
            breach = self._check(scope, None) if self._applies(scope) else None
            if breach:
                yield breach
            return
        items = self.for_each(scope)
        if not isinstance(items, list):
            return
        for index, item in enumerate(items):
            inner = {**scope, "item": item}
            breach = self._check(inner, index) if self._applies(inner) else None
            if breach:
                yield breach

    def _applies(self, scope: dict[str, Any]) -> bool:
        """``when`` holds (under ``for_each`` it is asked of each item, which it may name as ``item``)."""
        return self.when is None or bool(self.when(scope))

    def figure_texts(self, scope: dict[str, Any]) -> dict[str, str]:
        """The extra figures the message quotes (``figures = {name = [expression, unit]}``)."""
        return {name: figure(expression(scope), unit) for name, (expression, unit) in self.figures.items()}

    def _check(self, scope: dict[str, Any], index: int | None) -> Breach | None:
        values: dict[str, str] = {}
        value = bound = None
        if self.test is not None:
            outcome = self.test(scope)
            if outcome is MISSING or outcome:
                return None
        else:
            assert self.value is not None and self.bound is not None and self.op is not None
            value, bound = self.value(scope), self.bound(scope)
            if value is MISSING or bound is MISSING or _holds(self.op, value, bound):
                return None
            values["value"], values["bound"] = _quoted(value, bound, self.unit, self.bound_unit or self.unit)
        values.update(self.figure_texts(scope))
        if index is not None:
            values["n"] = str(index + 1)
        return Breach(self, pointer(self.path, index), self.message.format(**values), plain(value), plain(bound))


def _holds(op: Callable[[Any, Any], bool], value: Any, bound: Any) -> bool:
    try:
        return bool(op(value, bound))
    except TypeError:
        return True  # incomparable kinds: the schema reports the wrong type, the rule stays silent


def _quoted(value: Any, bound: Any, unit: str, bound_unit: str) -> tuple[str, str]:
    """The applicant's figure and the bound, with as many decimals as it takes for them not to read alike."""
    places = 2
    while True:
        texts = figure(value, unit, places), figure(bound, bound_unit, places)
        if texts[0] != texts[1] or value == bound or places >= 8:
            return texts
        places += 2


@dataclass(frozen=True)
class RuleSet:
    """The rules and notes of one form, with the lookup tables they consult, and the version of the rule file
    with the date the policy it encodes took effect (stamped on every report)."""

    rules: tuple[Rule, ...]
    notes: tuple[Rule, ...]
    tables: Mapping[str, Any]
    version: str = ""
    effective: dt.date | None = None

    def evaluate(self, data: Mapping[str, Any]) -> tuple[list[Breach], list[Breach]]:
        """The rules ``data`` breaks, and the notes (flags that are not rules) whose ``test`` holds for it."""
        scope = {**exact(data), "tables": self.tables}
        breaches = [breach for rule in self.rules for breach in rule.breaches(scope)]
        return breaches, [self._note(note, scope) for note in self.notes if self._flagged(note, scope)]

    @staticmethod
    def _flagged(note: Rule, scope: dict[str, Any]) -> bool:
        return (note.when is None or bool(note.when(scope))) and note.test is not None and note.test(scope) is True

    @staticmethod
    def _note(note: Rule, scope: dict[str, Any]) -> Breach:
        return Breach(note, pointer(note.path), note.message.format(**note.figure_texts(scope)))


EMPTY = RuleSet((), (), {})
_FILE_KEYS = {"version", "effective", "rule", "note", "tables"}


def load_rules(path: Path) -> RuleSet:
    """Read and compile a rule file; a malformed entry raises ``RuleError`` naming file and rule."""
    if not path.exists():
        return EMPTY
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: {exc}") from None
    unknown = set(document) - _FILE_KEYS
    if unknown:
        raise RuleError(f"{path}: unknown keys {sorted(unknown)}; a rule file holds {sorted(_FILE_KEYS)}")
    effective = document.get("effective")
    if effective is not None and not isinstance(effective, dt.date):
        raise RuleError(f"{path}: effective must be a date (effective = 2016-02-22)")
    rules = tuple(_rule(path, entry) for entry in document.get("rule", []))
    notes = tuple(_rule(path, entry, note=True) for entry in document.get("note", []))
    ids = [r.id for r in rules + notes]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RuleError(f"{path}: duplicate rule ids {', '.join(duplicates)}")
    return RuleSet(rules, notes, exact(document.get("tables", {})), str(document.get("version", "")), effective)


def _rule(path: Path, entry: dict[str, Any], note: bool = False) -> Rule:
    where = f"{path.name}: rule {entry.get('id', '?')!r}"
    unknown = set(entry) - _RULE_KEYS
    missing = {"id", "clause", "message"} - set(entry)
    if unknown or missing:
        raise RuleError(f"{where}: unknown keys {sorted(unknown)} / missing keys {sorted(missing)}")
    severity = entry.get("severity", "warning" if note else "error")
    if severity not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {SEVERITIES}")
    comparison = {"value", "op", "bound"} & set(entry)
    if ("test" in entry) == bool(comparison) or comparison not in (set(), {"value", "op", "bound"}):
        raise RuleError(f"{where}: give either `test` or all of `value`, `op`, `bound`")
    if entry.get("op", ">=") not in OPERATORS:
        raise RuleError(f"{where}: op must be one of {list(OPERATORS)}")
    _check_placeholders(where, entry, comparison)
    try:
        return Rule(
            id=entry["id"], clause=entry["clause"], severity=severity, path=entry.get("path", ""),
            message=entry["message"], description=entry.get("description", ""),
            unit=entry.get("unit", ""), bound_unit=entry.get("bound_unit", ""),
            when=_maybe(entry.get("when")), for_each=_maybe(entry.get("for_each")),
            test=_maybe(entry.get("test")), value=_maybe(entry.get("value")),
            op=OPERATORS[entry["op"]] if "op" in entry else None, bound=_maybe(entry.get("bound")),
            figures={k: _figure(v) for k, v in entry.get("figures", {}).items()},
            pending=bool(entry.get("pending", False)),
        )
    except RuleError as exc:
        raise RuleError(f"{where}: {exc}") from None


def _check_placeholders(where: str, entry: dict[str, Any], comparison: set[str]) -> None:
    available = set(entry.get("figures", {})) | ({"value", "bound"} if comparison else set())
    available |= {"n"} if "for_each" in entry else set()
    used = {name for _, name, _, _ in string.Formatter().parse(entry["message"]) if name is not None}
    if used - available:
        raise RuleError(f"{where}: message uses {sorted(used - available)}; it may use {sorted(available)}")


def _maybe(source: str | None) -> Compiled | None:
    return compile_expression(source) if source else None


def _figure(spec: str | list[str]) -> tuple[Compiled, str]:
    expression, unit = (spec, "") if isinstance(spec, str) else (spec[0], spec[1])
    return compile_expression(expression), unit
