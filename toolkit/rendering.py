"""Rendering an application or notice into its Word template, safely, in memory.

``render(form, data)`` is the render gate: it checks ``data`` first and refuses an application with errors
(``NotValid``, carrying the report) unless it is a ``draft``; ``document`` renders without the gate. Both return
the .docx as bytes. Templates — the form's own or a user's — run in a Jinja sandbox with autoescape on, so a
value such as ``A&B<科技>有限公司`` or ``{{ x }}`` is printed as written and can never cut a document short. Every
value passes ``finalize``: XML-illegal control characters are dropped, numbers are written exactly, and in a draft
an empty value becomes a blank line for hand filling. Newlines in a value become line breaks. How each kind of
value is written is ``values``' business.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import ChainableUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from . import fields
from .catalogue import Form, form
from .docx_parts import mark_half_points
from .errors import ShenbaoError
from .notice_layout import notice_source, title_capacity, title_lines
from .reading import read
from .validation import Report, check
from .values import chinese_date, clean_text, daxie, join_list, money_text, number_text, options, percent_text, yesno

BLANK = "＿＿＿＿＿＿"
_VALUE = re.compile("\x02(.*?)\x03", re.DOTALL)  # a value in a rendered title, marked as one unit
NOTES = ("application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.endnotes+xml")
PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")  # the core properties docxtpl renders


class TemplateProblem(ShenbaoError):
    """A template that does not render: a Jinja syntax error, a tag the sandbox refuses, or a draft whose data
    the template cannot lay out (a field of the wrong kind)."""


class NotValid(ShenbaoError):
    """An application with errors, refused where a valid one is needed; ``report`` says what is wrong."""

    def __init__(self, report: Report, reason: str) -> None:
        super().__init__(reason)
        self.report = report


class _Blank(ChainableUndefined):
    """A missing value: printed as nothing, or as a line to fill by hand in a draft."""

    draft = False

    def __str__(self) -> str:
        return BLANK if self.draft else ""

    def _unknown(self, other: Any) -> bool:
        return False  # a missing value is neither before nor after anything: ``{% if a > b %}`` is not taken

    __lt__ = __le__ = __gt__ = __ge__ = _unknown  # type: ignore[assignment]


class _DraftBlank(_Blank):
    draft = True


def _is_empty(value: Any) -> bool:
    return value is None or isinstance(value, ChainableUndefined) or value == ""


def environment(draft: bool = False, target: Form | str | None = None) -> ImmutableSandboxedEnvironment:
    """The sandboxed Jinja environment every template renders in, with the toolkit's filters.

    ``target`` (a form) lets ``options('center.type')`` find the choices of a field in the form's schema."""
    owner = form(target) if target is not None else None

    def finalize(value: Any) -> Any:
        if _is_empty(value):
            return BLANK if draft else ""
        if isinstance(value, Markup):
            return value
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, (int, Decimal, Fraction, float)):
            return number_text(value)
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
        "num": guarded(number_text),
        "wan": guarded(money_text),
        "pct": guarded(lambda v: percent_text(Decimal(str(v)))),
        "daxie": guarded(daxie),
        "yesno": yesno,
        "check": lambda v: "☑" if v is True else "☐",
        "options": lambda v, path: options(v, fields.choices(owner, path) if owner else ()),
        "join_list": join_list,
    })
    return env


def context(data: Mapping[str, Any], *, target: Form | str | None = None, draft: bool = False) -> dict[str, Any]:
    """What a template sees: the data, plus ``doc_number`` (发文字号) and the 发文机关标志's size for notices, and,
    given the notice ``target``, its title broken into lines (``notice_title``, see ``notice_title``)."""
    result = dict(data)
    issuer, number = data.get("issuer"), data.get("number")
    if isinstance(issuer, Mapping) and isinstance(number, Mapping):
        result["doc_number"] = f"{issuer.get('code', '')}〔{number.get('year', '')}〕{number.get('serial', '')}号"
    if isinstance(issuer, Mapping):
        result["mark_half_points"] = mark_half_points(str(issuer.get("mark", "")))
    if target is not None and form(target).is_notice:
        result["notice_title"] = notice_title(form(target), data, draft)
    return result


