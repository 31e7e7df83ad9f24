"""How numbers, ratios, money and dates are written in Chinese paperwork (and in rule messages)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import Any

Number = int | Decimal | Fraction


def _terminates(value: Fraction, places: int) -> bool:
    return (value * 10**places).denominator == 1


def decimal_text(value: Number, places: int = 2) -> str:
    """``value`` written exactly when it has at most ``places`` decimals, else rounded to ``places``.

    >>> decimal_text(Fraction(1, 20)), decimal_text(Fraction(1, 3)), decimal_text(Decimal("1008.20"))
    ('0.05', '0.33', '1008.2')
    """
    fraction = Fraction(value)
    with localcontext() as context:  # enough digits for any magnitude: 1e30 万元 stays exact
        context.prec = len(str(abs(fraction.numerator // fraction.denominator))) + places + 30
        quotient = Decimal(fraction.numerator) / Decimal(fraction.denominator)
        if not _terminates(fraction, places):
            quotient = quotient.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        text = f"{quotient:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def percent_text(value: Number, places: int = 2) -> str:
    """A ratio as a percentage: ``Fraction(499, 10000)`` → ``4.99%``."""
    return decimal_text(Fraction(value) * 100, places) + "%"


def chinese_date(value: dt.date | str) -> str:
    """``2024-11-08`` → ``2024年11月8日`` (full year, no leading zeros, as GB/T 9704 asks)."""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.year}年{day.month}月{day.day}日"


def figure(value: Any, unit: str = "", places: int = 2) -> str:
    """``value`` for a message, in ``unit``: ``%`` (a ratio), ``date``, or a unit word such as ``万元``."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return chinese_date(value)
    if isinstance(value, (int, Decimal, Fraction)):
        if unit == "%":
            return percent_text(value, places)
        return decimal_text(value, places) + (unit if unit != "date" else "")
    if isinstance(value, list):
        return "、".join(figure(v, unit, places) for v in value) or "无"
    if value is None:
        return "（空）"
    return str(value)
