"""Reading a submitted PDF into what a clerk sees: table rows of cells and lines of text, in reading order.

Unusable files are told apart with one clear reason: not a PDF, empty, truncated, encrypted, a scan with no
text layer, fonts that only decode to ``(cid:NNN)``; a file past its ``Budget`` (seconds, pages, the inflated size
of its streams) is refused before it costs more. Pages are closed as soon as they are read, so memory stays
flat on long files. Known quirks of Chinese PDFs are handled here: characters doubled by fake bold are dropped;
characters are grouped into lines by their baselines, not by the boxes their fonts claim (a reprint by a viewer
puts CJK boxes 0.8 em below the Latin ones of the same line); running headers and footers — page numbers
(``— 1 —``, ``第 4 页 共 8 页``) and lines repeated at the top or bottom of pages — and ``（以下无正文）`` are
skipped. So are the quirks of a page printed by a browser (Chromium): radicals (``⼯``) where ideographs (``工``)
were typed, a space drawn as a control code, a table row broken across pages with no rule at the break and the
table's header repeated atop the next page, the tops of the next page's first glyphs at a page's foot. ``Row``
and ``Line`` are also what a Word file is read into (``docx_reading``), so one extraction walks both.

Reading is the cost of extraction, and most of it is pdfminer's: the page's objects are built from pdfminer's
layout directly (``page_objects``) and a table's cells find their characters by position, so a file is read
sooner than by a plain loop of pdfplumber's ``extract_tables`` and ``extract_text`` (``bench/extract.py``).
"""

from __future__ import annotations

import io
import logging
import re
import signal
import threading
import unicodedata
import zlib
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pdfplumber
from pdfminer.layout import LTChar, LTContainer, LTCurve, LTLine, LTRect
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfplumber.page import FilteredPage
from pdfplumber.utils.exceptions import PdfminerException
from pdfplumber.utils.pdfinternals import resolve_all
from pdfplumber.utils.text import chars_to_textmap, extract_text

from .errors import UnusableInput

# pdfminer warns on stderr of each font it must guess (a Type 3 font without a FontBBox: every Chromium print);
# the reading copes, and the command's error output stays one line a file. A program that configures logging
# still gets them.
logging.getLogger("pdfminer").addHandler(logging.NullHandler())

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


# the radicals of the CJK Radicals Supplement that a font draws with an ideograph's glyph, and that ideograph (as
# Noto CJK maps them; Unicode gives them no decomposition)
_RADICALS = ("⺂乛⺃乚⺅亻⺉刂⺋㔾⺎兀⺏尣⺐尢⺒巳⺓幺⺔彑⺕彐⺖忄⺘扌⺙攵⺛旡⺞歺⺟母⺠民⺡氵⺣灬⺤爫⺦丬⺨犭⺫罒⺭礻"
             "⺯糹⺰纟⺱罓⺲罒⺳㓁⺹耂⺺肀⺾艹⺿艹⻁虎⻂衤⻃覀⻄西⻅见⻆角⻈讠⻉贝⻋车⻌辶⻍辶⻎辶⻐钅⻑長⻒镸⻓长⻔门⻖阝⻘青"
             "⻙韦⻚页⻛风⻜飞⻝食⻟飠⻠饣⻢马⻣骨⻤鬼⻥鱼⻦鸟⻧卤⻨麦⻩黄⻪黾⻫斉⻬齐⻭歯⻮齿⻯竜⻰龙⻱龜⻲亀⻳龟")


def _unified_ideographs() -> dict[int, str]:
    """A radical (``⼯`` U+2F2F, ``⻔`` U+2EC1) or a compatibility ideograph read where the unified ideograph
    (``工``, ``门``) was typed → that ideograph: fonts whose ToUnicode names a glyph by the first code point mapped
    to it (Chromium's Type 3 fonts do) give them; so does a space drawn as a control code (``\\x01``)."""
    table = {ord(radical): ideograph for radical, ideograph in zip(_RADICALS[::2], _RADICALS[1::2], strict=True)}
    table |= {code: " " for code in (*range(0x09), *range(0x0B, 0x20), 0x7F)}  # a space drawn as a control code
    for code in (*range(0x2F00, 0x2FE0), *range(0xF900, 0xFB00)):
        same = unicodedata.normalize("NFKC" if code < 0xF900 else "NFC", chr(code))
        if len(same) == 1 and same != chr(code):
            table[code] = same
    return table


