"""Exact, side-effect-free expressions for eligibility rules.

A rule file states its checks as small expressions in Python syntax, e.g.
``staff.bachelor_or_above / staff.total``. They are parsed once and turned into Python code (as fastjsonschema
does for a schema), compiled once and evaluated on every application; ``Program`` lays the expressions of a
whole rule file into one function. Only a whitelisted subset of the language is accepted: names are field paths
of the application, numbers are exact (``fractions.Fraction``; a literal ``0.3`` is three tenths), ISO date
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
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import chinese_calendar

from .errors import RuleError
from .source_code import Source
from .values import no_number


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

    A compiled expression makes exact the values it uses (``Program``); a scope made exact first gives the same
    values, ``exact`` of an exact value being that value.
    """
    kind = type(value)  # the JSON types first, by their exact type; anything else as the general case
    if kind is str:
        return _day_or_text(value)
    if kind is dict:
        return {k: exact(v) for k, v in value.items()}
    if kind is int:
        return Fraction(value)
    if kind is Decimal:
        if value.is_finite():
            return Fraction(*value.as_integer_ratio())  # two ints: Fraction's quick way (a Decimal goes through ABCs)
        return str(value)  # NaN, ±Infinity: no number, a text (as reading has it), which no rule takes for one
    if kind is list:
        return [exact(v) for v in value]
    if kind is bool or value is None:
        return value
    return _exact_other(value)


def _exact_other(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if no_number(value):
        return str(value)  # NaN, ±Infinity: no number (see ``exact``)
    if isinstance(value, (int, Decimal, Fraction)):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(repr(value))  # the decimal the user wrote, not the binary approximation
    if isinstance(value, list):
        return [exact(v) for v in value]
    if isinstance(value, Mapping):
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, str):
        return _day_or_text(value)
    return value


def _day_or_text(value: str) -> Any:
    if len(value) == 10 and _ISO_DATE.match(value):
        return _day(value)
    return value


