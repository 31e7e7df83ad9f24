"""The office's own part of a notice: the profile an office keeps (who issues, signs and prints its documents,
whom to ask, and how its notices are numbered; optionally its public address for verification links, ``verify_url``,
and its signing certificates), written once by ``shenbao office init`` as a commented file to fill in, and read back
with each decision's facts (number, dates, scores) laid over it. Nothing here is ever
defaulted: a field the office has not filled in stays empty, and the notice is not made.

The numbering (``[numbering.<notice>]``: ``number = "津科成〔{year}〕{n}号"``,
``"certificate.number" = "津滨高企{year}-{n:03d}"``) says how the ledger writes the numbers it hands out.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import fields
from .catalogue import Form, form
from .errors import ShenbaoError

# What an office profile holds: (dotted path, the notice whose schema describes it, an example for the comment).
PROFILE = (
    ("issuer.name", "rejection-notice", "天津市滨海新区科学技术局"),
    ("issuer.mark", "rejection-notice", "天津市滨海新区科学技术局文件"),
    ("issuer.code", "rejection-notice", "津滨科"),
    ("signatory", "rejection-notice", "天津市滨海新区科学技术局"),
    ("sealed", "rejection-notice", "true"),
    ("disclosure", "rejection-notice", "依申请公开"),
    ("copy_to", "rejection-notice", '["天津市科学技术局"]'),
    ("printed_by", "rejection-notice", "天津市滨海新区科学技术局办公室"),
    ("contact.office", "rejection-notice", "高新技术企业科"),
    ("contact.phone", "rejection-notice", "022-25201234"),
)


def profile_template() -> str:
    """A commented office profile (TOML) with every item empty, to be filled in by the office."""
    lines = ["# 发文机关信息（本机关保存，每次作出决定时使用：",
             "#   shenbao decide 表单 申请.json --office 本文件 --decision 本次决定.json -o 通知.docx）",
             "# 每一项都须由本机关填写：本工具不会替您填写任何一项，缺项时不生成通知。", "", *VERIFICATION_HELP]
    ordered = sorted(PROFILE, key=lambda entry: "." in entry[0])  # TOML: plain keys before [tables]
    section = ""
    for path, notice, example in ordered:
        head, _, key = path.rpartition(".")
        if head != section:
            lines += ["", f"[{head}]  # {fields.title(form(notice), fields.pointer(head))}"]
            section = head
        field = fields.fields(form(notice))[path]
        empty = "[]" if field.type == "array" else '""'
        hint = "（填 true 或 false）" if field.type == "boolean" else ""
        lines.append(f"{key} = {empty}  # {field.title}{hint}：{field.node.get('description', '')} 例：{example}")
    return "\n".join(lines + ["", *NUMBERING_HELP]) + "\n"


NUMBERING_HELP = (
    "# 编号规则：用台账发出通知时（shenbao batch 通知ID --from-ledger），发文字号和证书编号由台账按顺序分配，",
    "# 不必手填，也不会重号。每种通知一节 [numbering.通知ID]，每个编号字段一行：字段 = \"格式\"。",
    "# {year} 为成文日期的年份（每年从头编号），{n} 为顺序号，{n:03d} 补足三位；本年已手工编到某号时，",
    "# 写作 字段 = { format = \"格式\", first = 下一个号 }。发文字号的格式须以上面的机关代字开头。例：",
    "# [numbering.tj-high-tech-recognition-notice]",
    "# number = \"津滨科〔{year}〕{n}号\"",
    "# \"certificate.number\" = \"津滨高企{year}-{n:03d}\"",
)


VERIFICATION_HELP = (
    "# 查验（可选）：发出的通知上印有验证码和二维码；填写本机关对外的查验网址后，二维码即为查验链接",
    "# 网址/verify/验证码（由 shenbao serve 提供查验页面）。例：verify_url = \"https://kjj.example.gov.cn\"",
    "verify_url = \"\"",
    "# 本机关签名证书（可选）：shenbao verify --office 本文件 据此确认签名人；写证书文件（.pem/.cer）的路径，",
    "# 相对路径从本文件所在目录算起。例：certificates = [\"本机关签名证书.pem\"]",
    "certificates = []",
    "",
)


class ProfileError(ShenbaoError):
    """An item of the office profile that cannot be used as written."""


def verify_url(profile: Mapping[str, Any]) -> str | None:
    """The office's public address for verification links (``verify_url``), or None when it has none;
    ``ProfileError`` when it is no http(s) address."""
    value = profile.get("verify_url")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(str(value).strip()) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ProfileError(f"发文机关信息中 verify_url 应为本机关对外的网址，如 \"https://kjj.example.gov.cn\"，"
                           f"现为 {value!r}")
    return str(value).strip().rstrip("/")


def certificate_files(profile: Mapping[str, Any]) -> list[str]:
    """The files of the office's signing certificates (``certificates``), as written in the profile."""
    value = profile.get("certificates") or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ProfileError("发文机关信息中 certificates 应为证书文件路径的列表，如 [\"本机关签名证书.pem\"]")
    return [v.strip() for v in value]


