"""Reading a submitted PDF into what a clerk sees: table rows of cells and lines of text, in reading order.

Unusable files are told apart with one clear reason: not a PDF, empty, truncated, encrypted, a scan with no
text layer, fonts that only decode to ``(cid:NNN)``. Pages are closed as soon as they are read, so memory stays
flat on long files. Known quirks of Chinese PDFs are handled here: characters doubled by fake bold
(``dedupe_chars``) and the page numbers ``— 1 —`` are dropped. ``Row`` and ``Line`` are also what a Word file is
read into (``docx_reading``), so one extraction walks both.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfplumber.utils.exceptions import PdfminerException

from .errors import UnusableInput

_PAGE_NUMBER = re.compile(r"^[—\-–]\s*\d+\s*[—\-–]$")
_CID = re.compile(r"\(cid:\d+\)")
Box = tuple[float, float, float, float]


@dataclass
class Row:
    """One row of a ruled table: its cells' texts (``None`` where a merged cell continues) and boxes (``None``
    where none is known: a Word file's)."""

    cells: list[str | None]
    boxes: list[Box | None]
    page: int
    top: float


@dataclass
class Line:
    """One line of text outside the tables (of a Word file: one paragraph; no box)."""

    text: str
    page: int
    top: float
    box: Box | None = field(default=(0, 0, 0, 0))


Token = Row | Line


def read_pdf(data: bytes, name: str = "<PDF>") -> tuple[list[Token], int]:
    """The rows and lines of every page of the PDF ``data`` in reading order, and the number of pages;
    ``UnusableInput`` naming ``name`` when it can't be read."""
    if not data.strip():
        raise UnusableInput(name, "文件为空 (empty file)")
    if b"%PDF-" not in data[:1024]:
        raise UnusableInput(name, "不是 PDF 文件 (not a PDF)")
    tokens: list[Token] = []
    chars = 0
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = len(pdf.pages)
            for number, page in enumerate(pdf.pages, start=1):
                clean = page.dedupe_chars()
                text_chars = [c for c in clean.chars if c["text"].strip()]
                chars += len(text_chars)
                tokens += _page_tokens(clean, number)
                page.close()
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise UnusableInput(name, "PDF 已加密，无法读取 (encrypted)") from None
    except (PdfminerException, PDFSyntaxError, ValueError, KeyError, TypeError, AttributeError) as exc:
        cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise UnusableInput(name, "PDF 已加密，无法读取 (encrypted)") from None
        raise UnusableInput(name, f"PDF 文件已损坏或不完整 (truncated or damaged: {type(cause).__name__})") from None
    tokens = _join_split_rows(tokens)
    cid = sum(len(_CID.findall(t.text if isinstance(t, Line) else " ".join(c or "" for c in t.cells)))
              for t in tokens)
    if chars == 0:
        raise UnusableInput(name, "没有文字层：这是扫描件，请提交由 Word/WPS 直接导出的 PDF "
                                  "(no text layer: the PDF is a scan)")
    if cid > max(10, chars // 20):
        raise UnusableInput(name, "字体无法解码，文字读出为 (cid:NNN)；请嵌入字体后重新导出 PDF (undecodable fonts)")
    return tokens, pages


def _page_tokens(page: Any, number: int) -> list[Token]:
    tables = page.find_tables()
    tokens: list[Token] = []
    for table in tables:
        for row, texts in zip(table.rows, table.extract(x_tolerance=3), strict=True):
            if any(texts):
                tokens.append(Row([t if t is None else t.strip() for t in texts], list(row.cells), number,
                                  row.bbox[1]))
    boxes = [t.bbox for t in tables]
    for line in page.extract_text_lines(x_tolerance=3, strip=True, return_chars=False):
        middle = (line["top"] + line["bottom"]) / 2
        if any(b[1] <= middle <= b[3] and b[0] <= line["x0"] + 1 and line["x1"] - 1 <= b[2] for b in boxes):
            continue
        if _PAGE_NUMBER.match(line["text"].replace(" ", "")):
            continue
        tokens.append(Line(line["text"], number, line["top"], (line["x0"], line["top"], line["x1"], line["bottom"])))
    tokens.sort(key=lambda t: t.top)
    return tokens


def _join_split_rows(tokens: list[Token]) -> list[Token]:
    """A row broken across a page end comes back whole: the next page's first row, if its first cell is
    empty and its cells line up with the last row of the page before, continues that row."""
    joined: list[Token] = []
    for token in tokens:
        previous = joined[-1] if joined else None
        if (isinstance(token, Row) and isinstance(previous, Row) and token.page == previous.page + 1
                and not token.cells[0] and _first_on_page(tokens, token) and continue_row(previous, token)):
            continue
        joined.append(token)
    return joined


def continue_row(first: Row, rest: Row) -> bool:
    """Append the cells of ``rest`` (a row's part on the next page) to ``first``, cell by cell, if they line
    up: the same number of cells holding text (the two pages' tables may be ruled into different grids)."""
    mine = [i for i, c in enumerate(first.cells) if c is not None]
    theirs = [c for c in rest.cells if c is not None]
    if len(mine) != len(theirs):
        return False
    for position, more in zip(mine, theirs, strict=True):
        here = first.cells[position] or ""
        first.cells[position] = f"{here}\n{more}" if here and more else (here or more)
    return True


def _first_on_page(tokens: list[Token], token: Token) -> bool:
    return next(t for t in tokens if t.page == token.page) is token
