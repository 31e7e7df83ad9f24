"""Identifiers printed on Chinese forms: 统一社会信用代码, 公民身份号码, telephone numbers.

Each check raises ``ValueError`` with a Chinese reason, so that it can serve as a JSON Schema format
checker and its reason reaches the user unchanged.
"""

from __future__ import annotations

import re
import unicodedata

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


def phone_digits(number: str) -> str:
    """A telephone number as offices write it, reduced to its digits and one hyphen for an extension:
    ``(022)2314 2050转8001`` → ``022-23142050-8001``, ``+86 138 0013 8000`` → ``13800138000``."""
    text = unicodedata.normalize("NFKC", number).strip()
    extension = re.search(r"\s*(?:转|分机|ext\.?|x)\s*(\d{1,6})$", text, re.IGNORECASE)
    if extension:
        text = text[: extension.start()]
    text = re.sub(r"^(\+|00)86[\s\-]*", "", text)
    area = re.match(r"^[(（]\s*(0?\d{2,3})\s*[)）]", text)
    if area:
        text = ("0" + area[1].lstrip("0")) + "-" + text[area.end():]
    elif re.match(r"^[1-9]\d{1,2}[\s\-]", text) and not text.startswith("1"):  # +86 22-… dropped the 0
        text = "0" + text
    hyphened = re.match(r"^(0\d{2,3})[\s\-]?([1-9]\d{6,7})-(\d{1,6})$", text.strip())  # 010-12345678-8001
    if hyphened and not extension:
        return f"{hyphened[1]}-{hyphened[2]}-{hyphened[3]}"
    digits = re.sub(r"[\s\-]", "", text)
    landline = re.match(r"^(0(?:10|2\d|[3-9]\d\d))(\d{7,8})$", digits)
    main = f"{landline[1]}-{landline[2]}" if landline else digits
    return f"{main}-{extension[1]}" if extension else main


def check_phone(number: object) -> bool:
    """A mainland mobile number (11 digits) or a landline with its area code, as offices write them:
    ``022-23142050``, ``(022)23142050``, ``+86 138 0013 8000``, ``022-23142050转8001``."""
    if not isinstance(number, str):
        return True
    compact = phone_digits(number)
    if not (_MOBILE.match(compact) or _LANDLINE.match(compact)):
        raise ValueError("电话号码格式不正确：应为11位手机号或带区号的固定电话（如 022-23142050、(022)23142050、"
                         "022-23142050转8001）")
    return True
