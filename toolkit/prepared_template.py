"""A Word template prepared once for many documents: what docxtpl does per render, done a single time.

docxtpl opens the .docx, parses and patches its XML and compiles the Jinja template on every render. Here every
part docxtpl renders — the body, the headers and footers, the footnotes (and endnotes, as ``rendering`` renders
them) and the core properties — is patched and compiled once; a part with no tag in it is compressed once (as it
is, or as docxtpl would leave it) and copied into every output as raw bytes, like the parts no row changes
(styles, fonts, numbering, settings …); a row costs only the rendering of its tagged parts and the writing of one
file. The text is the text of a plain docxtpl render of the same row (``tests/test_batch.py`` compares them for
the built-in templates, ``tests/test_template_equivalence.py`` on docxtpl's own test templates). Comments are
never rendered (docxtpl leaves them): the tags ``template new`` lists in one stay as they are.

A template whose construction the fast path does not know (its main part not ``word/document.xml``, a part docxtpl
renders that is not where its name says, a body that is not ``<w:body>``) is not refused: it is rendered a
document at a time by docxtpl (``rendering.document``), and ``plain`` says why — once, for the caller to say.

A prepared template pickles as its form and template bytes and is prepared again where it is unpickled: that
is how it reaches the worker processes of a batch (through the pool's initializer, under fork or spawn).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
from docx.opc.coreprops import CoreProperties
from docx.opc.oxml import serialize_part_xml
from docx.oxml.ns import nsmap
from docx.oxml.parser import parse_xml
from docxtpl import DocxTemplate
from jinja2 import Template, TemplateError
from lxml import etree

from .catalogue import Form, form
from .notice_layout import title_lines
from .rendering import (
    _VALUE,
    NOTES,
    PROPERTIES,
    TemplateProblem,
    _title_template,
    context,
    document,
    environment,
    template_source,
)

DOCUMENT = "word/document.xml"
_BODY = re.compile(r"<w:body>.*</w:body>|<w:body/>", re.DOTALL)
_TAG = re.compile(r"\{[{%#]")
_RESIZING = re.compile(r"\{%-?\s*(?:tc\s|hm\s*-?%\}|colspan\s)")  # tags after which docxtpl fixes a table's grid
_DECLARATION = "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"  # as python-docx writes a part
_Render = Callable[[Mapping[str, Any]], bytes]


@dataclass(frozen=True)
class _Member:
    """One part of the .docx, compressed once: its name, CRC, sizes and deflated bytes."""

    name: bytes
    crc: int
    size: int
    data: bytes


def _deflate(name: str, raw: bytes) -> _Member:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = compressor.compress(raw) + compressor.flush()
    return _Member(name.encode("utf-8"), zlib.crc32(raw), len(raw), data)


class _Unprepared(Exception):
    """A construct the fast path does not prepare: the template is rendered by docxtpl, a document at a time."""


class PreparedTemplate:
    """The template of a form (or a user's ``template``, .docx bytes), ready to render many rows quickly.

    ``plain`` is empty, or says why this template is rendered a document at a time by docxtpl (slower, the same
    text)."""

    def __init__(self, target: Form | str, template: bytes | None = None, draft: bool = False) -> None:
        self.form = form(target)
        self._source = (template, draft)
        source = template if template is not None else template_source(self.form)
        self._name = "模板" if template is not None else self.form.id
        self._env = environment(draft, self.form)
        self.plain = ""
        self._plain_source = b""
        docx = DocxTemplate(io.BytesIO(source))
        docx.init_docx()
        self._docx = docx  # its patch_xml, resolve_listing and fix_tables are docxtpl's own
        try:
            self._prepare(source)
        except _Unprepared as exc:
            self.plain = f"批量模式无法预先处理此模板（{exc}），改为逐份用 docxtpl 渲染：内容相同，速度较慢"
            self._plain_source = source

    def _prepare(self, source: bytes) -> None:
        docx = self._docx
        with zipfile.ZipFile(io.BytesIO(source)) as archive:
            names = archive.namelist()
            parts = {name: archive.read(name) for name in names}
        if len(set(names)) != len(names):
            raise _Unprepared("压缩包中有重名的部件")
        main = str(docx.docx.part.partname).lstrip("/")
        if main != DOCUMENT:
            raise _Unprepared(f"正文部件是 {main}，不是 {DOCUMENT}")
        document_part = parts[DOCUMENT].decode("utf-8")
        where = _BODY.search(document_part)
        if not where:
            raise _Unprepared(f"{DOCUMENT} 中没有 <w:body> 正文")
        renders: dict[str, _Render | bytes] = {}  # a part rendered per row, or its bytes as docxtpl leaves it
        head, tail = document_part[:where.start()], document_part[where.end():]
        body = docx.get_xml()
        resize = bool(_RESIZING.search(re.sub(r"<[^>]+>", "", body))) or "docPr" in body
        renders[DOCUMENT] = self._part(DOCUMENT, body, lambda xml: head + (self._resized(xml) if resize else xml)
                                       + tail)  # namespaces repeated on w:body: valid
        for uri in (RELATIONSHIP_TYPE.HEADER, RELATIONSHIP_TYPE.FOOTER):  # as docxtpl finds them
            for _, part in docx.get_headers_footers(uri):
                name = self._member(part, parts)
                renders[name] = self._part(name, docx.get_part_xml(part), lambda xml: _DECLARATION + xml,
                                           parts[name])
        for part in docx.docx.part.package.parts:
            if part.content_type in NOTES:
                name = self._member(part, parts)
                raw = parts[name].decode("utf-8")
                renders[name] = self._part(name, raw, lambda xml: xml, parts[name])
            elif part.content_type == CONTENT_TYPE.OPC_CORE_PROPERTIES:
                name = self._member(part, parts)
                core = self._properties(name, parts[name])
                if core is not None:
                    renders[name] = core
        members: list[_Member | None] = []
        self._slots: list[tuple[str, _Render]] = []  # the parts rendered per row, in the archive's order
        for name in names:
            made = renders.get(name, parts[name])
            if isinstance(made, bytes):
                members.append(_deflate(name, made))
            else:
                members.append(None)
                self._slots.append((name, made))
        self._archive = _Layout(members)

    @staticmethod
    def _member(part: Any, parts: Mapping[str, bytes]) -> str:
        name = str(part.partname).lstrip("/")
        if name not in parts:
            raise _Unprepared(f"找不到部件 {name}")
        return name

    def _part(self, name: str, xml: str, wrap: Callable[[str], str], original: bytes | None = None
              ) -> _Render | bytes:
        """How the part ``name`` (``xml`` as docxtpl reads it) is made for a row: rendered by a template compiled
        once, or — without a tag — the same bytes every time: ``original`` when docxtpl leaves its text as it is."""
        patched = self._docx.patch_xml(xml)
        if not _TAG.search(patched):
            left = self._finished(patched)
            return original if original is not None and left == xml else wrap(left).encode("utf-8")
        try:
            template = self._env.from_string(re.sub(r"<w:p([ >])", r"\n<w:p\1", patched))  # as docxtpl does
        except TemplateError as exc:
            raise TemplateProblem(f"{self._name}: 模板错误{_where(name)} {exc}") from None

        def render(data: Mapping[str, Any]) -> bytes:
            return wrap(self._rendered(template, data, name)).encode("utf-8")
        return render

    def _rendered(self, template: Template, data: Mapping[str, Any], name: str) -> str:
        try:
            xml = template.render(data)
        except (TemplateError, OverflowError) as exc:
            raise TemplateProblem(f"{self.form.id}: 模板错误{_where(name)} {exc}") from None
        return self._finished(xml)

    def _finished(self, xml: str) -> str:
        """What docxtpl does to a part's XML after Jinja."""
        xml = xml.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")  # docxtpl's re.sub, faster
        if "{" in xml or "}" in xml:  # what docxtpl does next finds nothing without a brace
            xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        if any(mark in xml for mark in "\n\t\a\f"):  # only a value with a line break, tab … needs this pass
            xml = self._docx.resolve_listing(xml)
        return str(xml)

    def _resized(self, body: str) -> str:
        """The body as docxtpl leaves it after rendering: the grid of a table whose columns a loop made fitted to
        them, and the drawings numbered anew (docxtpl's ``fix_tables`` and ``fix_docpr_ids``)."""
        try:
            tree = self._docx.fix_tables(body)
        except (AttributeError, TypeError, ValueError) as exc:
            raise TemplateProblem(f"{self._name}: 表格无法调整列宽（{type(exc).__name__}）") from None
        for number, drawing in enumerate(tree.xpath("//wp:docPr", namespaces=nsmap), start=1001):
            drawing.attrib["id"] = str(number)
        return str(etree.tostring(tree, encoding="unicode"))

    def _properties(self, name: str, raw: bytes) -> _Render | None:
        """The core properties (docProps/core.xml) rendered per row, when a property docxtpl renders has a tag."""
        values = {p: getattr(CoreProperties(parse_xml(raw)), p) for p in PROPERTIES}
        if not any(_TAG.search(v) for v in values.values()):
            return None
        try:
            templates = {p: self._env.from_string(v) for p, v in values.items()}
        except TemplateError as exc:
            raise TemplateProblem(f"{self._name}: 模板错误{_where(name)} {exc}") from None

        def render(data: Mapping[str, Any]) -> bytes:
            element = parse_xml(raw)
            properties = CoreProperties(element)
            for prop, template in templates.items():
                try:
                    setattr(properties, prop, template.render(data))  # as docxtpl sets them
                except (TemplateError, OverflowError) as exc:
                    raise TemplateProblem(f"{self.form.id}: 模板错误{_where(name)} {exc}") from None
            return serialize_part_xml(element)
        return render

    def __reduce__(self) -> tuple[Any, ...]:
        return (PreparedTemplate, (self.form, *self._source))

    def context(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """What the template sees for one row: ``rendering.context``, with a notice's title laid out once for all
        the rows that print the same title (the layout is most of a row's rendering, and a batch's rows mostly
        share their title)."""
        draft = self._source[1]
        if not self.form.is_notice:
            return context(data, target=self.form, draft=draft)
        result = context(data, draft=draft)
        template, capacity = _title_template(self.form, draft)
        result["notice_title"] = _laid_out(template.render(data).strip(), capacity) if template is not None else ""
        return result

    def render_bytes(self, data: Mapping[str, Any]) -> bytes:
        """The whole .docx of one row, as bytes."""
        if self.plain:
            return document(self.form, data, draft=self._source[1], template=self._plain_source, name=self._name)
        seen = self.context(data) if self._slots else {}
        return self._archive.zip([_deflate(name, render(seen)) for name, render in self._slots])


def _where(name: str) -> str:
    return "" if name == DOCUMENT else f"（{name}）"


@lru_cache(maxsize=1024)
def _laid_out(title: str, capacity: int) -> str:
    """A rendered title (values between the marks ``rendering`` puts around them) in lines, as
    ``rendering.notice_title`` lays it out."""
    parts = _VALUE.split(title)
    return "\n".join(title_lines([(part, index % 2 == 1) for index, part in enumerate(parts)], capacity))


class _Layout:
    """The zip archive of a .docx (its format, written by hand) around the members a row changes (its slots, None
    in ``members``): the runs of parts between them packed once; their entries in the central directory too, but
    for the offsets after the first slot, which move with the lengths of the row's members."""

    def __init__(self, members: list[_Member | None]) -> None:
        runs: list[list[_Member]] = [[]]
        for member in members:
            if member is None:
                runs.append([])
            else:
                runs[-1].append(member)
        self.count = len(members)
        self.runs = [_placed(run) for run in runs]  # each member with its offset from its run's start
        self.packed = [b"".join(_local(m) for m in run) for run in runs]
        self.central_first = b"".join(_central(m, offset) for m, offset in self.runs[0])

    def zip(self, rendered: list[_Member]) -> bytes:
        """The whole archive with the row's ``rendered`` members in their slots, in order."""
        pieces, central = [self.packed[0]], [self.central_first]
        start = len(self.packed[0])
        for member, run, packed in zip(rendered, self.runs[1:], self.packed[1:], strict=True):
            own = _local(member)
            central.append(_central(member, start))
            start += len(own)
            central += [_central(m, start + offset) for m, offset in run]
            pieces += (own, packed)
            start += len(packed)
        directory = b"".join(central)
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, self.count, self.count, len(directory), start, 0)
        return b"".join((*pieces, directory, end))


def _placed(members: list[_Member]) -> list[tuple[_Member, int]]:
    """The members, each with the offset of its local header from the first one's."""
    placed, offset = [], 0
    for member in members:
        placed.append((member, offset))
        offset += len(_local(member))
    return placed


def _local(member: _Member) -> bytes:
    """A member's local header and its deflated bytes."""
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, member.crc, len(member.data), member.size,
                       len(member.name), 0) + member.name + member.data


def _central(member: _Member, offset: int) -> bytes:
    """A member's entry in the central directory, its local header at ``offset``."""
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, member.crc, len(member.data),
                       member.size, len(member.name), 0, 0, 0, 0, 0, offset) + member.name