_UNIFIED = _unified_ideographs()


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
    # again every 0.1 s once over: a raise that lands where Python swallows it (a gc callback, a __del__) is not
    # the end of the budget
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
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
    tokens = _join_split_rows(_without_slivers(_without_furniture(tokens, heights), heights))
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
    font and size) counts once. What ``Page.dedupe_chars`` does, in one pass (it sorts by ``list.index``), over
    the objects of ``page_objects``."""
    objects = page_objects(page)
    seen: dict[tuple[Any, ...], dict[tuple[int, int], list[tuple[float, float]]]] = {}
    kept = []
    for char in objects.get("char", ()):
        y, x = char["doctop"], char["x0"]
        cells = seen.setdefault((char["upright"], char["text"], char["fontname"], char["size"]), {})
        # 2 pt cells: a character within 1 pt stands in this cell or in the next one on the nearer side
        cell_y, cell_x = int(y // 2), int(x // 2)
        near_y = cell_y + (1 if y - 2 * cell_y >= 1 else -1)
        near_x = cell_x + (1 if x - 2 * cell_x >= 1 else -1)
        if cells and any(abs(y - other_y) <= 1 and abs(x - other_x) <= 1
                         for cell in ((cell_y, cell_x), (cell_y, near_x), (near_y, cell_x), (near_y, near_x))
                         for other_y, other_x in cells.get(cell, ())):
            continue
        cells.setdefault((cell_y, cell_x), []).append((y, x))
        kept.append(char)
    clean = FilteredPage(page, lambda _: True)
    clean._objects = {**objects, "char": kept}
    return clean


def page_objects(page: Any) -> dict[str, list[dict[str, Any]]]:
    """What pdfplumber's ``page.objects`` gives, a fifth sooner: the attributes of each character and each
    rule or box are taken straight from pdfminer's objects (pdfplumber resolves every attribute of every object,
    one by one, whatever it is); anything else goes through pdfplumber's own ``process_object``."""
    height, (left, shift) = page.height, page.mediabox[:2]
    doctop, number = page.initial_doctop, page.page_number
    chars: list[dict[str, Any]] = []
    objects: dict[str, list[dict[str, Any]]] = {"char": chars}
    for item in _leaves(page.layout._objs):
        top = height - item.y1 + shift
        if type(item) is LTChar and isinstance(item.fontname, str):
            state = item.graphicstate
            stroke, fill = state.scolor, state.ncolor
            chars.append({"matrix": item.matrix, "fontname": item.fontname, "adv": item.adv,
                          "upright": item.upright, "x0": item.x0 + left, "y0": item.y0, "x1": item.x1 + left,
                          "y1": item.y1, "width": item.width, "height": item.height, "size": item.size,
                          "mcid": getattr(item, "mcid", None), "tag": getattr(item, "tag", None),
                          "object_type": "char", "page_number": number, "ncs": item.ncs.name, "text": item._text,
                          "stroking_color": stroke if isinstance(stroke, tuple) else (stroke,),
                          "non_stroking_color": fill if isinstance(fill, tuple) else (fill,),
                          "top": top, "bottom": height - item.y0 + shift, "doctop": doctop + top})
        elif (kind := _PATHS.get(type(item))) is not None:
            objects.setdefault(kind, []).append({
                "x0": item.x0 + left, "y0": item.y0, "x1": item.x1 + left, "y1": item.y1, "width": item.width,
                "height": item.height, "pts": [page.point2coord(p) for p in item.pts], "linewidth": item.linewidth,
                "stroke": item.stroke, "fill": item.fill, "evenodd": item.evenodd,
                "stroking_color": resolve_all(item.stroking_color),
                "non_stroking_color": resolve_all(item.non_stroking_color),
                "mcid": getattr(item, "mcid", None), "tag": getattr(item, "tag", None), "object_type": kind,
                "page_number": number, "path": [(command, *map(page.point2coord, points))
                                                for command, *points in item.original_path or ()],
                "dash": item.dashing_style, "top": top, "bottom": height - item.y0 + shift, "doctop": doctop + top})
        else:
            made = page.process_object(item)
            if made["object_type"] != "anno":
                objects.setdefault(made["object_type"], []).append(made)
    return objects


_PATHS = {LTRect: "rect", LTLine: "line", LTCurve: "curve"}


def _leaves(items: list[Any]) -> Iterator[Any]:
    """The objects of a page's layout, figures opened (as pdfplumber walks them without layout analysis)."""
    for item in items:
        if isinstance(item, LTContainer):
            yield from _leaves(item._objs)
        else:
            yield item


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


def open_ends(page: Any) -> list[dict[str, Any]]:
    """The rules a table lacks where it runs off the page: a browser draws no border where a row breaks across
    pages, so the columns' rules end in the air at the page's last (or first) rule and the row's part would be
    lost. Between each two vertical rules that end at the lowest (highest) point of any, where no horizontal rule
    meets them, a horizontal rule joining them."""
    vertical = [e for e in page.edges if e["orientation"] == "v" and e["bottom"] - e["top"] > 3]
    if len(vertical) < 2:
        return []
    horizontal = [e for e in page.edges if e["orientation"] == "h" and e["x1"] - e["x0"] > 3]  # not a rule's end
    added = []
    for end, y in (("bottom", max(e["bottom"] for e in vertical)), ("top", min(e["top"] for e in vertical))):
        xs = sorted(e["x0"] for e in vertical if abs(e[end] - y) <= 1)
        for left, right in zip(xs, xs[1:], strict=False):
            middle = (left + right) / 2
            if right - left > 3 and not any(abs(h["top"] - y) <= 3 and h["x0"] <= middle <= h["x1"]
                                             for h in horizontal):
                added.append({"object_type": "rule_edge", "orientation": "h", "x0": left, "x1": right,
                              "top": y, "bottom": y, "width": right - left, "height": 0})
    return added