@functools.lru_cache(maxsize=1 << 14)
def _day(value: str) -> Any:
    """An ISO date's day (the same few dates come back in record after record), or the text when it is none."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
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
    return _working(_date(day))


@functools.lru_cache(maxsize=1 << 16)
def _working(date: dt.date) -> bool:
    """``is_working_day`` of one date, asked of the calendar once (it searches its tables on every call)."""
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
    return _after_working_days(_date(day), int(days))


@functools.lru_cache(maxsize=1 << 14)
def _after_working_days(current: dt.date, left: int) -> dt.date:
    while left > 0:
        current += dt.timedelta(days=1)
        if _working(current):
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

_ERRORS = (TypeError, ValueError, ZeroDivisionError, OverflowError)  # what makes a strict operation MISSING
_BINARY = {ast.Add: "{} + {}", ast.Sub: "{} - {}", ast.Mult: "{} * {}", ast.Div: "{} / {}"}
_COMPARE = {
    ast.Eq: "{} == {}", ast.NotEq: "{} != {}", ast.Lt: "{} < {}", ast.LtE: "{} <= {}",
    ast.Gt: "{} > {}", ast.GtE: "{} >= {}", ast.In: "{} in {}", ast.NotIn: "{} not in {}",
}
Env = Mapping[str, str]  # a name bound inside an expression (a generator's variable, a rule's item) → its local
_UNSET = object()  # a memo not computed yet
_SETTLED = frozenset({bool, type(None), Fraction, dt.date, _Missing})  # the kinds ``exact`` gives back as they are
# What compares as its exact value does (a decimal with a fraction, exactly): a comparison takes them as they are.
_COMPARABLE = _SETTLED | {int, Decimal}
_RATIONAL = frozenset({int, Decimal, Fraction})  # their sums, products … are computed from their integer ratios
_ARITHMETIC = {  # a ⊕ b of the ratios an/ad, bn/bd, as Fraction computes it
    ast.Add: "_Fraction({an} * {bd} + {bn} * {ad}, {ad} * {bd})",
    ast.Sub: "_Fraction({an} * {bd} - {bn} * {ad}, {ad} * {bd})",
    ast.Mult: "_Fraction({an} * {bn}, {ad} * {bd})",
    ast.Div: "_Fraction({an} * {bd}, {ad} * {bn})",
}


class Program(Source):
    """The Python source of one function of the scope, written expression by expression, compiled once
    (``compile_program``).

    Every value is held in a local of the generated code (``t1``, ``t2`` …); each name of the scope is looked up
    once at the start (``s1 = scope['staff'] if 'staff' in scope else MISSING``). The application is taken as it
    is, not made ``exact`` first: a value is made exact where it is used (an operand, an argument, a result), so
    the fields no rule reads are never converted; ``exact`` is idempotent, so a scope already made exact gives
    the same values. A part of an expression that does not depend on a loop's variable and is written more than
    once, or inside a loop, is computed once, when first needed (``m1``). Every object the code needs (a
    fraction, a date, a function, a rule) is a global of it, never written into the source: the source holds only
    these names, Python's keywords and operators, and ``repr`` of texts and whole numbers.
    """

    def __init__(self, name: str = "expression", repeated: Mapping[Any, int] | None = None) -> None:
        self.name = name
        self.repeated = repeated  # how often each part is evaluated (a first writing counts them), None then
        super().__init__(depth=1)
        self.counts: dict[Any, int] = {}
        self.loops = 0
        self.names: dict[str, str] = {}  # scope name → the local its value is looked up into
        self.memos: dict[Any, str] = {}
        self.prologue: list[str] = []
        self.objects: dict[str, Any] = {"MISSING": MISSING, "_member": _member, "_ERRORS": _ERRORS,
                                        "_exact": exact, "_SETTLED": _SETTLED, "_COMPARABLE": _COMPARABLE,
                                        "_RATIONAL": _RATIONAL, "UNSET": _UNSET,
                                        "_Fraction": Fraction}
        self.safe: set[str] = set()  # locals and literals that are never MISSING or None
        self.raw: set[str] = set()  # locals that may hold the application's values as they are (not exact)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """``Source.block``, counting the loops it is in (what is written in one is evaluated more than once)."""
        loop = header.startswith("for ")
        self.loops += loop
        try:
            with super().block(header):
                yield
        finally:
            self.loops -= loop

    def constant(self, value: Any) -> str:
        """A name (or literal) for ``value`` in the generated code."""
        if value is None or isinstance(value, bool) or type(value) in (str, int):
            text = repr(value)
        else:
            text = self.local("k")
            self.objects[text] = value
        if value is not None:
            self.safe.add(text)
        return text

    def is_missing(self, name: str) -> str:
        """The test that the value in ``name`` is MISSING (``False`` when it is a constant)."""
        return "False" if name in self.safe else f"{name} is MISSING"

    def scope_name(self, name: str) -> str:
        """The local holding the scope's ``name`` (MISSING when the scope has none)."""
        if name not in self.names:
            local = self.names[name] = self.local("s")
            self.prologue.append(f"{local} = scope[{name!r}] if {name!r} in scope else MISSING")
            self.raw.add(local)
        return self.names[name]

    def shortcut(self, left: str, operator: str, right: str) -> tuple[str, str, str] | None:
        """``left operator right`` (an order or equality) written for two fractions: the test that both are, and
        the comparison of their cross products (as ``Fraction`` compares, without its dispatch; a constant's
        numerator and denominator written out); then the comparison for the other kinds, a whole constant as an
        int (it compares as its fraction does, faster). None for another operator, for constants only, or for a
        constant that is no fraction."""
        ratios = {side: _ratio(self.objects.get(side)) for side in (left, right)}
        if operator not in ("<", "<=", ">", ">=", "==", "!=") or all(ratios.values()) or any(
                side in self.safe and ratios[side] is None for side in (left, right)):
            return None
        both = " and ".join(f"{side}.__class__ is _Fraction" for side in (left, right) if ratios[side] is None)
        (a, b), (c, d) = (ratios[side] or (f"{side}.numerator", f"{side}.denominator") for side in (left, right))
        whole = {side: _whole(ratios[side]) or side for side in (left, right)}
        return both, f"{a} * {d} {operator} {c} * {b}", f"{whole[left]} {operator} {whole[right]}"

    def exact(self, name: str) -> str:
        """``name``'s value made exact, as an expression."""
        return f"_exact({name})" if name in self.raw else name

    def memoized(self, key: Any, write: Callable[[], str]) -> str:
        """``write``'s value, computed once per call of the function when ``key`` is evaluated more than once."""
        self.counts[key] = self.counts.get(key, 0) + (2 if self.loops else 1)
        if self.repeated is None or self.repeated.get(key, 0) < 2:
            return write()
        memo = self.memos.get(key)
        if memo is None:
            memo = self.memos[key] = self.local("m")
            self.prologue.append(f"{memo} = UNSET")
        with self.block(f"if {memo} is UNSET:"):
            inner = write()
            self.line(f"{memo} = {inner}")
        if inner in self.raw:
            self.raw.add(memo)
        return memo

    def expression(self, source: str, env: Env | None = None, exact: bool = True, compared: bool = False) -> str:
        """Write the code of ``source``; the local (or literal) that holds its value when it has run: made exact;
        or (``exact=False``, for a value only tested for truth or MISSING, or iterated) perhaps as it is; or
        (``compared``) exact but for a number, which compares as its exact value does."""
        tree = _parse(source)
        generator, body, names = _Generator(source.strip(), self), tree.body, dict(env or {})
        if compared:
            return generator.comparable(body, names)
        return generator.value(body, names) if exact else generator.emit(body, names)

    def bind(self, local: str, items: str) -> None:
        """``local`` holds an item of ``items``: as it is when they are."""
        if items in self.raw:
            self.raw.add(local)

    def build(self) -> Callable[..., Any]:
        """Compile the function (its lines must end with a ``return``)."""
        text = "\n".join([f"def {self.name}(scope):", *("    " + line for line in self.prologue), *self.lines])
        namespace = dict(self.objects)
        exec(compile(text, f"<rules: {self.name}>", "exec"), namespace)  # noqa: S102 -- generated from the whitelist
        return cast(Callable[..., Any], namespace[self.name])


