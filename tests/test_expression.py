"""The rule expression language: exact, total on missing data, closed to anything but its whitelist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from toolkit.errors import RuleError
from toolkit.expression import MISSING, compile_expression, exact
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
