"""Numbers written in messages and documents (``values.decimal_text``): exactly when they have at most ``places``
decimals, else rounded half to even — held to Python's ``decimal`` module doing the same at high precision."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from toolkit.values import decimal_text


def _by_decimal(value: Fraction, places: int) -> str:
    """The same text through ``decimal`` (how the toolkit wrote numbers before it did it in integers)."""
    with localcontext() as context:
        context.prec = len(str(abs(value.numerator // value.denominator))) + places + 60
        quotient = Decimal(value.numerator) / Decimal(value.denominator)
        if (value * 10**places).denominator != 1:
            quotient = quotient.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        text = f"{quotient:f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) or "0"


@given(st.fractions(max_denominator=10**9), st.sampled_from([0, 1, 2, 4, 8]))
def test_a_fraction_is_written_as_decimal_writes_it(value: Fraction, places: int) -> None:
    assert decimal_text(value, places) == _by_decimal(value, places)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6), st.integers(-10**30, 10**30))
def test_decimals_and_whole_numbers_are_written_exactly(number: Decimal, whole: int) -> None:
    assert decimal_text(number, 6) == _by_decimal(Fraction(number), 6)
    assert decimal_text(whole) == str(whole)


def test_ties_round_to_even_and_examples() -> None:
    assert [decimal_text(Fraction(n, 1000)) for n in (5, 15, 25, 125, -125)] == ["0", "0.02", "0.02", "0.12", "-0.12"]
    assert decimal_text(Fraction(1, 3)) == "0.33" and decimal_text(Decimal("1008.20")) == "1008.2"
    assert decimal_text(Decimal("50.41") / Decimal("1008.2") * 100) == "5"


def test_a_text_of_a_number_is_written_and_what_is_no_number_is_a_type_error() -> None:
    """As ``Fraction`` reads its argument: the render's filters fall back to the text on a ``TypeError``."""
    import pytest

    assert decimal_text("12.50") == "12.5" and decimal_text(True) == "1" and decimal_text(2.5) == "2.5"
    for wrong in ([], {}, None, object()):
        with pytest.raises(TypeError):
            decimal_text(wrong)  # type: ignore[arg-type]
