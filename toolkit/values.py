"""How a value is written on Chinese paperwork, and read back: one vocabulary for rendering, rule messages,
extraction and spreadsheet cells.

Written: numbers exactly (``1008.2``), ratios as percentages (``4.99%``), money in 万元 and in 大写 of 元
(``伍拾万元整``), dates as ``2024年11月8日``, yes/no as ``☑是　☐否``, choices as ``☑企业类　☐事业类``, lists as
``2014、2015`` or one numbered line per text. Read back: ``read_printed`` (a value as printed on a form, from a PDF)
and ``read_cell`` (a spreadsheet cell) turn such text into the field's JSON value by its schema node.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

Number = int | Decimal | Fraction


def decimal_text(value: Number, places: int = 2) -> str:
    """``value`` written exactly when it has at most ``places`` decimals, else rounded (half to even) to ``places``.

    >>> decimal_text(Fraction(1, 20)), decimal_text(Fraction(1, 3)), decimal_text(Decimal("1008.20"))
    ('0.05', '0.33', '1008.2')
    """
    kind = value.__class__
    if kind is int:
        return str(value)
    if kind is Decimal or kind is Fraction:
        numerator, denominator = value.as_integer_ratio()
    else:  # a text of a number, a float …: as Fraction reads it (TypeError for what is no number)
        fraction = Fraction(value)
        numerator, denominator = fraction.numerator, fraction.denominator
    if denominator == 1:
        return str(numerator)
    scale = 10**places
    quotient, remainder = divmod(abs(numerator) * scale, denominator)
    if remainder * 2 > denominator or remainder * 2 == denominator and quotient % 2:
        quotient += 1  # rounded half to even; exact when there is no remainder
    whole, part = divmod(quotient, scale)
    text = f"{'-' if numerator < 0 else ''}{whole}.{part:0{places}d}" if places > 0 else f"{quotient}"
    return text.rstrip("0").rstrip(".") if places > 0 else ("-" if numerator < 0 else "") + text


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


# --- writing on a document ----------------------------------------------------------------------------

YES, NO, TICKED, UNTICKED = "是", "否", "☑", "☐"
YES_WORDS = frozenset({"是", "true", "1", "☑", "yes", "y"})  # what a sheet's cell may say for yes …
NO_WORDS = frozenset({"否", "false", "0", "☐", "no", "n"})  # … and for no
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def chinese_numeral(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十, 100 → 一百 (the numbers of an outline's headings, 一、 二、 …), by cn2an."""
    import cn2an

    return str(cn2an.an2cn(n, "low"))


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids, with Windows line ends made plain."""
    return _ILLEGAL_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def no_number(value: Any) -> bool:
    """NaN or an infinity, as a decimal or a float (a library caller's; JSON has none): no number a form takes."""
    return isinstance(value, Decimal) and not value.is_finite() or isinstance(value, float) and not math.isfinite(value)


def number_text(value: Any) -> str:
    """A number as printed on a form: exact, up to four decimals (a float as the decimal it was typed as)."""
    if no_number(value):
        return str(value)  # NaN, ±Infinity (a draft of a library caller's data): printed as they are
    if isinstance(value, float):
        value = Decimal(repr(value))
    return decimal_text(value, places=4)


def money_text(value: Any) -> str:
    """An amount in 万元: ``812.5`` → ``812.5万元``."""
    return number_text(value) + "万元"


def daxie(amount_wan: Any) -> str:
    """An amount in 万元 in 大写 of 元, as on a payment notice: ``50`` → ``伍拾万元整``."""
    import cn2an  # a tenth of a second to import: only where a 大写 amount is written

    yuan = Decimal(str(amount_wan)) * 10000
    return str(cn2an.an2cn(f"{yuan.quantize(Decimal('0.01'))}", "rmb"))


def yesno(value: Any) -> str:
    """Both boxes, the answer ticked: ``☑是　☐否``; neither ticked when there is no answer."""
    return options(value, (True, False), {True: YES, False: NO})


def options(value: Any, choices: tuple[Any, ...], words: dict[Any, str] | None = None) -> str:
    """Every choice with a box, the chosen one(s) ticked: ``☑企业类　☐事业类``."""
    chosen = list(value) if isinstance(value, (list, tuple)) else [value]
    ticked = [any(_same(c, choice) for c in chosen) for choice in choices]
    return "　".join((TICKED if t else UNTICKED) + (words or {}).get(choice, str(choice))
                    for choice, t in zip(choices, ticked, strict=True))


def _same(value: Any, choice: Any) -> bool:
    """``value`` is ``choice`` (yes is only ``True``, never ``1``; a choice never matches a bool)."""
    if isinstance(choice, bool) or isinstance(value, bool):
        return value is choice
    return bool(value == choice)


def join_list(values: Any) -> str:
    """A list in one cell: numbers as ``2014、2015``, texts one per line as ``1．…`` (texts may hold a 、)."""
    if not isinstance(values, (list, tuple)) or not values:
        return "无"
    if all(isinstance(v, (int, Decimal, float)) and not isinstance(v, bool) for v in values):
        return "、".join(number_text(v) for v in values)
    return "\n".join(f"{i}．{clean_text(str(v))}" for i, v in enumerate(values, start=1))


# --- reading back ---------------------------------------------------------------------------------------

_CJK = r"\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ITEM_NUMBER = re.compile(r"(?:^|\n)\d+．")


def squeeze(text: str) -> str:
    """``text`` without any white space, full-width forms folded (NFKC): for comparing printed labels."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def tidy(text: str) -> str:
    """Drop the gaps a PDF shows between Chinese and Latin text or digits (``到 2021 年`` → ``到2021年``)."""
    return re.sub(rf"(?<=[{_CJK}])[ \t]+(?=[0-9A-Za-z%.])|(?<=[0-9A-Za-z%.])[ \t]+(?=[{_CJK}])", "", text)


def join_lines(text: str) -> str:
    """A cell's wrapped lines as the one text that was typed.

    A wrap inside Chinese text or inside one long Latin token (``91120104MA05K7X1⏎0W``) added nothing; a wrap
    between two Latin words took the place of a space."""
    lines = [line.strip() for line in text.split("\n")]
    result = lines[0] if lines else ""
    for previous, line in zip(lines, lines[1:], strict=False):
        if not line:
            continue
        one_token = " " not in previous and previous.isascii()
        latin_boundary = previous[-1:].isascii() and line[:1].isascii() and previous[-1:].isalnum()
        result += " " if latin_boundary and not one_token and not previous.endswith("-") else ""
        result += line
    return tidy(result)


_KNOWN_UNITS = ("万元", "亿元", "元", "人", "㎡", "平方米", "m2", "%", "分", "年", "个", "件", "家", "项", "个月", "日")
_SAME_UNIT = {"平方米": "m2", "㎡": "m2", "m²": "m2", "平米": "m2", "名": "人", "位": "人"}  # written either way
_UNIT_IN_TITLE = re.compile(r"[（(]([^（）()]+)[)）]\s*$")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
_WHITE = " \t\r\n\u3000\u00a0"
_DATE_TYPED = re.compile(r"^(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?$|^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (the 1900 date system, past its 1900-02-29 slip)
YES_TYPED = YES_WORDS | {"√", "✓", "✔", "有", "对"}
NO_TYPED = NO_WORDS | {"×", "✗", "✘", "没有", "错"}


def unit_of(node: dict[str, Any]) -> str:
    """The unit a number field is in, from its title: ``营业收入（万元）`` → ``万元``; empty when it says none."""
    title = str(node.get("title", ""))
    match = _UNIT_IN_TITLE.search(title)
    if match and match[1] in _KNOWN_UNITS:
        return match[1]
    return "万元" if "万元" in title else ""


def read_number(text: str, integer: bool, unit: str = "") -> Any:
    """``１，２３４.５万元`` → ``Decimal('1234.5')``; the text itself when it is no number. With the field's
    ``unit``, only that unit may follow the figure (``1008.2元`` is no figure in 万元); without, any known unit."""
    cleaned = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).replace(",", "").replace("，", "")
    for suffix in sorted((*_KNOWN_UNITS, *_SAME_UNIT), key=len, reverse=True):
        if cleaned.endswith(unicodedata.normalize("NFKC", suffix)):
            if unit and _unit_key(unit) != _unit_key(suffix):
                return text
            cleaned = cleaned[: -len(unicodedata.normalize("NFKC", suffix))]
            break
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    return int(value) if integer and value == int(value) else value


_CN_DIGIT = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"○": "0", "零": "0", "Ｏ": "0", "O": "0"}
_CN_DATE = re.compile(r"([〇○零ＯO一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月"
                      r"([一二三四五六七八九十]{1,4})日")


def _cn_small(text: str) -> str:
    """一 … 三十一 (a month or a day in Chinese numerals) → ``1`` … ``31``."""
    if "十" not in text:
        return "".join(_CN_DIGIT.get(c, c) for c in text)
    tens, _, ones = text.partition("十")
    return str(int(_CN_DIGIT.get(tens, "1") if tens else "1") * 10 + (int(_CN_DIGIT[ones]) if ones else 0))


def _arabic_date(text: str) -> str:
    """``二〇一七年二月二十四日`` → ``2017年2月24日`` (a date written in Chinese numerals, as on a seal's date)."""
    return _CN_DATE.sub(lambda m: "".join(_CN_DIGIT[c] for c in m[1]) + f"年{_cn_small(m[2])}月{_cn_small(m[3])}日",
                        text)


def _unit_key(unit: str) -> str:
    folded = unicodedata.normalize("NFKC", unit)
    return _SAME_UNIT.get(unit, _SAME_UNIT.get(folded, folded))


def read_date(text: str) -> str | None:
    """``2024年11月8日``, ``2024/11/8``, ``2024.11.08``, ``2024-11-8``, ``20241108``, ``二〇二四年十一月八日`` →
    ``2024-11-08``; None when the text holds no real date (a printed form's date may stand inside other text:
    ``2024年11月8日印发``)."""
    squeezed = _arabic_date(squeeze(text))
    match = _DATE_TYPED.match(squeezed) or _DATE.search(squeezed)
    if not match:
        return None
    year, month, day = (part for part in match.groups() if part is not None)
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def excel_date(serial: Any) -> str | None:
    """An Excel date serial number (``42430``) as an ISO date; None when it is no plausible one."""
    if isinstance(serial, bool) or not isinstance(serial, (int, Decimal)) or serial != int(serial):
        return None
    if not 1 <= int(serial) <= 2958465:  # 1900-01-01 … 9999-12-31
        return None
    return (_EXCEL_EPOCH + dt.timedelta(days=int(serial))).isoformat()


def trimmed(text: str) -> str:
    """``text`` without invisible characters and without white space (full-width included) at either end."""
    if text.isprintable():  # every invisible character is a format character (Cf), which is not printable
        return text.strip(_WHITE)
    return _INVISIBLE.sub("", text).strip(_WHITE)


def read_text(text: str, node: dict[str, Any]) -> Any:
    """A value typed as text, as the field's JSON value: the one reading of human input that validate, batch
    and extraction share. Dates in the ways people write them, numbers with separators, full-width digits and
    the field's unit, 是/否 and ticks, a choice written with other brackets, identifiers in capitals without
    spaces; other texts trimmed. A text that cannot be read is given back trimmed, for the schema to report."""
    kind, value = node.get("type"), trimmed(text)
    if kind == "boolean":
        word = unicodedata.normalize("NFKC", value).lower()
        return True if word in YES_TYPED else False if word in NO_TYPED else value
    if kind in ("number", "integer"):
        return read_number(value, kind == "integer", unit_of(node))
    if node.get("format") == "date":
        return read_date(value) or value
    if "enum" in node:
        same = [c for c in node["enum"] if squeeze(str(c)) == squeeze(value)]
        return same[0] if same else value
    if node.get("format") in ("uscc", "cn-resident-id"):
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()
    if node.get("format") == "cn-phone":
        return unicodedata.normalize("NFKC", value)
    return value


TICKED_MARKS = "☑√■☒✓✔✅▣⊠"  # a box ticked, as applicants type it …
UNTICKED_MARKS = "☐□◻▢"  # … and left empty
_BOX_MARKS = str.maketrans({**{c: TICKED for c in TICKED_MARKS}, **{c: UNTICKED for c in UNTICKED_MARKS}})


def boxes(text: str) -> str:
    """Ticked and empty boxes as the toolkit prints them: ``√是 □否``, ``■是 □否``, ``☒是 ☐否`` → ``☑是 ☐否``."""
    return text.translate(_BOX_MARKS)


DRAFT_BLANK = "＿"  # a draft's line for hand filling (``＿＿＿＿＿＿``): not filled


def read_printed(text: str, node: dict[str, Any]) -> Any:
    """The JSON value of a value as printed on a form (the inverse of the writers above), by its schema node.

    A draft's blank line left as it was (``＿＿＿＿＿＿``) is "not filled", never a value."""
    raw = text.strip()
    if raw and not raw.strip(DRAFT_BLANK + "_ 　"):
        raw = ""
    text = join_lines(raw)
    kind = node.get("type")
    if (kind == "boolean" or "enum" in node) and len(squeeze(text)) > 1 and any(
            c in text for c in UNTICKED_MARKS + TICKED_MARKS[1:]):  # boxes beside words; a lone √ is a yes
        text = boxes(text)
    if kind == "boolean" and (TICKED in text or UNTICKED in text):  # ☑是　☐否; neither ticked: not filled
        ticked = squeeze(text)
        return True if TICKED + YES in ticked else False if TICKED + NO in ticked else None
    if "enum" in node and (TICKED in text or UNTICKED in text):  # the choices in boxes; none ticked: not filled
        chosen = [c for c in node["enum"] if f"{TICKED}{squeeze(str(c))}" in squeeze(text)]
        return chosen[0] if chosen else None
    if kind == "array":
        items = node.get("items", {})
        if squeeze(text) in ("", "无"):
            return []
        if items.get("type") in ("number", "integer"):
            return [read_printed(p, items) for p in text.split("、") if p.strip()]
        return [read_printed(p, items) for p in _ITEM_NUMBER.split(raw) if p.strip()]
    if text == "":  # an empty cell: an empty text, or no value at all for a choice, date or number
        plain = kind == "string" and not ({"enum", "format", "pattern"} & set(node))
        return "" if plain else None
    if node.get("format") in ("cn-phone",) or "enum" in node:
        text = re.sub(r"\s+", "", text)  # a PDF's gaps inside a code or a choice
    return read_text(text, node)


def read_cell(raw: Any, node: dict[str, Any]) -> Any:
    """A spreadsheet cell as the field's JSON value (Excel numbers, dates and booleans included)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = node.get("type")
    if isinstance(raw, (dt.datetime, dt.date)):
        return (raw.date() if isinstance(raw, dt.datetime) else raw).isoformat()
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and kind in ("number", "integer"):
        number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        return int(number) if kind == "integer" and number == int(number) else number
    text = str(raw).strip() if not isinstance(raw, float) else repr(raw)
    if kind in ("object",) or (kind == "array" and text.startswith("[")):
        try:
            return json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError:
            return text
    if kind == "array":
        items = node.get("items", {})
        return [read_cell(p, items) for p in re.split(r"[、;；]\s*", text) if p.strip()]
    if isinstance(raw, (int, float)) and node.get("format") == "date":
        return excel_date(Decimal(repr(raw)) if isinstance(raw, float) else raw) or text
    return read_text(text, node)