def for_notice(profile: Mapping[str, Any], notice: Form) -> dict[str, Any]:
    """The part of an office ``profile`` the ``notice`` has a place for (a profile serves every notice; the
    联系方式 of a 不予通过通知 has no place on a certificate)."""
    known = fields.fields(notice)
    kept: dict[str, Any] = {}
    for path, _, _ in PROFILE:
        value = fields.get(profile, path)
        if path in known and value is not None:
            fields.put(kept, path, value)
    return kept


class NumberingError(ShenbaoError):
    """The office profile's numbering of a notice is missing or cannot be used."""


@dataclass(frozen=True)
class Numbering:
    """How the ledger numbers one field of a notice: the office's ``pattern`` (``津科成〔{year}〕{n}号``), the
    number it starts a year (or the series) at, and whether the field is a 发文字号 (``{year, serial}``)."""

    notice: str
    path: str
    pattern: str
    first: int = 1
    document_number: bool = False

    @property
    def yearly(self) -> bool:
        """A series that starts again each year (its pattern names the year)."""
        return any(name == "year" for _, name, _, _ in string.Formatter().parse(self.pattern))

    def text(self, year: int, n: int) -> str:
        return self.pattern.format(year=year, n=n)


def numbering(profile: Mapping[str, Any], notice: Form) -> list[Numbering]:
    """The numbered fields of ``notice`` as the office profile declares them (``[numbering.<notice id>]``), each
    checked: a field of the notice, a pattern with ``{n}``, a 发文字号 that prints as the profile's 机关代字 does.
    ``NumberingError`` says what to write when the notice's 发文字号 has no numbering."""
    declared = (profile.get("numbering") or {}).get(notice.id) or {}
    if not isinstance(declared, Mapping):
        raise NumberingError(f"发文机关信息中 [numbering.{notice.id}] 应为一节「字段 = \"格式\"」")
    known = fields.fields(notice)
    result = [_numbering(notice, path, entry, known, profile) for path, entry in _flat(declared)]
    if "number" in known and known["number"].required and "number" not in {n.path for n in result}:
        code = fields.get(profile, "issuer.code") or "机关代字"
        raise NumberingError(f"发文机关信息中没有{notice.title}的发文字号编号规则：请在 --office 文件中加入 "
                             f"[numbering.{notice.id}] 一节，写 number = \"{code}〔{{year}}〕{{n}}号\"")
    return result


def _flat(declared: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``certificate.number = …`` written as a key or as a nested table, both as dotted paths."""
    items: list[tuple[str, Any]] = []
    for key, entry in declared.items():
        if isinstance(entry, Mapping) and "format" not in entry:
            items += _flat(entry, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", entry))
    return items


def _numbering(notice: Form, path: str, entry: Any, known: Mapping[str, fields.Field],
               profile: Mapping[str, Any]) -> Numbering:
    where = f"[numbering.{notice.id}] {path}"
    pattern, first = (entry.get("format"), entry.get("first", 1)) if isinstance(entry, Mapping) else (entry, 1)
    if path not in known or "[]" in path:
        raise NumberingError(f"{where}：「{path}」不是{notice.title}的字段")
    field = known[path]
    document_number = field.type == "object" and {"year", "serial"} <= set(field.node.get("properties", {}))
    if not (document_number or field.type == "string"):
        raise NumberingError(f"{where}：{field.title}不是编号字段")
    if not isinstance(pattern, str) or not pattern.strip():
        raise NumberingError(f"{where}：应写编号格式，如 \"津滨高企{{year}}-{{n:03d}}\"")
    if isinstance(first, bool) or not isinstance(first, int) or first < 1:
        raise NumberingError(f"{where}：first 应为正整数（本年的第一个号），现为 {first!r}")
    numbered = Numbering(notice.id, path, pattern, first, document_number)
    _check_pattern(numbered, where)
    code = fields.get(profile, "issuer.code")
    if document_number and code and numbered.text(2024, 57) != f"{code}〔2024〕57号":
        raise NumberingError(f"{where}：发文字号按机关代字印作「{code}〔年份〕序号号」，格式「{pattern}」与之不符；"
                             f"应写 \"{code}〔{{year}}〕{{n}}号\"")
    return numbered


def _check_pattern(numbered: Numbering, where: str) -> None:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(numbered.pattern) if name is not None]
        numbered.text(2024, 1)
    except (ValueError, KeyError, IndexError) as exc:
        raise NumberingError(f"{where}：编号格式「{numbered.pattern}」无效（{exc}）；"
                             "只可用 {year} 和 {n}") from None
    if "n" not in names or set(names) - {"year", "n"}:
        raise NumberingError(f"{where}：编号格式「{numbered.pattern}」须含顺序号 {{n}}，且只可用 {{year}} 和 {{n}}")
    if numbered.document_number and not numbered.yearly:
        raise NumberingError(f"{where}：发文字号须含年份 {{year}}")