def _page_tokens(page: Any, number: int) -> list[Token]:
    """The rows of the page's tables and its lines of text outside them, top to bottom. A cell's text is what
    pdfplumber's ``Table.extract`` gives (the characters whose middle stands in the cell), found without going
    over every character of the page for every row."""
    chars = page.chars
    tables = page.find_tables({"explicit_horizontal_lines": open_ends(page)})
    order = sorted(range(len(chars)), key=lambda i: chars[i]["top"] + chars[i]["bottom"])
    middles = [(chars[i]["top"] + chars[i]["bottom"]) / 2 for i in order]
    tokens: list[Token] = []
    for table in tables:
        for row in table.rows:
            inside = sorted(order[bisect_left(middles, row.bbox[1]):bisect_left(middles, row.bbox[3])])
            texts = [None if cell is None else _cell_text([chars[i] for i in inside], cell) for cell in row.cells]
            if any(texts):
                tokens.append(Row([t if t is None else t.strip().translate(_UNIFIED) for t in texts],
                                  list(row.cells), number, row.bbox[1]))
    boxes = [t.bbox for t in tables]  # a property, worked out anew at each call
    outside = [c for c in chars if not any(_holds(b, c) for b in boxes)] if boxes else chars
    lines = chars_to_textmap(outside, layout_bbox=page.bbox, layout_width=page.width, layout_height=page.height,
                             x_tolerance=3).extract_text_lines(strip=True, return_chars=False)
    for line in lines:
        if not _PAGE_NUMBER.match(line["text"].replace(" ", "")):
            tokens.append(Line(line["text"].translate(_UNIFIED), number, line["top"],
                               (line["x0"], line["top"], line["x1"], line["bottom"])))
    tokens.sort(key=lambda t: t.top)
    return tokens


def _holds(box: Box, char: dict[str, Any]) -> bool:
    """The middle of ``char`` stands in ``box`` (as pdfplumber places a character in a cell)."""
    middle_x: float = (char["x0"] + char["x1"]) / 2
    middle_y: float = (char["top"] + char["bottom"]) / 2
    return box[0] <= middle_x < box[2] and box[1] <= middle_y < box[3]


def _cell_text(chars: list[dict[str, Any]], cell: Box) -> str:
    inside = [c for c in chars if _holds(cell, c)]
    return str(extract_text(inside, x_tolerance=3)) if inside else ""


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


def _without_slivers(tokens: list[Token], heights: dict[int, float]) -> list[Token]:
    """The tokens without the slivers of glyphs a browser prints at a page's foot from the next page's first
    line (the tops of tall glyphs): a page's last line, in its bottom margin, whose words all stand, in order
    and within its width, in the next page's first line."""
    lines: dict[int, list[Line]] = {}
    for token in tokens:
        if isinstance(token, Line):
            lines.setdefault(token.page, []).append(token)
    slivers = {id(here[-1]) for page, here in lines.items()
               if here[-1].top > heights.get(page, 0) * (1 - _MARGIN) and page + 1 in lines
               and _sliver_of(here[-1], lines[page + 1][0])}
    return [t for t in tokens if id(t) not in slivers] if slivers else tokens


def _sliver_of(piece: Line, whole: Line) -> bool:
    """``piece`` is glyphs of ``whole`` cut off: each of its words in ``whole``, in order, inside its width."""
    if not (piece.box and whole.box and whole.box[0] - 2 <= piece.box[0] and piece.box[2] <= whole.box[2] + 2):
        return False
    rest = whole.text.replace(" ", "")
    for word in piece.text.split():
        at = rest.find(word)
        if at < 0:
            return False
        rest = rest[at + len(word):]
    return bool(piece.text.strip())


def _join_split_rows(tokens: list[Token]) -> list[Token]:
    """A row broken across a page end comes back whole: the next page's first row — after the table's header
    row if a browser repeated it there —, if its first cell is empty and its cells line up with the last row of
    the page before, continues that row."""
    joined: list[Token] = []
    seen: set[tuple[str | None, ...]] = set()
    end: Token | None = None  # the last token of the page before
    top = True  # nothing of this page kept yet but rows seen before (a repeated header)
    for token in tokens:
        if joined and token.page != joined[-1].page:
            end, top = joined[-1], True
        if isinstance(token, Row):
            cells = tuple(token.cells)
            if top and cells in seen:
                joined.append(token)
                continue
            if (top and isinstance(end, Row) and end.page == token.page - 1 and not token.cells[0]
                    and continue_row(end, token)):
                top = False
                continue
            seen.add(cells)
        top = False
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