def compile_program(name: str, write: Callable[[Program], None]) -> Callable[..., Any]:
    """The function ``write`` writes into a ``Program`` (ending with a ``return``), compiled: written twice, first
    to count which parts are evaluated more than once."""
    counting = Program(name)
    write(counting)
    program = Program(name, counting.counts)
    write(program)
    return program.build()


def _parse(source: str) -> ast.Expression:
    try:
        return ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise RuleError(f"syntax error in rule expression {source!r}: {exc.msg}") from None


def _free_names(node: ast.AST) -> set[str]:
    """The names ``node`` reads from outside it (a generator's own variable is bound inside it)."""
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, (ast.GeneratorExp, ast.ListComp)) and node.generators:
        loop = node.generators[0]
        inner = set().union(*(_free_names(n) for n in [node.elt, *loop.ifs]))
        bound = {loop.target.id} if isinstance(loop.target, ast.Name) else set()
        return _free_names(loop.iter) | (inner - bound)
    return set().union(*(_free_names(child) for child in ast.iter_child_nodes(node)))


class _Generator:
    """Writes the code of a parsed expression into a ``Program``; refuses anything outside the whitelist.

    ``emit`` returns the local (or literal) that holds a node's value once its lines have run, perhaps an
    application's value as it is (``Program.raw``); ``value`` the same made exact. A name bound by a generator
    expression is a local of the loop (``env``); any other name is the scope's."""

    def __init__(self, source: str, program: Program) -> None:
        self.source = source
        self.program = program

    def fail(self, node: ast.AST, what: str) -> RuleError:
        return RuleError(f"{what} in rule expression {self.source!r} (column {getattr(node, 'col_offset', 0)})")

    def key(self, node: ast.AST, env: dict[str, str]) -> str | None:
        """What identifies ``node`` wherever it is written (its text), None when it is a constant or a name, or
        depends on a loop's variable."""
        if isinstance(node, (ast.Constant, ast.Name)) or _free_names(node) & set(env):
            return None
        return ast.get_source_segment(self.source, node)

    def emit(self, node: ast.AST, env: dict[str, str]) -> str:
        key = self.key(node, env)
        if key is None:
            return self.write(node, env)
        return self.program.memoized(key, lambda: self.write(node, env))

    def value(self, node: ast.AST, env: dict[str, str]) -> str:
        """``emit``, made exact (a value of a kind ``exact`` keeps as it is is not given to it)."""
        return self.converted(node, env, "_SETTLED")

    def comparable(self, node: ast.AST, env: dict[str, str]) -> str:
        """``emit``, made exact unless it is a number: a whole number or a decimal compares (and hashes) as its
        exact value does, and an operator makes it exact itself (``_BinOp``)."""
        return self.converted(node, env, "_COMPARABLE")

    def converted(self, node: ast.AST, env: dict[str, str], kept: str) -> str:
        key = self.key(node, env)
        if isinstance(node, ast.Name) and node.id not in env:
            key = node.id  # a name of the scope: its value is made exact once
        held = self.emit(node, env)
        if held not in self.program.raw:
            return held
        made = f"{held} if {held}.__class__ in {kept} else _exact({held})"
        raw = kept == "_COMPARABLE"  # a number in it may still be as the application has it
        if key is None:
            return self.assign(made, raw=raw)
        return self.program.memoized((kept, key), lambda: self.assign(made, raw=raw))

    def write(self, node: ast.AST, env: dict[str, str]) -> str:
        method: Callable[[Any, dict[str, str]], str] | None = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"{type(node).__name__} is not allowed")
        return method(node, env)

    def strict(self, template: str, args: list[str]) -> str:
        """``template`` applied to ``args``, MISSING when one of them is missing (or None) or it fails."""
        code, result = self.program, self.program.local()
        checks = [f"{a} is MISSING or {a} is None" for a in args if a not in code.safe]
        if checks:
            code.line(f"if {' or '.join(checks)}:")
            code.line(f"    {result} = MISSING")
            with code.block("else:"):
                self.attempt(result, template.format(*args))
        else:
            self.attempt(result, template.format(*args))
        return result

    def compare(self, template: str, left: str, right: str) -> str:
        """``strict`` for a comparison, with ``Program.shortcut`` for two fractions."""
        code = self.program
        shortcut = code.shortcut(left, template.replace("{}", "").strip(), right)
        if shortcut is None:
            return self.strict(template, [left, right])
        result, (both, fast, general) = code.local(), shortcut
        checks = [f"{side} is MISSING or {side} is None" for side in (left, right) if side not in code.safe]
        code.line(f"if {' or '.join(checks)}:")  # a shortcut has a side that is no constant
        code.line(f"    {result} = MISSING")
        code.line(f"elif {both}:")
        code.line(f"    {result} = {fast}")
        with code.block("else:"):
            self.attempt(result, general)
        return result

    def attempt(self, result: str, expression: str) -> None:
        code = self.program
        code.line("try:")
        code.line(f"    {result} = {expression}")
        code.line("except _ERRORS:")
        code.line(f"    {result} = MISSING")

    def assign(self, expression: str, safe: bool = False, raw: bool = False) -> str:
        result = self.program.local()
        self.program.line(f"{result} = {expression}")
        if safe:
            self.program.safe.add(result)
        if raw:
            self.program.raw.add(result)
        return result

    def _Constant(self, node: ast.Constant, env: dict[str, str]) -> str:
        value: object = node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            text = ast.get_source_segment(self.source, node) or repr(value)
            value = Fraction(text.replace("_", ""))
        elif isinstance(value, str):
            value = exact(value)
        return self.program.constant(value)

    def _Name(self, node: ast.Name, env: dict[str, str]) -> str:
        return env[node.id] if node.id in env else self.program.scope_name(node.id)

    def _Attribute(self, node: ast.Attribute, env: dict[str, str]) -> str:
        if node.attr.startswith("_"):
            raise self.fail(node, f"attribute {node.attr!r} is not allowed")
        base, attr = self.emit(node.value, env), repr(node.attr)
        return self.assign(f"{base}.get({attr}, MISSING) if {base}.__class__ is dict else _member({base}, {attr})",
                           raw=base in self.program.raw)

    def _Subscript(self, node: ast.Subscript, env: dict[str, str]) -> str:
        base = self.emit(node.value, env)
        key = self.value(node.slice, env)
        return self.assign(f"_member({base}, {key})", raw=base in self.program.raw)

    def _List(self, node: ast.List | ast.Tuple, env: dict[str, str]) -> str:
        items = [self.value(e, env) for e in node.elts]
        return self.assign(f"[{', '.join(items)}]", safe=True)

    _Tuple = _List

    def _Dict(self, node: ast.Dict, env: dict[str, str]) -> str:
        result = self.assign("{}", safe=True)
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                raise self.fail(node, "`**` is not allowed")
            key = self.value(k, env)
            value = self.value(v, env)
            self.program.line(f"{result}[{key}] = {value}")
        return result

    def _UnaryOp(self, node: ast.UnaryOp, env: dict[str, str]) -> str:
        if isinstance(node.op, ast.Not):  # only its truth is asked: the value as it is will do
            operand = self.emit(node.operand, env)
            return self.assign(f"MISSING if {self.program.is_missing(operand)} else not {operand}")
        operand = self.value(node.operand, env)
        if isinstance(node.op, ast.USub):
            return self.strict("-{}", [operand])
        raise self.fail(node, "operator is not allowed")

    def _BinOp(self, node: ast.BinOp, env: dict[str, str]) -> str:
        """``a ⊕ b`` of the exact values; two numbers (whole, decimal or fraction) by their integer ratios, which
        is what ``Fraction`` computes, without making fractions of them first."""
        template = _BINARY.get(type(node.op))
        if template is None:
            raise self.fail(node, "operator is not allowed")
        code = self.program
        sides = (self.comparable(node.left, env), self.comparable(node.right, env))
        result, general = code.local(), template.format(*(code.exact(side) for side in sides))
        ratios = [_ratio(code.objects.get(side)) for side in sides]
        checks = [f"{side} is MISSING or {side} is None" for side in sides if side not in code.safe]
        if checks:
            code.line(f"if {' or '.join(checks)}:")
            code.line(f"    {result} = MISSING")
        if all(ratios) or any(side in code.safe and ratio is None for side, ratio in zip(sides, ratios, strict=True)):
            with code.block("else:") if checks else nullcontext():  # constants only, or one that is no number
                self.attempt(result, general)
            return result
        kinds = " and ".join(f"{side}.__class__ in _RATIONAL" if side in code.raw else f"{side}.__class__ is _Fraction"
                             for side, ratio in zip(sides, ratios, strict=True) if ratio is None)
        with code.block(f"{'elif' if checks else 'if'} {kinds}:"):
            parts: list[str] = []
            for side, ratio in zip(sides, ratios, strict=True):
                if ratio is None:
                    ratio = (code.local("n"), code.local("d"))
                    code.line(f"{ratio[0]}, {ratio[1]} = {side}.as_integer_ratio()")
                parts += ratio
            an, ad, bn, bd = parts
            self.attempt(result, _ARITHMETIC[type(node.op)].format(an=an, ad=ad, bn=bn, bd=bd))
        with code.block("else:"):
            self.attempt(result, general)
        return result

    def _BoolOp(self, node: ast.BoolOp, env: dict[str, str]) -> str:
        """Three-valued: the first part that settles it (False for ``and``, True for ``or``) decides; else MISSING
        if some part was missing. The parts after the deciding one are not evaluated."""
        code = self.program
        decisive = not isinstance(node.op, ast.And)
        settled, missing = code.local("d"), code.local("m")
        code.line(f"{settled} = {missing} = False")
        for number, part in enumerate(node.values):
            with code.block(f"if not {settled}:") if number else nullcontext():
                value = self.emit(part, env)  # only its truth is asked
                code.line(f"if {code.is_missing(value)}:")
                code.line(f"    {missing} = True")
                code.line(f"elif {'' if decisive else 'not '}{value}:")
                code.line(f"    {settled} = True")
        return self.assign(f"{decisive} if {settled} else MISSING if {missing} else {not decisive}")

    def _Compare(self, node: ast.Compare, env: dict[str, str]) -> str:
        templates = [_COMPARE.get(type(o)) for o in node.ops]
        if None in templates:
            raise self.fail(node, "operator is not allowed")
        operands = [self.comparable(node.left, env)] + [self.comparable(c, env) for c in node.comparators]
        results = [self.compare(cast(str, template), a, b)
                   for template, a, b in zip(templates, operands, operands[1:], strict=False)]
        if len(results) == 1:
            return results[0]  # a comparison is True, False or MISSING
        missing = " or ".join(f"{r} is MISSING" for r in results)
        return self.assign(f"MISSING if {missing} else bool({' and '.join(results)})")

    def _IfExp(self, node: ast.IfExp, env: dict[str, str]) -> str:
        code = self.program
        test, result = self.emit(node.test, env), code.local()
        with code.block(f"if {test}:"):
            body = self.emit(node.body, env)
            code.line(f"{result} = {body}")
        with code.block("else:"):
            orelse = self.emit(node.orelse, env)
            code.line(f"{result} = {orelse}")
        if body in code.raw or orelse in code.raw:
            code.raw.add(result)
        return result

    def _Call(self, node: ast.Call, env: dict[str, str]) -> str:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise self.fail(node, "only calls of " + ", ".join(sorted(FUNCTIONS)) + " are allowed")
        name = node.func.id
        function = self.program.constant(FUNCTIONS[name])
        args = [self.value(a, env) for a in node.args]
        if name in _TOLERATES_MISSING:
            return self.assign(f"{function}({', '.join(args)})")
        return self.strict(function + "(" + ", ".join("{}" for _ in args) + ")", args)

    def _GeneratorExp(self, node: ast.GeneratorExp | ast.ListComp, env: dict[str, str]) -> str:
        loop = node.generators[0]  # a generator expression has at least one `for`
        if len(node.generators) != 1 or not isinstance(loop.target, ast.Name):
            raise self.fail(node, "only one simple `for NAME in LIST` is allowed")
        code = self.program
        items = self.emit(loop.iter, env)  # a list as it is: its items are made exact where they are used
        inner = {**env, loop.target.id: code.local("i")}
        code.bind(inner[loop.target.id], items)
        result = code.local()
        code.line(f"if not isinstance({items}, list):")
        code.line(f"    {result} = MISSING")
        with code.block("else:"):
            code.line(f"{result} = []")
            with code.block(f"for {inner[loop.target.id]} in {items}:"):
                for condition in loop.ifs:
                    code.line(f"if not {self.emit(condition, inner)}:")
                    code.line("    continue")
                code.line(f"{result}.append({self.value(node.elt, inner)})")
        return result

    _ListComp = _GeneratorExp


def _whole(ratio: tuple[str, str] | None) -> str | None:
    """A constant fraction's numerator when it is a whole number."""
    return ratio[0] if ratio and ratio[1] == "1" else None


def _ratio(value: Any) -> tuple[str, str] | None:
    """A constant fraction's numerator and denominator, written out."""
    return (repr(value.numerator), repr(value.denominator)) if type(value) is Fraction else None


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Compiled:
    """Parse ``source`` once; the result maps a scope (field name → value) to the expression's value."""

    def write(program: Program) -> None:
        program.line(f"return {program.expression(source)}")

    return cast(Compiled, compile_program("expression", write))
