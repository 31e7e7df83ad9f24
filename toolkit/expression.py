"""Exact, side-effect-free expressions for eligibility rules.

A rule file states its checks as small expressions in Python syntax, e.g.
``staff.bachelor_or_above / staff.total``. They are parsed once into closures and evaluated on every
application. Only a whitelisted subset of the language is accepted: names are field paths of the
application, numbers are exact (``fractions.Fraction``; a literal ``0.3`` is three tenths), ISO date
strings are dates, and the only calls are the functions in ``FUNCTIONS``. A field that is absent makes
the whole expression ``MISSING``, so a rule never fires on data the schema already reports as missing;
``and``/``or``/``not`` follow three-valued logic (``False and MISSING`` is False, ``True and MISSING`` is
MISSING).
"""

from __future__ import annotations

import ast
import calendar
import datetime as dt
import functools
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import chinese_calendar

from .errors import RuleError


class _Missing:
    """The value of an expression that needs a field the application does not have."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
Scope = Mapping[str, Any]
Compiled = Callable[[Scope], Any]
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def exact(value: Any) -> Any:
    """A JSON document as the expressions see it: numbers as fractions, ISO dates as dates, all the way down.

    Scopes given to a compiled expression must have been passed through ``exact`` once (``RuleSet`` does).
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, Decimal, Fraction)):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(repr(value))  # the decimal the user wrote, not the binary approximation
    if isinstance(value, list):
        return [exact(v) for v in value]
    if isinstance(value, Mapping):
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def plain(value: Any) -> Any:
    """An expression's value as JSON data again (the inverse of ``exact``): fractions as decimals, dates as ISO
    strings, ``MISSING`` as None."""
    if value is MISSING:
        return None
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else Decimal(value.numerator) / Decimal(value.denominator)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not MISSING and v is not None}
    return value


def _member(container: Any, key: Any) -> Any:
    if isinstance(container, Mapping):
        try:
            return container[key] if key in container else MISSING
        except TypeError:  # an unhashable key (a list or object where a name was expected)
            return MISSING
    if isinstance(container, list) and isinstance(key, (int, Fraction)) and key == int(key):
        index = int(key)
        return container[index] if -len(container) <= index < len(container) else MISSING
    return MISSING


# --- functions a rule may call -------------------------------------------------------------------

def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"not a date: {value!r}")


def add_months(day: Any, months: Any) -> dt.date:
    """The same day ``months`` calendar months later (or earlier), clamped to the month's end."""
    day = _date(day)
    total = day.year * 12 + day.month - 1 + int(months)
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def add_years(day: Any, years: Any) -> dt.date:
    return add_months(day, int(years) * 12)


def add_days(day: Any, days: Any) -> dt.date:
    return _date(day) + dt.timedelta(days=int(days))


@functools.cache
def _year_known(year: int) -> bool:
    """Whether the calendar package has the State Council's holiday arrangement for ``year``."""
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def is_working_day(day: Any) -> bool:
    """Whether ``day`` is a working day in mainland China: Monday–Friday less the public holidays (法定节假日),
    plus the weekend days worked in their place (调休), as the State Council's annual arrangement sets them
    (the ``chinese-calendar`` package). In a year the package has no data for (before 2004, or not yet
    published), Monday–Friday: ``holidays_known`` tells a rule when that is the case."""
    date = _date(day)
    if not _year_known(date.year):
        return date.weekday() < 5
    return bool(chinese_calendar.is_workday(date))


def holidays_known(*days: Any) -> bool:
    """True when the holiday arrangement of every year from the earliest to the latest of ``days`` is known,
    so that working days counted over them are exact; False when some of them are counted Monday–Friday."""
    dates = [_date(d) for d in days]
    if not dates:
        raise TypeError("holidays_known needs at least one date")
    return all(_year_known(year) for year in range(min(dates).year, max(dates).year + 1))


def add_working_days(day: Any, days: Any) -> dt.date:
    """The date ``days`` working days after ``day`` (``day`` itself not counted): public holidays are skipped
    and 调休 weekend days count (``is_working_day``); in a year whose arrangement is not known, Monday–Friday."""
    current, left = _date(day), int(days)
    while left > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def months_between(start: Any, end: Any) -> Fraction:
    """Whole calendar months from ``start`` to ``end`` (2022-11-08 → 2024-11-08 is 24)."""
    start, end = _date(start), _date(end)
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return Fraction(months)


def days_between(start: Any, end: Any) -> Fraction:
    return Fraction((_date(end) - _date(start)).days)


def make_date(year: Any, month: Any, day: Any) -> dt.date:
    return dt.date(int(year), int(month), int(day))


def blank(text: Any) -> bool:
    """True when a text field is absent or holds only whitespace."""
    return text is MISSING or text is None or (isinstance(text, str) and not text.strip())


def _count(values: Iterable[Any]) -> Fraction:
    return Fraction(sum(1 for v in values if v))


def _sum(values: Iterable[Any]) -> Any:
    return sum((v for v in values), Fraction(0))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": lambda v: Fraction(len(v)),
    "sum": _sum,
    "count": _count,
    "any": any,
    "all": all,
    "min": min,
    "max": max,
    "add_months": add_months,
    "add_years": add_years,
    "add_days": add_days,
    "add_working_days": add_working_days,
    "holidays_known": holidays_known,
    "months_between": months_between,
    "days_between": days_between,
    "date": make_date,
    "year": lambda d: Fraction(_date(d).year),
    "blank": blank,
}
_TOLERATES_MISSING = {"blank"}

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


