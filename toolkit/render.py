"""Rendering an application or notice into its Word template, safely.

Templates run in a Jinja sandbox with autoescape on, so a value such as ``A&B<科技>有限公司`` or
``{{ x }}`` is printed as written and can never cut a document short. Every value passes ``finalize``:
XML-illegal control characters are dropped, numbers are written exactly, and in a draft an empty value
becomes a blank line for hand filling. Newlines in a value become line breaks (docxtpl turns ``\\n`` into
``<w:br/>``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import cn2an
from docxtpl import DocxTemplate
from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from . import fields
from .catalogue import form
from .docx_parts import mark_half_points
from .errors import ShenbaoError
from .figures import chinese_date, decimal_text, percent_text
from .resources import data_dir

BLANK = "＿＿＿＿＿＿"
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class TemplateProblem(ShenbaoError):
    """A template that does not render: a Jinja syntax error or a tag the sandbox refuses."""


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids, with Windows line ends made plain."""
    return _ILLEGAL_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _number(value: Any) -> str:
    if isinstance(value, float):
        value = Decimal(repr(value))
    return decimal_text(value, places=4)


class _Blank(ChainableUndefined):
    """A missing value: printed as nothing, or as a line to fill by hand in a draft."""

    draft = False

    def __str__(self) -> str:
        return BLANK if self.draft else ""


class _DraftBlank(_Blank):
    draft = True


def _is_empty(value: Any) -> bool:
    return value is None or isinstance(value, ChainableUndefined) or value == ""


def environment(draft: bool = False, form_id: str | None = None) -> ImmutableSandboxedEnvironment:
    """The sandboxed Jinja environment every template renders in, with the toolkit's filters.

    ``form_id`` lets ``options('center.type')`` find the choices of a field in the form's schema."""

    def finalize(value: Any) -> Any:
        if _is_empty(value):
            return BLANK if draft else ""
        if isinstance(value, Markup):
            return value
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, (int, Decimal, Fraction, float)):
            return _number(value)
        if isinstance(value, (list, tuple)):
            return join_list(value)
        return clean_text(str(value))

    def guarded(function: Any) -> Any:
        def apply(value: Any, *args: Any) -> Any:
            if _is_empty(value):
                return BLANK if draft else ""
            try:
                return function(value, *args)
            except (TypeError, ValueError, ArithmeticError):
                return clean_text(str(value))
        return apply

    env = ImmutableSandboxedEnvironment(autoescape=True, finalize=finalize,
                                        undefined=_DraftBlank if draft else _Blank)
    env.filters.update({
        "cn_date": guarded(lambda v: chinese_date(v if isinstance(v, dt.date) else str(v))),
        "num": guarded(_number),
        "wan": guarded(lambda v: _number(v) + "万元"),
        "pct": guarded(lambda v: percent_text(Decimal(str(v)))),
        "daxie": guarded(daxie),
        "yesno": yesno,
        "check": lambda v: "☑" if v is True else "☐",
        "options": lambda v, field: options(v, fields.choices(form(form_id), field) if form_id else ()),
        "join_list": join_list,
    })
    return env


def daxie(amount_wan: Any) -> str:
    """An amount in 万元 in 大写 of 元, as on a payment notice: ``50`` → ``伍拾万元整``."""
    yuan = Decimal(str(amount_wan)) * 10000
    return cn2an.an2cn(f"{yuan.quantize(Decimal('0.01'))}", "rmb")


def yesno(value: Any) -> str:
    if value is True:
        return "☑是　☐否"
    if value is False:
        return "☐是　☑否"
    return "☐是　☐否"


def options(value: Any, choices: tuple[str, ...]) -> str:
    """Every choice with a box, the chosen one ticked: ``☑企业类　☐事业类``."""
    chosen = set(value) if isinstance(value, (list, tuple)) else {value}
    return "　".join(("☑" if choice in chosen else "☐") + choice for choice in choices)


def join_list(values: Any) -> str:
    """A list in one cell: numbers as ``2014、2015``, texts one per line as ``1．…`` (texts may hold a 、)."""
    if not isinstance(values, (list, tuple)) or not values:
        return "无"
    if all(isinstance(v, (int, Decimal, float)) and not isinstance(v, bool) for v in values):
        return "、".join(_number(v) for v in values)
    return "\n".join(f"{i}．{clean_text(str(v))}" for i, v in enumerate(values, start=1))


def template_path(form_id: str) -> Path:
    return data_dir("templates") / f"{form_id}.docx"


def context(form_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """What a template sees: the data, plus ``doc_number`` (发文字号) for notices."""
    result = dict(data)
    issuer, number = data.get("issuer"), data.get("number")
    if isinstance(issuer, Mapping) and isinstance(number, Mapping):
        result["doc_number"] = f"{issuer.get('code', '')}〔{number.get('year', '')}〕{number.get('serial', '')}号"
    if isinstance(issuer, Mapping):
        result["mark_half_points"] = mark_half_points(str(issuer.get("mark", "")))
    return result





def render(form_id: str, data: Mapping[str, Any], out: str | Path, draft: bool = False,
           template: str | Path | None = None) -> Path:
    """Render ``data`` into the template of ``form_id`` (or a user's ``template``) and write ``out`` atomically."""
    form(form_id)
    document = DocxTemplate(str(template or template_path(form_id)))
    try:
        document.render(context(form_id, data), jinja_env=environment(draft, form_id), autoescape=True)
    except (TemplateError, OverflowError) as exc:  # OverflowError: the sandbox's cap on range()
        around = " … ".join(line.strip() for line in getattr(exc, "docx_context", []) if line.strip())
        where = f"（附近文字：{around}）" if around else ""
        raise TemplateProblem(f"{template or template_path(form_id)}: 模板错误 {exc}{where}") from None
    return write_atomically(document, Path(out))


def write_atomically(document: Any, out: Path) -> Path:
    """Save to a temporary file beside ``out``, then rename: a crash never leaves half a document."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(handle)
    try:
        document.save(temporary)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out


class Payload:
    """Bytes that save themselves like a document, for ``write_atomically``."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def save(self, path: str) -> None:
        Path(path).write_bytes(self.data)


def write_json(out: Path, data: Any) -> Path:
    """Write ``data`` as JSON atomically (exact decimals stay as written)."""
    import json

    text = json.dumps(data, ensure_ascii=False, indent=2, default=_json_number) + "\n"
    return write_atomically(Payload(text.encode("utf-8")), out)


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")
