"""A starting template for an office's own notice or certificate (``shenbao template new``): the built-in layout of
the notice — every field it prints already a tag in place — with a Word comment on its first line listing every
field of the notice as a tag to copy, with its Chinese title and the filter that prints it the customary way.
The office restyles it in Word (its 版头, its wording, a footer with the document number) and checks it with
``shenbao template check``.

docxtpl renders a document's body, headers, footers, footnotes and properties, never its comments: the tags listed
in the comment stay as they are in every document made from it.
"""

from __future__ import annotations

import io

from . import fields
from .catalogue import Form, form
from .errors import UnusableInput
from .rendering import template_source

AUTHOR = "申报工具箱"
FILTERS = {"date": "|cn_date", "money": "|wan", "boolean": "|yesno"}  # how a value prints the customary way


def starting_template(target: Form | str) -> bytes:
    """The .docx of a starting template for the notice ``target``."""
    import docx

    target = form(target)
    if not target.is_notice:
        raise UnusableInput(target.id, f"{target.title}不是通知：自己的模板用于通知和证书"
                                       "（表单请用 render --template）")
    document = docx.Document(io.BytesIO(template_source(target)))
    anchor = next((p for p in document.paragraphs if p.runs), None)
    if anchor is None:
        anchor = document.add_paragraph()
        anchor.add_run("")
    document.add_comment(anchor.runs, text=field_list(target), author=AUTHOR, initials="SB")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def field_list(target: Form | str) -> str:
    """Every field of ``target`` as the tag that prints it, with its title, one per line."""
    target = form(target)
    lines = [f"{target.title}（{target.id}）的字段：复制标记放到需要的位置，改好后用 "
             f"shenbao template check 模板.docx --form {target.id} 检查。", ""]
    known = fields.fields(target)
    for path, field in known.items():
        if not field.is_leaf and field.type == "array" and "[]" not in path:  # a list of objects: rows
            lines.append(f"{{%tr for item in {path} %}} … {{%tr endfor %}}　{' · '.join(field.titles)}："
                         "表格中重复的一行，两个标记各占单独一行，其间一行里放：")
        if not field.is_leaf or path.endswith("[]"):  # a list of texts is printed whole, below
            continue
        if "[]." in path:  # a field of every item of a list, inside the repeated row
            tag = f"　　{{{{ item.{path.rpartition('[].')[2]}{_filter(field)} }}}}"
        elif field.type == "array":
            tag = f"{{{{ {path}|join_list }}}}"
        else:
            tag = f"{{{{ {path}{_filter(field)} }}}}"
        lines.append(f"{tag}　{' · '.join(field.titles)}{'（必填）' if field.required else ''}")
    lines.append("{{ doc_number }}　发文字号（机关代字〔年份〕序号号）")
    return "\n".join(lines)


def _filter(field: fields.Field) -> str:
    if field.node.get("format") == "date":
        return FILTERS["date"]
    if field.type == "boolean":
        return FILTERS["boolean"]
    if field.type == "number" and "万元" in field.title:
        return FILTERS["money"]
    return ""
