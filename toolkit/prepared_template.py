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
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import TemplateError

from .catalogue import Form, form
from .rendering import TemplateProblem, context, environment, template_source

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
        self._document = parts[DOCUMENT].decode("utf-8")
        if not _BODY.search(self._document):
            raise TemplateProblem(f"{name}: {DOCUMENT} 中没有正文")
        self._members = [(_deflate(n, parts[n]) if n != DOCUMENT else None) for n in names]

    def __reduce__(self) -> tuple[Any, ...]:
        return (PreparedTemplate, (self.form, *self._source))

    def document_xml(self, data: Mapping[str, Any]) -> str:
        """The rendered ``word/document.xml`` for one row."""
        try:
            body = self._body.render(context(data, target=self.form, draft=self._source[1]))
        except (TemplateError, OverflowError) as exc:
            raise TemplateProblem(f"{self.form.id}: 模板错误 {exc}") from None
        body = re.sub(r"\n<w:p([ >])", r"<w:p\1", body)
        body = body.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        if any(mark in body for mark in "\n\t\a\f"):  # only a value with a line break, tab … needs this pass
            body = self._listing(body)
        return _BODY.sub(lambda _: body, self._document, count=1)  # namespaces repeated on w:body: valid

    def render_bytes(self, data: Mapping[str, Any]) -> bytes:
        """The whole .docx of one row, as bytes."""
        document = _deflate(DOCUMENT, self.document_xml(data).encode("utf-8"))
        return _zip([m if m is not None else document for m in self._members])


def _zip(members: list[_Member]) -> bytes:
    """A zip archive of already-deflated members (the format of a .docx), written by hand so that unchanged
    parts are copied, not compressed again."""
    local, central = [], []
    offset = 0
    for member in members:
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, member.crc, len(member.data),
                             member.size, len(member.name), 0)
        local.append(header + member.name + member.data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, member.crc,
                                   len(member.data), member.size, len(member.name), 0, 0, 0, 0, 0, offset)
                       + member.name)
        offset += len(local[-1])
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(local) + directory + end
