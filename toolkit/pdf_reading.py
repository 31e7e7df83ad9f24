"""Reading a submitted PDF into what a clerk sees: table rows of cells and lines of text, in reading order.

Unusable files are told apart with one clear reason: not a PDF, empty, truncated, encrypted, a scan with no
text layer, fonts that only decode to ``(cid:NNN)``; a file past its ``Budget`` (seconds, pages, the inflated size
of its streams) is refused before it costs more. Pages are closed as soon as they are read, so memory stays
flat on long files. Known quirks of Chinese PDFs are handled here: characters doubled by fake bold are dropped;
characters are grouped into lines by their baselines, not by the boxes their fonts claim (a reprint by a viewer
puts CJK boxes 0.8 em below the Latin ones of the same line); running headers and footers — page numbers
(``— 1 —``, ``第 4 页 共 8 页``) and lines repeated at the top or bottom of pages — and ``（以下无正文）`` are
skipped. ``Row`` and ``Line`` are also what a Word file is read into (``docx_reading``), so one extraction walks
both.
"""

from __future__ import annotations

import io
import re
import signal
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfplumber.page import FilteredPage
from pdfplumber.utils.exceptions import PdfminerException

from .errors import UnusableInput

_PAGE_NUMBER = re.compile(r"^[—\-–]\s*\d+\s*[—\-–]$")
# a page number as word processors and viewers print it (squeezed): 第4页共8页, 第4页, 4/8, Page 4 of 8, - 4 -, 4
_PAGE_NUMBER_ANY = re.compile(r"^(?:第\d+页(?:[,，/]?共\d+页)?|共\d+页[,，]?第\d+页|[—\-–]?\d+[—\-–]?|\d+/\d+"
                              r"|(?:page|p\.?)\d+(?:of\d+)?)$", re.IGNORECASE)
_PAGE_NUMBER_END = re.compile(r"\s*(?:第\s*\d+\s*页\s*[,，/]?\s*共\s*\d+\s*页|共\s*\d+\s*页\s*第\s*\d+\s*页)\s*$")
_NO_MORE_TEXT = re.compile(r"^[（(]?以下(?:无正文|空白|无内容)[）)]?$")
_MARGIN = 0.1  # of the page's height: where running headers and footers stand
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


@dataclass(frozen=True)
class Budget:
    """What one submitted file may cost before it is refused: seconds of reading, pages, the inflated size of
    any one stream (a 195 KB file may inflate to 200 MB) and of all streams together. The command line and the
    web upload use the same ``BUDGET``."""

    seconds: float = 60
    pages: int = 200
    stream_bytes: int = 50 * 2**20
    total_bytes: int = 400 * 2**20


BUDGET = Budget()
_STREAM = re.compile(rb"(?<!end)stream\r?\n")


def check_budget(data: bytes, name: str, budget: Budget = BUDGET) -> None:
    """Refuse a PDF one of whose compressed streams inflates past the budget, before any of it is parsed: each
    Flate stream is inflated at most to the cap, in pieces, and thrown away."""
    total = 0
    for match in _STREAM.finditer(data):
        end = data.find(b"endstream", match.end())
        if end < 0:
            break
        inflater = zlib.decompressobj()
        size, chunk = 0, data[match.end():end]
        try:
            while chunk and size <= budget.stream_bytes:
                size += len(inflater.decompress(chunk, 2**20))
                chunk = inflater.unconsumed_tail
        except zlib.error:
            continue  # not Flate (or damaged): pdfminer judges it
        total += size
        if size > budget.stream_bytes or total > budget.total_bytes:
            raise OverBudget(name, f"PDF 中的数据流解压后超过 {budget.stream_bytes // 2**20} MB 的上限，已拒绝 "
                                      "(a stream inflates past the budget)")


class OverBudget(UnusableInput):
    """A file refused because reading it would cost more than its ``Budget``: never to be tried another way."""


class _Overrun(BaseException):  # not an Exception: no library on the way catches and wraps it
    pass


@contextmanager
def time_budget(seconds: float, name: str) -> Iterator[None]:
    """Stop reading after ``seconds`` with ``UnusableInput`` (on the main thread of a POSIX process: the command
    line and each worker of ``extract_many``; elsewhere no limit is set here)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def overrun(signum: int, frame: Any) -> None:
        raise _Overrun

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Overrun:
        raise OverBudget(name, f"读取超过 {seconds:g} 秒的时间上限，已放弃 (over the time budget)") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read_pdf(data: bytes, name: str = "<PDF>", budget: Budget = BUDGET) -> tuple[list[Token], int]:
    """The rows and lines of every page of the PDF ``data`` in reading order, and the number of pages;
    ``UnusableInput`` naming ``name`` when it can't be read, or costs more than the ``budget``."""
    if not data.strip():
        raise UnusableInput(name, "文件为空 (empty file)")
    if b"%PDF-" not in data[:1024]:
        raise UnusableInput(name, "不是 PDF 文件 (not a PDF)")
    with time_budget(budget.seconds, name):
        check_budget(data, name, budget)
        return _read_pdf(data, name, budget)


