"""The office's own part of a notice: the profile an office keeps (who issues, signs and prints its documents,
and whom to ask), written once by ``shenbao office init`` as a commented file to fill in, and read back with
each decision's facts (number, dates, scores) laid over it. Nothing here is ever defaulted: a field the office
has not filled in stays empty, and the notice is not made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import fields
from .catalogue import Form, form

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
             "# 每一项都须由本机关填写：本工具不会替您填写任何一项，缺项时不生成通知。", ""]
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
    return "\n".join(lines) + "\n"


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
