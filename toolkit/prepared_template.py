"""A Word template prepared once for many documents: what docxtpl does per render, done a single time.

docxtpl opens the .docx, parses and patches its XML and compiles the Jinja template on every render. Here
the body XML is patched and compiled once; the parts no row changes (styles, fonts, numbering, settings,
footers …) are compressed once and copied into every output as raw bytes; a row costs only the rendering
of its body and the writing of one file. The text is the text of a plain docxtpl render of the same row
(``tests/test_batch.py`` compares them).

A prepared template pickles as its form and template bytes and is prepared again where it is unpickled: that
is how it reaches the worker processes of a batch (through the pool's initializer, under fork or spawn).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import TemplateError

from .catalogue import Form, form
from .notice_layout import title_lines
from .rendering import _VALUE, TemplateProblem, _title_template, context, environment, template_source

DOCUMENT = "word/document.xml"
_BODY = re.compile(r"<w:body>.*</w:body>|<w:body/>", re.DOTALL)
_TAG = re.compile(r"\{[{%#]")


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


class PreparedTemplate:
    """The template of a form (or a user's ``template``, .docx bytes), ready to render many rows quickly."""

    def __init__(self, target: Form | str, template: bytes | None = None, draft: bool = False) -> None:
        self.form = form(target)
        self._source = (template, draft)
        source = template if template is not None else template_source(self.form)
        name = "模板" if template is not None else self.form.id
        document = DocxTemplate(io.BytesIO(source))
        document.init_docx()
        self._listing = document.resolve_listing
        body = document.patch_xml(document.get_xml())
        body = re.sub(r"<w:p([ >])", r"\n<w:p\1", body)  # as docxtpl does, for line numbers in errors
        try:
            self._body = environment(draft, self.form).from_string(body)
        except TemplateError as exc:
            raise TemplateProblem(f"{name}: 模板错误 {exc}") from None
        with zipfile.ZipFile(io.BytesIO(source)) as archive:
            names = archive.namelist()
            parts = {name: archive.read(name) for name in names}
        tagged = [n for n in names if n != DOCUMENT and n.endswith(".xml")
                  and _TAG.search(parts[n].decode("utf-8", "replace"))]
        if tagged:
            raise TemplateProblem(f"{name}: 页眉、页脚或其他部件中含有模板标记（{', '.join(tagged)}），"
                                  "批量模式只渲染正文")
        document_part = parts[DOCUMENT].decode("utf-8")
        where = _BODY.search(document_part)
        if not where:
            raise TemplateProblem(f"{name}: {DOCUMENT} 中没有正文")
        self._head, self._tail = document_part[:where.start()], document_part[where.end():]
        members = [(_deflate(n, parts[n]) if n != DOCUMENT else None) for n in names]
        self._archive = _Layout(members)

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

    def document_xml(self, data: Mapping[str, Any]) -> str:
        """The rendered ``word/document.xml`` for one row."""
        try:
            body = self._body.render(self.context(data))
        except (TemplateError, OverflowError) as exc:
            raise TemplateProblem(f"{self.form.id}: 模板错误 {exc}") from None
        body = body.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")  # docxtpl's re.sub, faster
        if "{" in body or "}" in body:  # what docxtpl does next finds nothing without a brace
            body = body.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        if any(mark in body for mark in "\n\t\a\f"):  # only a value with a line break, tab … needs this pass
            body = self._listing(body)
        return self._head + body + self._tail  # namespaces repeated on w:body: valid

    def render_bytes(self, data: Mapping[str, Any]) -> bytes:
        """The whole .docx of one row, as bytes."""
        return self._archive.zip(_deflate(DOCUMENT, self.document_xml(data).encode("utf-8")))


@lru_cache(maxsize=1024)
def _laid_out(title: str, capacity: int) -> str:
    """A rendered title (values between the marks ``rendering`` puts around them) in lines, as
    ``rendering.notice_title`` lays it out."""
    parts = _VALUE.split(title)
    return "\n".join(title_lines([(part, index % 2 == 1) for index, part in enumerate(parts)], capacity))


class _Layout:
    """The zip archive of a .docx (its format, written by hand) around the one member a row changes: what comes
    before it packed once; what comes after it too, but for the offsets in the central directory, which move with
    the length of the row's member."""

    def __init__(self, members: list[_Member | None]) -> None:
        where = members.index(None)
        before, after = _placed(members[:where]), _placed(members[where + 1:])
        self.count = len(members)
        self.before = b"".join(_local(m) for m, _ in before)
        self.after = b"".join(_local(m) for m, _ in after)
        self.central_before = b"".join(_central(m, offset) for m, offset in before)
        self.central_after = after  # each at its offset from the first part after the row's

    def zip(self, document: _Member) -> bytes:
        """The whole archive with the row's ``document`` in its place."""
        own = _local(document)
        start = len(self.before) + len(own)
        central = b"".join((self.central_before, _central(document, len(self.before)),
                            *(_central(m, start + offset) for m, offset in self.central_after)))
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, self.count, self.count, len(central),
                          start + len(self.after), 0)
        return b"".join((self.before, own, self.after, central, end))


def _placed(members: list[_Member | None]) -> list[tuple[_Member, int]]:
    """The members, each with the offset of its local header from the first one's."""
    placed, offset = [], 0
    for member in members:
        assert member is not None, "a .docx has one word/document.xml"
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
