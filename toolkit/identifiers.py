"""Identifiers printed on Chinese forms: 统一社会信用代码, 公民身份号码, telephone numbers.

Each check raises ``ValueError`` with a Chinese reason, so that it can serve as a JSON Schema format
checker and its reason reaches the user unchanged.
"""

from __future__ import annotations

import re

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

# GB 32100-2015: the code's alphabet (no I, O, S, V, Z) and the weights of its first 17 characters.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(rf"^[{USCC_ALPHABET}]{{2}}\d{{6}}[{USCC_ALPHABET}]{{10}}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?[1-9]\d{6,7}(-\d{1,6})?$")


def uscc_check_character(first17: str) -> str:
    """The 18th character of a 统一社会信用代码 whose first 17 characters are given."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(code: object) -> bool:
    """Validate a 统一社会信用代码, including those that start with a letter (N, A, Y …).

    python-stdnum's ``cn.uscc`` refuses such codes, so the check of GB 32100-2015 is done here.
    """
    if not isinstance(code, str):
        return True  # the schema's type check reports it
    if len(code) != 18:
        raise ValueError(f"统一社会信用代码应为18位，现为{len(code)}位")
    if not _USCC_SHAPE.match(code):
        raise ValueError("统一社会信用代码含有不允许的字符（第3–8位为数字，其余为数字或除I、O、S、V、Z外的大写字母）")
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise ValueError(f"统一社会信用代码校验位错误：第18位应为 {expected}，现为 {code[17]}")
    return True


def check_resident_id(number: object) -> bool:
    """Validate a 公民身份号码 (GB 11643-1999, ISO 7064 MOD 11-2) with python-stdnum."""
    if not isinstance(number, str):
        return True
    try:
        ric.validate(number)
    except ValidationError:
        raise ValueError("公民身份号码无效（位数、出生日期、地区码或校验位不正确）") from None
    return True


def check_phone(number: object) -> bool:
    """A mainland mobile number (11 digits) or a landline with its area code (022-23142050)."""
    if not isinstance(number, str):
        return True
    compact = number.replace(" ", "")
    if not (_MOBILE.match(compact) or _LANDLINE.match(compact)):
        raise ValueError("电话号码格式不正确：应为11位手机号或带区号的固定电话（如 022-23142050）")
    return True
