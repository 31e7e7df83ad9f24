"""The rule expression language: exact, total on missing data, closed to anything but its whitelist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from toolkit.errors import RuleError
from toolkit.expression import FUNCTIONS, MISSING, compile_expression, exact
from toolkit.rules import load_rules


def ev(source: str, **scope: object) -> object:
    return compile_expression(source)(exact(scope))


def test_decimal_ratio_is_exact_where_float_is_not() -> None:
    assert 50.41 / 1008.2 < 0.05  # the float trap the rules must not fall into
    assert ev("rd / sales >= 0.05", rd=Decimal("50.41"), sales=Decimal("1008.2")) is True
    assert ev("rd / sales >= 0.05", rd=50.41, sales=1008.2) is True  # floats are read as the decimals written


def test_one_third_is_exact() -> None:
    assert ev("salary <= operating / 3", salary=Decimal("10"), operating=Decimal("30")) is True
    assert ev("salary <= operating / 3", salary=Decimal("16.67"), operating=Decimal("50")) is False
    assert ev("x / 3", x=1) == Fraction(1, 3)


def test_missing_fields_make_the_expression_missing() -> None:
    assert ev("staff.total >= 15", staff={}) is MISSING
    assert ev("a / b", a=1, b=0) is MISSING
    assert ev("months_between(d, e)", d="2024-02-30", e="2024-03-01") is MISSING
    assert ev("blank(x.y)", x={}) is True
    assert ev("x.y > 1 and z", x={}, z=True) is MISSING
    assert ev("x.y > 1 and z", x={}, z=False) is False
    assert ev("x.y > 1 or z", x={}, z=True) is True
    assert ev("not x.y", x={}) is MISSING


def test_dates_and_months() -> None:
    assert ev("months_between(a, b)", a="2016-09-21", b="2018-09-20") == 23
    assert ev("months_between(a, b)", a="2016-09-20", b="2018-09-20") == 24
    assert ev("add_months(a, 3)", a="2024-11-30") == dt.date(2025, 2, 28)
    assert ev("date(year(a) + 1, 1, 31)", a="2024-06-01") == dt.date(2025, 1, 31)
    assert ev("add_days(add_years(a, 3), -1)", a="2024-11-08") == dt.date(2027, 11, 7)
    assert ev("add_working_days(a, 10)", a="2024-11-08") == dt.date(2024, 11, 22)  # a Friday: two weeks on


def test_working_days_know_the_holidays_and_the_weekend_days_worked() -> None:
    # 2016 National Day: 1–7 October off, Saturday 8 and Sunday 9 October worked (调休)
    assert ev("add_working_days(a, 10)", a="2016-09-27") == dt.date(2016, 10, 14)  # 28, 29, 30 Sep, 8–14 Oct
    assert ev("add_working_days(a, 3)", a="2016-09-27") == dt.date(2016, 9, 30)
    assert ev("add_working_days(a, 4)", a="2016-09-27") == dt.date(2016, 10, 8)  # a Saturday, worked
    assert ev("add_working_days(a, 10)", a="2016-10-07") == dt.date(2016, 10, 19)  # from the 调休 Saturday on
    assert ev("add_working_days(a, 1)", a="2016-10-09") == dt.date(2016, 10, 10)
    assert ev("add_working_days(a, 0)", a="2016-10-01") == dt.date(2016, 10, 1)
    assert ev("holidays_known(a, b)", a="2016-09-28", b="2016-10-14") is True


def test_working_days_of_a_year_the_calendar_does_not_have_are_monday_to_friday() -> None:
    assert ev("holidays_known(a)", a="2099-06-01") is False
    assert ev("holidays_known(a)", a="2003-10-01") is False  # the calendar starts in 2004
    assert ev("add_working_days(a, 10)", a="2099-05-31") == dt.date(2099, 6, 12)  # Mon 1 June: two weeks
    assert ev("add_working_days(a, 5)", a="2003-09-30") == dt.date(2003, 10, 7)  # no National Day known
    last = max(y for y in range(2004, 2100) if ev("holidays_known(d)", d=f"{y}-01-01"))
    assert last >= 2026  # chinese-calendar>=1.11
    # one unknown year among those counted over is enough to say the count is not exact
    assert ev("holidays_known(a, b)", a=f"{last}-12-28", b=f"{last + 1}-01-08") is False
    assert ev("holidays_known(a, b)", a=f"{last - 1}-12-28", b=f"{last}-01-08") is True


def test_working_day_functions_are_total() -> None:
    assert ev("add_working_days(a, 10)", a="2016-02-30") is MISSING  # not a date: no traceback
    assert ev("add_working_days(a, 10)", a=None) is MISSING
    assert ev("add_working_days(x.y, 10)", x={}) is MISSING
    assert ev("holidays_known(a, x.y)", a="2016-01-04", x={}) is MISSING
    assert ev("holidays_known()") is MISSING
    assert ev("holidays_known(a)", a="2016") is MISSING


def test_generators_and_tables() -> None:
    items = [{"mode": "受让", "years": 1}, {"mode": "独占许可", "years": 5}, {"mode": "独占许可", "years": 4}]
    assert ev("count(1 for i in ip if i.mode != '独占许可' or i.years >= 5)", ip=items) == 2
    assert ev("sum(x for x in years)", years=[Decimal("1.1"), Decimal("2.2")]) == Fraction(33, 10)
    assert ev("tables.office[cat]", tables={"office": {"a": "综合处"}}, cat="a") == "综合处"
    assert ev("tables.office[cat]", tables={"office": {"a": "综合处"}}, cat=["a"]) is MISSING


@pytest.mark.parametrize("source", [
    "__import__('os').system('true')", "open('/etc/passwd')", "(lambda: 1)()", "x.__class__",
    "[x for x in y for z in x]", "a ** b", "eval('1')", "f'{x}'",
])
def test_anything_outside_the_whitelist_is_refused(source: str) -> None:
    with pytest.raises(RuleError):
        compile_expression(source)


@pytest.mark.parametrize(("body", "message"), [
    ('[[rule]]\nid="a"\nclause="一"\nmessage="m"\n', "give either `test` or all of"),
    ('[[rule]]\nid="a"\nclause="一"\nmessage="{value}"\ntest="1 > 0"\n', "message uses ['value']"),
    ('[[rule]]\nid="a"\nclause="一"\nmessage="m"\ntest="1 >"\n', "syntax error"),
    ('[[rule]]\nid="a"\nclause="一"\nmessage="m"\ntest="1"\nseverity="fatal"\n', "severity must be"),
    ('[[rule]]\nid="a"\nclause="一"\nmessage="m"\nvalue="1"\nop="~"\nbound="1"\n', "op must be"),
    ('[[rule]]\nid="a"\nclause="一"\nmessage="m"\ntest="1"\n[[rule]]\nid="a"\nclause="一"\nmessage="m"\ntest="1"\n',
     "duplicate rule ids a"),
    ('[[rule]]\nid="a"\nmessage="m"\ntest="1"\n', "missing keys ['clause']"),
])
def test_malformed_rule_files_name_file_and_rule(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "x.rules.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RuleError, match=None) as info:
        load_rules(path)
    assert message in str(info.value) and "x.rules.toml" in str(info.value)


# --- the compiled code: values as the application has them, numbers by their ratios, parts computed once ----------

AS_WRITTEN = {  # a scope as an application has it after reading: decimals, whole numbers, ISO dates as text
    "a": Decimal("2.50"), "b": 3, "c": Decimal("-0.1"), "big": Decimal("1E+40"), "zero": 0, "yes": True,
    "d": "2016-04-18", "e": "2016-02-30", "text": "abc", "blank": " ", "none": None, "f": 2.5,
    "xs": [Decimal("1.1"), 2, "2016-01-01"], "years": [2014, 2015], "x": {"y": Decimal("0.5"), "z": None},
}
SOURCES = [
    "a + b", "a - c", "a * c", "a / b", "b / a", "big / 3 + 1", "a / zero", "c * -1", "-a + b", "yes + yes",
    "yes + a", "a + f", "f * 2", "a + text", "a + d", "a == 2.5", "a == 2.50", "0.1 == -c", "c < 0 < a <= b",
    "a > big", "b >= 3", "b == 3.0", "a != b", "yes == 1", "a in xs", "1.1 in xs", "2 in xs", "d in xs",
    "'2016-01-01' in xs", "years == [2014, 2015]", "2014 in years", "d < '2016-04-19'", "d == e", "e > d",
    "a < text", "a == text", "a < none", "x.y * 2 == 1", "x.z + 1", "x.y / x.y", "[a, b]", "{a: b}[2.5]",
    "sum(xs)", "sum(x for x in years)", "min(a, b)", "max(years)", "len(xs) + a", "count(1 for y in years if y > 2014)",
    "a if yes else b", "a if none else d", "not a", "a and text", "none or a", "blank(blank) and a > 1",
    "add_days(d, b)", "months_between(d, add_months(d, b))", "year(d) - b", "date(year(d), 1, 1) < d",
]


@pytest.mark.parametrize("source", SOURCES)
def test_a_scope_as_the_application_has_it_gives_what_its_exact_form_gives(source: str) -> None:
    """The code makes a value exact where it uses it: the values, and their kinds, are those of a scope made exact
    first (``exact`` is idempotent, so both ways are open to a caller)."""
    compiled = compile_expression(source)
    assert repr(compiled(AS_WRITTEN)) == repr(compiled(exact(AS_WRITTEN)))


def test_arithmetic_of_decimals_is_exact_and_gives_fractions() -> None:
    assert ev("a / b", a=Decimal("1E+40"), b=3) == Fraction(10**40, 3)
    assert type(compile_expression("a / b")({"a": Decimal("1.1"), "b": 2})) is Fraction
    assert compile_expression("a + b")({"a": Decimal("0.1"), "b": Decimal("0.2")}) == Fraction(3, 10)
    assert compile_expression("a - b")({"a": 10**30 + 1, "b": Decimal("1E+30")}) == 1
    ratios = {"a": Decimal("2.5"), "b": 3}
    assert [compile_expression(f"a {op} b")(ratios) for op in "+-*/"] == [Fraction(11, 2), Fraction(-1, 2),
                                                                         Fraction(15, 2), Fraction(5, 6)]
    assert [compile_expression(f"0.5 {op} a")(ratios) for op in "+-*/"] == [3, -2, Fraction(5, 4), Fraction(1, 5)]
    assert [compile_expression(f"a {op} 4")(ratios) for op in "+-*/"] == [Fraction(13, 2), Fraction(-3, 2), 10,
                                                                         Fraction(5, 8)]
    assert compile_expression("yes + yes")({"yes": True}) == 2  # Python's bool arithmetic, as before
    assert compile_expression("a / b")({"a": 1, "b": Decimal("0.00")}) is MISSING
    assert compile_expression("a == 0.1")({"a": Decimal("0.1")}) is True
    assert compile_expression("a < 1/3")({"a": Decimal("0.3333333333333333333333333333333")}) is True


def test_a_part_written_more_than_once_is_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    year = FUNCTIONS["year"]
    monkeypatch.setitem(FUNCTIONS, "year", lambda d: calls.append(d) or year(d))
    compile_expression.cache_clear()  # compiled again, with the function that counts
    try:
        source = "[y for y in [year(d) - 2, year(d) - 1] if y >= year(e)] == [year(d) - 1]"
        assert compile_expression(source)({"d": "2016-04-18", "e": "2015-03-01"}) is True
    finally:
        compile_expression.cache_clear()
    assert len(calls) == 2  # year(d) and year(e), each once, though year(e) is asked for in a loop
