"""The JSON Schema ``format`` values the forms use, with Chinese reasons when a value fails.

``date`` (ISO ``YYYY-MM-DD``), ``uscc`` (统一社会信用代码), ``cn-resident-id`` (公民身份号码),
``cn-phone`` (telephone number).
"""

from __future__ import annotations

import datetime as dt
import re

from jsonschema import FormatChecker

from .identifiers import check_phone, check_resident_id, check_uscc

FORMAT_CHECKER = FormatChecker(formats=())
# The standard an identifier's format comes from: cited as the clause of a finding about it.
FORMAT_STANDARDS = {"uscc": "GB 32100-2015", "cn-resident-id": "GB 11643-1999"}


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # the one spelling the rules read (``expression.exact``)


def _date(value: object) -> bool:
    """``YYYY-MM-DD`` and a real day — not Python's other ISO spellings (``2017-W40-1``, ``20171002``,
    ``2017-275``), which the rules would not see as dates."""
    if not isinstance(value, str):
        return True
    try:
        if not ISO_DATE.match(value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"日期无效：{value!r}，应写作 YYYY-MM-DD（如 2024-11-08）") from None
    return True


FORMAT_CHECKER.checks("date", raises=ValueError)(_date)
FORMAT_CHECKER.checks("uscc", raises=ValueError)(check_uscc)
FORMAT_CHECKER.checks("cn-resident-id", raises=ValueError)(check_resident_id)
FORMAT_CHECKER.checks("cn-phone", raises=ValueError)(check_phone)