class _Compiler:
    """Turns a parsed expression into nested closures; refuses anything outside the whitelist."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: ast.AST, what: str) -> RuleError:
        return RuleError(f"{what} in rule expression {self.source!r} (column {getattr(node, 'col_offset', 0)})")

    def compile(self, node: ast.AST) -> Compiled:
        method: Callable[[Any], Compiled] | None = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"{type(node).__name__} is not allowed")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Compiled:
        value: object = node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            text = ast.get_source_segment(self.source, node) or repr(value)
            value = Fraction(text.replace("_", ""))
        elif isinstance(value, str):
            value = exact(value)
        return lambda scope: value

    def _Name(self, node: ast.Name) -> Compiled:
        name = node.id
        return lambda scope: scope[name] if name in scope else MISSING

    def _Attribute(self, node: ast.Attribute) -> Compiled:
        if node.attr.startswith("_"):
            raise self.fail(node, f"attribute {node.attr!r} is not allowed")
        base, attr = self.compile(node.value), node.attr
        return lambda scope: _member(base(scope), attr)

    def _Subscript(self, node: ast.Subscript) -> Compiled:
        base, key = self.compile(node.value), self.compile(node.slice)
        return lambda scope: _member(base(scope), key(scope))

    def _List(self, node: ast.List | ast.Tuple) -> Compiled:
        items = [self.compile(e) for e in node.elts]
        return lambda scope: [item(scope) for item in items]

    _Tuple = _List

    def _Dict(self, node: ast.Dict) -> Compiled:
        pairs = []
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                raise self.fail(node, "`**` is not allowed")
            pairs.append((self.compile(k), self.compile(v)))
        return lambda scope: {key(scope): value(scope) for key, value in pairs}

    def _UnaryOp(self, node: ast.UnaryOp) -> Compiled:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda scope: _not(operand(scope))
        if isinstance(node.op, ast.USub):
            return lambda scope: _strict(operator.neg, operand(scope))
        raise self.fail(node, "operator is not allowed")

    def _BinOp(self, node: ast.BinOp) -> Compiled:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise self.fail(node, "operator is not allowed")
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda scope: _strict(op, left(scope), right(scope))

    def _BoolOp(self, node: ast.BoolOp) -> Compiled:
        parts = [self.compile(v) for v in node.values]
        decisive = not isinstance(node.op, ast.And)  # the value that settles the result: False for and

        def combine(scope: Scope) -> Any:
            missing = False
            for part in parts:
                value = part(scope)
                if value is MISSING:
                    missing = True
                elif bool(value) is decisive:
                    return decisive
            return MISSING if missing else not decisive

        return combine

    def _Compare(self, node: ast.Compare) -> Compiled:
        ops = [_COMPARE[type(o)] for o in node.ops]
        operands = [self.compile(node.left)] + [self.compile(c) for c in node.comparators]

        def compare(scope: Scope) -> Any:
            values = [operand(scope) for operand in operands]
            results = [_strict(op, a, b) for op, a, b in zip(ops, values, values[1:], strict=False)]
            return MISSING if MISSING in results else all(results)

        return compare

    def _IfExp(self, node: ast.IfExp) -> Compiled:
        test, body, orelse = self.compile(node.test), self.compile(node.body), self.compile(node.orelse)
        return lambda scope: body(scope) if test(scope) else orelse(scope)

    def _Call(self, node: ast.Call) -> Compiled:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise self.fail(node, "only calls of " + ", ".join(sorted(FUNCTIONS)) + " are allowed")
        name = node.func.id
        function = FUNCTIONS[name]
        args = [self.compile(a) for a in node.args]
        if name in _TOLERATES_MISSING:
            return lambda scope: function(*(a(scope) for a in args))
        return lambda scope: _strict(function, *(a(scope) for a in args))

    def _GeneratorExp(self, node: ast.GeneratorExp) -> Compiled:
        loop = node.generators[0]  # a generator expression has at least one `for`
        if len(node.generators) != 1 or not isinstance(loop.target, ast.Name):
            raise self.fail(node, "only one simple `for NAME in LIST` is allowed")
        var = loop.target.id
        source = self.compile(loop.iter)
        conditions = [self.compile(c) for c in loop.ifs]
        element = self.compile(node.elt)

        def generate(scope: Scope) -> Any:
            items = source(scope)
            if items is MISSING or not isinstance(items, list):
                return MISSING
            result = []
            for item in items:
                inner = {**scope, var: item}
                if all(c(inner) for c in conditions):
                    result.append(element(inner))
            return result

        return generate

    _ListComp = _GeneratorExp


def _not(value: Any) -> Any:
    return MISSING if value is MISSING else not value


def _strict(function: Callable[..., Any], *args: Any) -> Any:
    """Apply ``function`` unless an argument is missing or of the wrong kind (then ``MISSING``)."""
    if any(a is MISSING or a is None for a in args):
        return MISSING
    try:
        return function(*args)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return MISSING


def compile_expression(source: str) -> Compiled:
    """Parse ``source`` once; the result maps a scope (field name → value) to the expression's value."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise RuleError(f"syntax error in rule expression {source!r}: {exc.msg}") from None
    return _Compiler(source.strip()).compile(tree.body)
