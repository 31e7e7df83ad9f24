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
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .errors import RuleError
from .expression import MISSING, Compiled, Program, compile_expression, compile_program, exact, plain
from .fields import pointer
from .values import figure

SEVERITIES = ("error", "warning")
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
    "contains": lambda a, b: b in a, "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
}
_ORDERS = {OPERATORS[op]: op for op in (">=", ">", "<=", "<", "==", "!=")}  # the operators as written in code
_MEMBERSHIP = {OPERATORS["contains"]: "{1} in {0}", OPERATORS["in"]: "{0} in {1}",
               OPERATORS["not in"]: "{0} not in {1}"}
_EXPRESSIONS = ("when", "for_each", "test", "value", "bound")
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
    source: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)  # when, test … as written

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
        if self.test is not None:
            outcome = self.test(scope)
            if outcome is MISSING or outcome:
                return None
            return self.breach(scope, index)
        assert self.value is not None and self.bound is not None and self.op is not None
        value, bound = self.value(scope), self.bound(scope)
        if value is MISSING or bound is MISSING or _holds(self.op, value, bound):
            return None
        return self.breach(scope, index, value, bound)

    def breach(self, scope: dict[str, Any], index: int | None, value: Any = None, bound: Any = None) -> Breach:
        """The finding of a check that failed: its message with the figures (``value`` and ``bound`` of a
        comparison), ``index`` the item's under ``for_each``."""
        values: dict[str, str] = {}
        if self.test is None:
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
        return self.program({**data, "tables": self.tables})

    def evaluate_slowly(self, data: Mapping[str, Any]) -> tuple[list[Breach], list[Breach]]:
        """``evaluate`` rule by rule, each expression on its own: what ``program`` does in one function."""
        scope = {**exact(data), "tables": self.tables}
        breaches = [breach for rule in self.rules for breach in rule.breaches(scope)]
        return breaches, [self._note(note, scope) for note in self.notes if self._flagged(note, scope)]

    @cached_property
    def program(self) -> Callable[[dict[str, Any]], tuple[list[Breach], list[Breach]]]:
        """Every rule and note in one compiled function of the scope (the application, and ``tables``): each
        name of the application is looked up once, what several rules compute is computed once, only the values
        the rules read are made exact, and a rule's message is written only when it fails."""
        return compile_program("rules", self._write)

    def _write(self, code: Program) -> None:
        code.line("breaches, flags = [], []")
        for rule in self.rules:
            _write_rule(code, rule)
        note_of = code.constant(self._note)
        for note in self.notes:
            _write_note(code, note, note_of)
        code.line("return breaches, flags")

    @staticmethod
    def _flagged(note: Rule, scope: dict[str, Any]) -> bool:
        return (note.when is None or bool(note.when(scope))) and note.test is not None and note.test(scope) is True

    @staticmethod
    def _note(note: Rule, scope: dict[str, Any]) -> Breach:
        return Breach(note, pointer(note.path), note.message.format(**note.figure_texts(scope)))


def _write_rule(code: Program, rule: Rule) -> None:
    """The code that appends ``rule``'s breaches (under ``for_each``, of each item in turn)."""
    if rule.for_each is None:
        _write_check(code, rule, {}, "None", "scope")
        return
    items, index, item = code.expression(rule.source["for_each"], exact=False), code.local("n"), code.local("i")
    code.bind(item, items)
    with code.block(f"if isinstance({items}, list):"), code.block(f"for {index}, {item} in enumerate({items}):"):
        _write_check(code, rule, {"item": item}, index, f"{{**scope, 'item': {item}}}")


def _write_check(code: Program, rule: Rule, env: dict[str, str], index: str, scope: str) -> None:
    """The code of one check: ``when``, then ``test`` or the comparison; the breach only when it fails."""
    this = code.constant(rule)
    if "when" in rule.source:
        with code.block(f"if {code.expression(rule.source['when'], env, exact=False)}:"):
            _write_test(code, rule, this, env, index, scope)
    else:
        _write_test(code, rule, this, env, index, scope)


def _write_test(code: Program, rule: Rule, this: str, env: dict[str, str], index: str, scope: str) -> None:
    if "test" in rule.source:
        outcome = code.expression(rule.source["test"], env, exact=False)  # only its truth is asked
        with code.block(f"if not ({code.is_missing(outcome)} or {outcome}):"):
            code.line(f"breaches.append({this}.breach({scope}, {index}))")
        return
    assert rule.op is not None
    value = code.expression(rule.source["value"], env, compared=True)  # a number as it is: exact on a breach
    bound = code.expression(rule.source["bound"], env, compared=True)
    failed = code.local("f")
    order = _ORDERS.get(rule.op)
    shortcut = code.shortcut(value, order, bound) if order else None
    general = (f"{value} {order} {bound}" if order else _MEMBERSHIP[rule.op].format(value, bound)
               if rule.op in _MEMBERSHIP else f"{code.constant(rule.op)}({value}, {bound})")
    with code.block(f"if not ({code.is_missing(value)} or {code.is_missing(bound)}):"):
        if shortcut:
            code.line(f"if {shortcut[0]}:")
            code.line(f"    {failed} = not ({shortcut[1]})")
            general = shortcut[2]
        with code.block("else:") if shortcut else nullcontext():
            code.line("try:")
            code.line(f"    {failed} = not ({general})")
            code.line("except TypeError:")  # incomparable kinds: the schema reports the wrong type (as ``_holds``)
            code.line(f"    {failed} = False")
        with code.block(f"if {failed}:"):
            code.line(f"breaches.append({this}.breach({scope}, {index}, {code.exact(value)}, {code.exact(bound)}))")


def _write_note(code: Program, note: Rule, note_of: str) -> None:
    """A note is flagged when its ``when`` holds and its ``test`` is True (not just truthy)."""
    when = code.expression(note.source["when"], exact=False) if "when" in note.source else "True"
    if "test" not in note.source:
        return
    with code.block(f"if {when}:"):
        outcome = code.local()
        code.line(f"{outcome} = {code.expression(note.source['test'], exact=False)}")  # `'text' is True` warns
        with code.block(f"if {outcome} is True:"):
            code.line(f"flags.append({note_of}({code.constant(note)}, scope))")


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
            source={k: entry[k] for k in _EXPRESSIONS if entry.get(k)},
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
