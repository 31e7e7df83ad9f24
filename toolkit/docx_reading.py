"""Reading a submitted Word file (.docx) straight from its XML into the rows and lines a PDF gives (``pdf_reading``).

Tables become ``Row``s — the cells' texts by grid position, ``None`` where a merged cell continues (across,
``w:gridSpan``; down, ``w:vMerge``) — and the paragraphs outside tables ``Line``s, in document order, so that
extraction walks a Word file as it walks the PDF of it. A paragraph's text is its runs' text (inserted text
counts, deleted text and a content control's placeholder do not); a line break (``w:br``) is ``\\n``; a box ticked
with a symbol font (``R`` in Wingdings 2) is ``☑``. Word keeps no boxes (``None``), and a page is 1 plus the
explicit page breaks before it. Unusable files are told apart with one clear reason: a zip that is no Word
file, a damaged one, and an encrypted or old-format (.doc) one, which is an OLE compound file.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.parser import parse_xml
from docx.package import Package
from lxml import etree

from .errors import UnusableInput
from .pdf_reading import Line, Row, Token

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of .doc, .xls and of an encrypted .docx
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
P, TBL, TR, TC, R, T = (f"{_W}{name}" for name in ("p", "tbl", "tr", "tc", "r", "t"))
_WRAPPERS = {f"{_W}{name}" for name in ("sdt", "sdtContent", "customXml", "ins", "moveTo")}  # content inside
_INLINE = _WRAPPERS | {f"{_W}{name}" for name in ("r", "hyperlink", "smartTag", "fldSimple", "dir", "bdo")}
_WORD_TYPES = {f"application/vnd.{kind}.main+xml" for kind in (
    "openxmlformats-officedocument.wordprocessingml.document", "ms-word.document.macroEnabled",
    "openxmlformats-officedocument.wordprocessingml.template", "ms-word.template.macroEnabledTemplate")}
# Ticks and boxes of the symbol fonts, as Word users make them (type ``R``, set Wingdings 2): (font, code) → text
_SYMBOLS = {("wingdings 2", 0x52): "☑", ("wingdings 2", 0xA3): "☐", ("wingdings", 0xFE): "☑",
            ("wingdings", 0xA8): "☐"}


def is_word(data: bytes) -> bool:
    """``data`` is a zip (.docx) or an OLE compound file (.doc, an encrypted .docx): what ``read_docx`` takes."""
    return data[:2] == b"PK" or data[:8] == OLE


def read_docx(data: bytes, name: str = "<Word>") -> list[Token]:
    """The rows and lines of the Word file ``data`` in document order; ``UnusableInput`` naming ``name`` when it
    can't be read."""
    if data[:8] == OLE:
        raise UnusableInput(name, _ole_reason(data))
    body = _body(data, name)
    tokens = list(_Reader().blocks(body))
    if not tokens:
        raise UnusableInput(name, "Word 文件中没有文字：请提交填写好的表格，而非图片或空白文件 (no text)")
    return tokens


def _ole_reason(data: bytes) -> str:
    """An OLE file that is a Word document (encrypted .docx, or .doc) — or something else altogether (.xls)."""
    streams = ("EncryptedPackage", "WordDocument")
    if any(stream.encode("utf-16-le") in data for stream in streams):
        return "Word 文件已加密或为旧版 .doc 格式，请另存为 .docx (encrypted or .doc)"
    return "不是 PDF 或 Word 文件 (not a PDF or .docx)"


