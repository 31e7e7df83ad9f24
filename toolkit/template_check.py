"""Linting a Word template a user edited: Jinja syntax, tags that match no field, required fields never printed.

Every part the renderer fills is read as docxtpl will render it (tags split over runs joined, ``{%tr``/``{%p``
tags resolved) — the body, the headers and footers, the footnotes and endnotes, the core properties; never the
comments, which are not rendered — parsed by the same sandboxed environment, and every dotted path the parts print
is compared with the form's schema. Loop variables stand for the items of their list:
``{%tr for item in ip %}{{ item.title }}`` prints ``ip[].title``. ``check_template_bytes`` lints a template
given as bytes; ``require_clean`` refuses one with problems (``TemplateRefused``) before anything is rendered.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from docx.opc.constants import CONTENT_TYPE
from docxtpl import DocxTemplate
from jinja2 import TemplateSyntaxError, nodes

from . import fields
from .catalogue import Form, form
from .errors import UnusableInput
from .files import read_input
from .notice_layout import notice_source
from .rendering import NOTES, PROPERTIES, environment

BODY = "正文"

CONTEXT_EXTRAS = {"doc_number", "mark_half_points", "notice_title", "loop"}  # names the renderer adds
DERIVED = {"doc_number": {"issuer.code", "number.year", "number.serial"}}  # … and the fields they print


@dataclass(frozen=True)
class TemplateFinding:
    """One problem of a template: ``kind`` is ``syntax``, ``unknown-field`` or ``required-not-printed``."""

    kind: str
    path: str
    message: str


class TemplateRefused(UnusableInput):
    """A user's template with problems (``findings``): nothing is rendered from it."""

    findings: tuple[TemplateFinding, ...] = ()


def template_xml(path: str | Path) -> str:
    """The document XML of a template, patched as docxtpl patches it before rendering."""
    return template_parts(read_input(str(path)), str(path))[0][1]


def template_parts(content: bytes, name: str = "模板") -> list[tuple[str, str]]:
    """Each part of the template the renderer fills — ``正文``, then headers, footers, notes (named by their file in
    the .docx) and the core properties (``docProps/core.xml title`` …) — with its text as Jinja will see it."""
    try:
        document = DocxTemplate(io.BytesIO(content))
        document.init_docx()
        parts = [(BODY, _lines(document.patch_xml(document.get_xml())))]
        for uri in (document.HEADER_URI, document.FOOTER_URI):
            for _, part in document.get_headers_footers(uri):
                parts.append((str(part.partname).lstrip("/"), _lines(document.patch_xml(document.get_part_xml(part)))))
        for part in document.docx.part.package.parts:
            if part.content_type in NOTES:
                parts.append((str(part.partname).lstrip("/"), _lines(document.patch_xml(part.blob.decode("utf-8")))))
            elif part.content_type == CONTENT_TYPE.OPC_CORE_PROPERTIES:
                named = str(part.partname).lstrip("/")
                parts += [(f"{named} {p}", getattr(part.core_properties, p)) for p in PROPERTIES]
        return parts
    except Exception as exc:  # zipfile.BadZipFile, KeyError, lxml errors: not a .docx
        raise UnusableInput(name, f"不是有效的 Word 文档（.docx）：{type(exc).__name__}") from None


def _lines(xml: str) -> str:
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)  # a line a paragraph, as docxtpl renders it


def schema_paths(target: Form | str) -> tuple[set[str], set[str]]:
    """Every dotted field path of the form (lists as ``name[]``), and the required leaves among them."""
    known = fields.fields(form(target))
    required = {path for path, f in known.items()
                if f.required and not f.node.get("properties") and not path.endswith("[]")
                and not (f.type == "array" and f.node.get("items", {}).get("type") == "object")}
    return set(known), required