def notice_title(target: Form, data: Mapping[str, Any], draft: bool = False) -> str:
    """The title of a notice (``title`` in its words), rendered with ``data`` in the sandbox and broken into
    lines joined by ``\\n`` (a line break in Word), each value kept whole (``notice_layout.title_lines``)."""
    template, capacity = _title_template(target, draft)
    if template is None:
        return ""
    parts = _VALUE.split(template.render(data).strip())
    return "\n".join(title_lines([(part, index % 2 == 1) for index, part in enumerate(parts)], capacity))


@cache
def _title_template(target: Form, draft: bool) -> tuple[Template | None, int]:
    """A notice's title template, compiled once, printing each value between the marks ``_VALUE`` finds."""
    try:
        source = notice_source(target.id)
    except FileNotFoundError:  # a notice added as data with a template of its own and no words file
        return None, 0
    env = environment(draft, target)
    plain: Any = env.finalize
    marked = env.overlay(autoescape=False, finalize=lambda value: f"\x02{plain(value)}\x03")
    return marked.from_string(source["title"]), title_capacity(source)


class _Template(DocxTemplate):  # type: ignore[misc]  # docxtpl ships no types
    """docxtpl's template, its footnotes and endnotes each rendered once: docxtpl renders the footnotes once per
    section of the document (again what the first pass printed: a value holding a tag would run as one) and leaves
    the endnotes as they are. The body, headers, footers and core properties are docxtpl's, comments left alone."""

    def render_footnotes(self, context: dict[str, Any], jinja_env: Any = None) -> None:
        for part in self.docx.part.package.parts:
            if part.content_type in NOTES:
                xml = self.patch_xml(part.blob.decode("utf-8") if isinstance(part.blob, bytes) else part.blob)
                part._blob = self.render_xml_part(xml, part, context, jinja_env).encode("utf-8")


def template_source(target: Form | str) -> bytes:
    """The form's Word template: the one shipped beside its schema or in ``templates/``, else laid out now from
    the schema (a form added as data only)."""
    target = form(target)
    if target.template_path is not None:
        return target.template_path.read_bytes()
    from .template_build import build_document

    buffer = io.BytesIO()
    build_document(target).save(buffer)
    return buffer.getvalue()


def document(target: Form | str, data: Mapping[str, Any], *, draft: bool = False,
             template: bytes | None = None, name: str = "") -> bytes:
    """The .docx of ``data`` in the form's template (or a user's ``template``, .docx bytes), without the gate.

    ``name`` is how the template is called in a message (its file name)."""
    target = form(target)
    source = template if template is not None else template_source(target)
    try:
        docx = _Template(io.BytesIO(source))
        docx.render(context(data, target=target, draft=draft), jinja_env=environment(draft, target),
                    autoescape=True)
    except (TemplateError, OverflowError) as exc:  # OverflowError: the sandbox's cap on range()
        around = " … ".join(line.strip() for line in getattr(exc, "docx_context", []) if line.strip())
        where = f"（附近文字：{around}）" if around else ""
        raise TemplateProblem(f"{name or target.id}: 模板错误 {exc}{where}") from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        if not draft:  # checked data: a bug of the toolkit's, to be seen as one
            raise
        # a draft of data of the wrong kinds (a list where a date is, a text compared with a date …)
        raise TemplateProblem(f"{name or target.id}: 草稿中有字段的类型不对，无法排版（{exc}）；"
                              "请先用 shenbao validate 查看并修正各字段") from None
    buffer = io.BytesIO()
    docx.save(buffer)
    return buffer.getvalue()


def render(target: Form | str, data: Mapping[str, Any], *, draft: bool = False,
           template: bytes | None = None) -> bytes:
    """The Word document (.docx bytes) of an application or notice; ``NotValid`` when it has errors, unless
    ``draft`` (then blanks are marked for hand filling)."""
    target = form(target)
    if not draft:
        report = check(target, data)
        if not report.ok:
            raise NotValid(report, "有错误，未生成文档；修正后重试，或用 --draft 生成草稿")
    return document(target, read(target, data)[0], draft=draft, template=template)