def _read_pdf(data: bytes, name: str, budget: Budget) -> tuple[list[Token], int]:
    tokens: list[Token] = []
    heights: dict[int, float] = {}
    chars = 0
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = len(pdf.pages)
            if pages > budget.pages:
                raise OverBudget(name, f"PDF 有 {pages} 页，超过 {budget.pages} 页的上限 (too many pages)")
            for number, page in enumerate(pdf.pages, start=1):
                clean = deduped(page)
                on_baselines(clean.chars)
                text_chars = [c for c in clean.chars if c["text"].strip()]
                chars += len(text_chars)
                tokens += _page_tokens(clean, number)
                heights[number] = float(page.height)
                page.close()
    except MemoryError:
        raise OverBudget(name, "读取 PDF 超出内存上限，已放弃 (over the memory budget)") from None
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise UnusableInput(name, "PDF 已加密，无法读取 (encrypted)") from None
    except (PdfminerException, PDFSyntaxError, ValueError, KeyError, TypeError, AttributeError) as exc:
        cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise UnusableInput(name, "PDF 已加密，无法读取 (encrypted)") from None
        raise UnusableInput(name, f"PDF 文件已损坏或不完整 (truncated or damaged: {type(cause).__name__})") from None
    tokens = _join_split_rows(_without_furniture(tokens, heights))
    cid = sum(len(_CID.findall(t.text if isinstance(t, Line) else " ".join(c or "" for c in t.cells)))
              for t in tokens)
    if chars == 0:
        raise UnusableInput(name, "没有文字层：这是扫描件，请提交由 Word/WPS 直接导出的 PDF "
                                  "(no text layer: the PDF is a scan)")
    if cid > max(10, chars // 20):
        raise UnusableInput(name, "字体无法解码，文字读出为 (cid:NNN)；请嵌入字体后重新导出 PDF (undecodable fonts)")
    return tokens, pages


def deduped(page: Any) -> Any:
    """The page without the doubles of fake bold: a character drawn again within 1 pt of itself (the same text,
    font and size) counts once. What ``Page.dedupe_chars`` does, in one pass (it sorts by ``list.index``)."""
    seen: dict[tuple[Any, ...], list[tuple[float, float]]] = {}
    kept = []
    for char in page.chars:
        y, x = char["doctop"], char["x0"]
        key = (char["upright"], char["text"], char["fontname"], char["size"])
        cell_y, cell_x = int(y), int(x)
        if any(abs(y - other_y) <= 1 and abs(x - other_x) <= 1 for dy in (-1, 0, 1) for dx in (-1, 0, 1)
               for other_y, other_x in seen.get((*key, cell_y + dy, cell_x + dx), ())):
            continue
        seen.setdefault((*key, cell_y, cell_x), []).append((y, x))
        kept.append(char)
    clean = FilteredPage(page, lambda _: True)
    clean._objects = {**page.objects, "char": kept}
    return clean


def on_baselines(chars: list[dict[str, Any]]) -> None:
    """Put each upright character's box on its baseline, one font size high (in place): producers disagree on
    fonts' descents (a cairo reprint puts CJK glyphs' boxes 0.8 em below the Latin ones of the same line), so
    lines and cells are grouped by where the glyphs stand, never by the boxes the fonts claim."""
    for char in chars:
        matrix = char.get("matrix")
        if not matrix or not char.get("upright") or matrix[1] or matrix[2]:
            continue
        shift = matrix[5] - char["y0"]
        if shift:
            height = char["y1"] - char["y0"]
            grow = char["size"] - height if char.get("size") else 0
            char["y0"] += shift
            char["y1"] += shift + grow
            char["top"] -= shift + grow
            char["bottom"] -= shift
            char["doctop"] -= shift + grow


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


def _without_furniture(tokens: list[Token], heights: dict[int, float]) -> list[Token]:
    """The tokens without the running headers and footers: lines in a page's top or bottom tenth that are page
    numbers (``第 4 页 共 8 页``, ``4/8``) or stand the same on half the pages or more (two at least), and
    ``（以下无正文）``. A page
    number glued onto the end of a footer-band line (``…30家。第4页 共8页``) is cut off."""
    def in_margin(token: Line) -> bool:
        height = heights.get(token.page, 0)
        return bool(height) and not (height * _MARGIN < token.top < height * (1 - _MARGIN))

    seen: dict[str, set[int]] = {}
    for token in tokens:
        if isinstance(token, Line) and in_margin(token):
            seen.setdefault(re.sub(r"\s+", "", token.text), set()).add(token.page)
    running = max(2, (len(heights) + 1) // 2)  # a running header stands on most pages, a heading twice at most
    kept: list[Token] = []
    for token in tokens:
        if isinstance(token, Line):
            text = re.sub(r"\s+", "", token.text)
            if _NO_MORE_TEXT.match(text):
                continue
            if in_margin(token):
                if _PAGE_NUMBER_ANY.match(text) or len(seen.get(text, ())) >= running:
                    continue
                cut = _PAGE_NUMBER_END.sub("", token.text)
                if cut != token.text and cut.strip():
                    token = Line(cut.rstrip(), token.page, token.top, token.box)
        kept.append(token)
    return kept


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
