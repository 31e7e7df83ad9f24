"""统一社会信用代码, 公民身份号码 and telephone numbers."""

from __future__ import annotations

import pytest
from stdnum.cn import uscc as stdnum_uscc

from toolkit.identifiers import check_phone, check_resident_id, check_uscc, uscc_check_character


@pytest.mark.parametrize("code", [
    "91120104MA05K7X10W",   # a company in 南开区
    "12120000401359X70N",   # 事业单位
    "N2330282MC0001230K",   # starts with a letter (N: 农业农村登记), which python-stdnum refuses
    "52330282MJ9123456R",   # 民办非企业单位
])
def test_valid_codes(code: str) -> None:
    assert check_uscc(code)


def test_stdnum_gap_is_real() -> None:
    """The reason for our own check: python-stdnum rejects a valid code that starts with a letter."""
    assert not stdnum_uscc.is_valid("N2330282MC0001230K")


@pytest.mark.parametrize(("code", "reason"), [
    ("91120104MA05K7X10A", "第18位应为 W，现为 A"),
    ("91120104MA05K7X10", "应为18位，现为17位"),
    ("91120104MA05K7XI0W", "不允许的字符"),
    ("9112O104MA05K7X10W", "不允许的字符"),
])
def test_invalid_codes(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_uscc(code)


def test_check_character_matches_the_standard_example() -> None:
    # a well-known published code: 91350100M000100Y43 (GB 32100 worked example)
    assert uscc_check_character("91350100M000100Y4") == "3"


def test_resident_id() -> None:
    assert check_resident_id("11010519491231002X")
    with pytest.raises(ValueError, match="公民身份号码无效"):
        check_resident_id("110105194912310021")


@pytest.mark.parametrize("number", ["13820045678", "022-27401234", "02227401234", "0592-5123456", "010-12345678-8001"])
def test_phone_numbers(number: str) -> None:
    assert check_phone(number)


@pytest.mark.parametrize("number", ["12345", "23820045678", "022-0123456", "电话"])
def test_bad_phone_numbers(number: str) -> None:
    with pytest.raises(ValueError, match="电话号码格式不正确"):
        check_phone(number)