def printed_paths(tree: nodes.Template) -> set[str]:
    """Dotted paths the template reads, loop variables replaced by their list (``item.x`` → ``ip[].x``)."""
    found: set[str] = set()

    def dotted(node: nodes.Node, aliases: dict[str, str]) -> str | None:
        parts: list[str] = []
        while isinstance(node, (nodes.Getattr, nodes.Getitem)):
            if isinstance(node, nodes.Getattr):
                parts.append(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                parts.append(node.arg.value)
            else:
                return None
            node = node.node
        if not isinstance(node, nodes.Name):
            return None
        return ".".join([aliases.get(node.name, node.name)] + parts[::-1])

    def visit(node: nodes.Node, aliases: dict[str, str]) -> None:
        if isinstance(node, nodes.For) and isinstance(node.target, nodes.Name):
            source = dotted(node.iter, aliases)
            visit(node.iter, aliases)
            inner = {**aliases, node.target.name: f"{source}[]"} if source else aliases
            for child in node.body + node.else_ + ([node.test] if node.test else []):
                visit(child, inner)
            return
        if isinstance(node, (nodes.Getattr, nodes.Getitem, nodes.Name)):
            path = dotted(node, aliases)
            if path is not None:
                found.add(path)
                if isinstance(node, (nodes.Getattr, nodes.Getitem)):
                    _visit_subscripts(node, aliases, visit)
                return
        for child in node.iter_child_nodes():
            visit(child, aliases)

    visit(tree, {})
    return found


def _visit_subscripts(node: nodes.Node, aliases: dict[str, str], visit: Any) -> None:
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
            visit(node.arg, aliases)
        node = node.node


def check_template(path: str | Path, target: Form | str) -> list[TemplateFinding]:
    """Every problem of the template at ``path`` for the form ``target`` (a ``Form`` or its id)."""
    return check_template_bytes(read_input(str(path)), target, str(path))


def check_template_bytes(content: bytes, target: Form | str, name: str = "模板") -> list[TemplateFinding]:
    """Every problem of the template ``content`` (.docx bytes, called ``name`` in a message) for ``target``."""
    return list(_findings(content, form(target).id, name))


@lru_cache(maxsize=8)
def _findings(content: bytes, form_id: str, name: str) -> tuple[TemplateFinding, ...]:
    """The findings, once for a template and a form: the command, the ledger's issue and the batch each check the
    template they are given before they use it."""
    target = form(form_id)
    used: set[str] = set()
    syntax = []
    for part, text in template_parts(content, name):
        try:
            used |= printed_paths(environment().parse(text))
        except TemplateSyntaxError as exc:
            where = f"line {exc.lineno}" if part == BODY else f"{part} line {exc.lineno}"
            syntax.append(TemplateFinding("syntax", where, f"Jinja 语法错误：{exc.message}"
                                                            f"（附近文字：{_around(text, exc.lineno)}）"))
    if syntax:
        return tuple(syntax)
    known, required = schema_paths(target)
    used |= {field for name, fields in DERIVED.items() if name in used for field in fields}
    if "notice_title" in used:
        used |= _title_paths(target.id)
    findings = []
    for path in sorted(used):
        root = path.split(".")[0].removesuffix("[]")
        if path not in known and root not in CONTEXT_EXTRAS and not _is_list_helper(path, known):
            findings.append(TemplateFinding("unknown-field", path, f"模板中的「{path}」不是表单 {target.id} 的字段"))
    unprinted = set(target.schema.get("x-not-printed", []))  # data the layout knowingly does not print
    for path in sorted(required - unprinted):
        if path not in used:
            findings.append(TemplateFinding("required-not-printed", path, f"必填字段「{path}」在模板中没有打印"))
    return tuple(findings)


def require_clean(content: bytes, target: Form | str, name: str = "模板") -> None:
    """Refuse (``TemplateRefused``, exit 2) a template the lint finds problems in, each named on a line of its own
    with the file, the field and what is wrong; nothing is rendered from it."""
    target = form(target)
    findings = check_template_bytes(content, target, name)
    if not findings:
        return
    lines = "\n".join(f"  {name}: {f.kind} {f.path}: {f.message}" for f in findings)
    hint = f"修改后用 shenbao template check {name} --form {target.id} 检查"
    refused = TemplateRefused(name, f"模板与{target.title}（{target.id}）不符，有 {len(findings)} 处问题，"
                                    f"未生成任何文件（{hint}）：\n{lines}")
    refused.findings = tuple(findings)
    raise refused


def _title_paths(form_id: str) -> set[str]:
    """The fields a notice's title prints: ``notice_title`` is rendered from the title in its words."""
    try:
        return printed_paths(environment().parse(notice_source(form_id)["title"]))
    except FileNotFoundError:
        return set()


def _is_list_helper(path: str, known: set[str]) -> bool:
    """``ip.length`` style reads of list attributes Jinja allows (rare); also the list itself."""
    return path.rsplit(".", 1)[0] in known and path.rsplit(".", 1)[-1] in {"length"}


def _around(xml: str, lineno: int | None) -> str:
    lines = xml.splitlines()
    index = max((lineno or 1) - 1, 0)
    text = " ".join(re.sub(r"<[^>]+>", "", line) for line in lines[max(index - 2, 0): index + 3])
    return re.sub(r"\s+", " ", text).strip()[:160]