def _body(data: bytes, name: str) -> Any:
    """The ``w:body`` of the main document part (of a .docx, or of a .docm, .dotx or .dotm)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "[Content_Types].xml" not in archive.namelist():
                raise UnusableInput(name, "不是 PDF 或 Word 文件 (not a PDF or .docx)")
        part = Package.open(io.BytesIO(data)).main_document_part
        if part.content_type not in _WORD_TYPES:  # an .xlsx, a .pptx …
            raise UnusableInput(name, "不是 PDF 或 Word 文件 (not a PDF or .docx)")
        root = part.element if hasattr(part, "element") else parse_xml(part.blob)  # python-docx's safe parser
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, EOFError, zlib.error,
            etree.XMLSyntaxError, NotImplementedError, OSError):
        raise UnusableInput(name, "Word 文件已损坏 (damaged .docx)") from None
    body = root.find(f"{_W}body")
    if body is None:
        raise UnusableInput(name, "Word 文件已损坏 (damaged .docx)")
    return body


def _content(element: Any, tag: str) -> Iterator[Any]:
    """The children of ``element`` with ``tag``, also those wrapped in content controls and custom XML."""
    for child in element:
        if child.tag == tag:
            yield child
        elif child.tag in _WRAPPERS and not _placeholder(child):
            yield from _content(child, tag)


def _placeholder(element: Any) -> bool:
    """A content control still showing its prompt (``单击或点击此处输入文字``): nothing was filled in."""
    return element.tag == f"{_W}sdt" and element.find(f"{_W}sdtPr/{_W}showingPlcHdr") is not None


class _Reader:
    """Walks a body in document order, counting the explicit page breaks."""

    def __init__(self) -> None:
        self.page, self.order = 1, 0

    def blocks(self, container: Any) -> Iterator[Token]:
        for child in container:
            if child.tag == P:
                yield from self.paragraph(child)
            elif child.tag == TBL:
                yield from self.table(child)
            elif child.tag in _WRAPPERS and not _placeholder(child):
                yield from self.blocks(child)

    def paragraph(self, p: Any) -> Iterator[Line]:
        brk = p.find(f"{_W}pPr/{_W}pageBreakBefore")
        if brk is not None and _on(brk) and self.order:
            self.page += 1
        page = self.page
        text = self.text(p).strip()
        if text:
            self.order += 1
            yield Line(text, page, float(self.order), None)

    def table(self, tbl: Any) -> Iterator[Row]:
        for tr in _content(tbl, TR):
            if tr.find(f"{_W}trPr/{_W}del") is not None:  # a row deleted with changes tracked
                continue
            page = self.page
            cells: list[str | None] = [None] * _grid(tr, "gridBefore")
            for tc in _content(tr, TC):
                properties = tc.find(f"{_W}tcPr")
                span = (_grid(properties, "gridSpan") or 1) if properties is not None else 1
                merge = properties.find(f"{_W}vMerge") if properties is not None else None
                continued = merge is not None and merge.get(f"{_W}val", "continue") == "continue"
                cells += [None if continued else self.cell(tc)] + [None] * (span - 1)
            cells += [None] * _grid(tr, "gridAfter")
            if any(cells):
                self.order += 1
                yield Row(cells, [None] * len(cells), page, float(self.order))

    def cell(self, tc: Any) -> str:
        """A cell's paragraphs (a table nested in it, row by row, included), one line each."""
        lines = [self.text(p).strip() for p in _paragraphs(tc)]
        return "\n".join(line for line in lines if line)

    def text(self, element: Any, font: str = "") -> str:
        """The text of the runs inside ``element``: ``w:t``, tabs, line breaks; a page break is counted."""
        parts: list[str] = []
        for child in element:
            tag = child.tag
            if tag == T:
                parts.append(_symbol_text(font, child.text or "") if font else child.text or "")
            elif tag == f"{_W}tab":
                parts.append("\t")
            elif tag in (f"{_W}br", f"{_W}cr"):
                if child.get(f"{_W}type") == "page":
                    self.page += 1
                else:
                    parts.append("\n")
            elif tag == f"{_W}noBreakHyphen":
                parts.append("-")
            elif tag == f"{_W}sym":
                parts.append(_symbol(child))
            elif tag == f"{_W}sdt" and child.find(f"{_W}sdtPr/{_W14}checkbox") is not None:
                parts.append(_checkbox(child))
            elif tag == R and _hidden(child):
                continue
            elif tag in _INLINE and not _placeholder(child):
                parts.append(self.text(child, _run_font(child) if tag == R else font))
        return "".join(parts)


def _on(element: Any) -> bool:
    """A Word on/off property: present, and not ``false``/``0``/``off``."""
    return element.get(f"{_W}val", "true") not in ("false", "0", "off")


def _hidden(run: Any) -> bool:
    """A run formatted as hidden text (``w:vanish``): not printed, so not read."""
    vanish = run.find(f"{_W}rPr/{_W}vanish")
    return vanish is not None and _on(vanish)


def _grid(element: Any, name: str) -> int:
    """The number in ``w:trPr/w:<name>`` of a row, or ``w:<name>`` of a cell's properties; 0 when absent."""
    found = element.find(f"{_W}{name}") if element.tag == f"{_W}tcPr" else element.find(f"{_W}trPr/{_W}{name}")
    try:
        return int(found.get(f"{_W}val")) if found is not None else 0
    except (TypeError, ValueError):
        return 0


def _run_font(run: Any) -> str:
    """The symbol font of a run, if it is set in one (``Wingdings 2``): then its letters are glyphs."""
    fonts = run.find(f"{_W}rPr/{_W}rFonts")
    font = (fonts.get(f"{_W}ascii") or fonts.get(f"{_W}hAnsi") or "") if fonts is not None else ""
    return font.lower() if font.lower().startswith("wingdings") else ""


def _paragraphs(container: Any) -> Iterator[Any]:
    """The paragraphs of a cell in order, those of a table nested in it included (not those of text boxes)."""
    for child in container:
        if child.tag == P:
            yield child
        elif child.tag in (TBL, TR, TC) or child.tag in _WRAPPERS and not _placeholder(child):
            yield from _paragraphs(child)


def _checkbox(sdt: Any) -> str:
    """A check box content control (Word's 开发工具 → 复选框): ``☑`` when ticked, ``☐`` when not, whatever
    glyph it shows."""
    checked = sdt.find(f"{_W}sdtPr/{_W14}checkbox/{_W14}checked")
    return "☑" if checked is not None and checked.get(f"{_W14}val", "1") in ("1", "true") else "☐"


def _symbol(sym: Any) -> str:
    """A symbol inserted from a font (``w:sym``): a box of the symbol fonts, or its character if it is one."""
    try:
        character = chr(int(sym.get(f"{_W}char", ""), 16))
    except (ValueError, OverflowError):
        return ""
    text = _symbol_text(sym.get(f"{_W}font", ""), character)
    return "" if 0xE000 <= ord(text[0]) <= 0xF8FF else text  # a glyph of a private area: no text


def _symbol_text(font: str, text: str) -> str:
    """Letters of a symbol font as what they show: a ticked or an empty box; other glyphs as they are."""
    font = font.lower()
    return "".join(_SYMBOLS.get((font, ord(c) & 0xFF if 0xF000 <= ord(c) <= 0xF0FF else ord(c)), c) for c in text)
