"""Reading a scanned form (an image-only PDF, or a JPEG/PNG photo of a page) by OCR, cell by cell.

Each page is turned straight first (the angle at which its ink lines up in the sharpest rows), its table grid
found (long horizontal and vertical rules, each vertical running from one horizontal to another), and each cell
read on its own: its lines of text cut apart by their ink (specks of dirt standing alone dropped), each line
recognised by the PP-OCR model that ``rapidocr-onnxruntime`` ships in its wheel (offline, on the CPU). Tick
boxes (☑/☐) are no characters to the model: they are found as squares apart from the text before them and
judged by the ink at their centre. The text outside the tables (the title, the headings, the narratives) is
read line by line the same way. The result is what ``pdf_reading`` gives for a text PDF — ``Row`` cells and
``Line`` s in reading order, a row broken at a page's end joined again — so extraction walks a scan along the
same anchors; the rows and lines here also carry the model's confidence in each cell
(``ScannedRow.confidences``), which extraction turns into findings when it is low.

The confidence is of the least sure character, not the mean of a line: one character in doubt (一 or —, 〔 or
[) makes the value one to check, and so does a gap the model nearly read as a character, a square that may be
a tick box it missed, and a value taken for a label. The model's doubt between two forms of one character
(``．`` and ``.``, ``（`` and ``(``) is none: the text is printed in the form's way (list items ``1．``,
Chinese punctuation full width).

The form's own labels are the vocabulary: a label cell read with a slip (``统一社会信用代玛``) is taken for the
label it nearly is, so one misread character does not lose the anchor of a field.
"""

from __future__ import annotations

import difflib
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .errors import UnusableInput
from .pdf_reading import Box, Line, Row, Token, continue_row
from .values import TICKED, UNTICKED, squeeze

LOW_CONFIDENCE = 0.9  # below this, a value read by OCR is a finding: a person checks it against the paper
DOUBTFUL_BOX = 0.6  # the confidence in a line with a square that may be a tick box its reading missed
SNAPPED = 0.8  # the confidence in a text read as the form's label it nearly is: a value so taken is a finding
_PAGE_NUMBER = re.compile(r"^[—\-–一_~－.·。]*\d{1,3}[—\-–一_~－.·。]*$")


@dataclass
class ScannedRow(Row):
    """A table row read by OCR: also the model's confidence in each cell (``None`` where no text was read)."""

    confidences: list[float | None] = field(default_factory=list)


@dataclass
class ScannedLine(Line):
    """A line of text read by OCR, with the model's confidence."""

    confidence: float | None = None


def is_image(data: bytes) -> bool:
    """A JPEG or PNG file."""
    return data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"


def image_only(data: bytes) -> bool:
    """A PDF whose pages hold images and no text at all: a scan."""
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return any(page.images for page in pdf.pages) and not any(
                c["text"].strip() for page in pdf.pages for c in page.chars)
    except Exception:  # noqa: BLE001 — a damaged PDF is no scan; pdf_reading has said why
        return False


def available() -> bool:
    """Whether the OCR model is installed (the ``[ocr]`` extra)."""
    try:
        import cv2  # noqa: F401
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def read_scan(data: bytes, name: str = "<scan>", labels: Iterable[str] = ()) -> tuple[list[Token], int]:
    """The rows and lines of a scanned PDF or a JPEG/PNG image, in reading order, and the number of pages;
    ``labels`` are the texts the form prints (its labels, headers and headings), to which a near miss is
    corrected. ``UnusableInput`` when the OCR model is not installed or the image can't be read."""
    if not available():
        raise UnusableInput(name, "这是扫描件，需要 OCR：请安装 shenbao-toolkit[ocr] (a scan: OCR is not installed)")
    pages = _page_images(data, name)
    vocabulary = {squeeze(label): label for label in labels if label.strip()}
    tokens: list[Token] = []
    for number, image in enumerate(pages, start=1):
        tokens += _Page(image, number, vocabulary).tokens()
    return _join_pages(tokens), len(pages)


def _join_pages(tokens: list[Token]) -> list[Token]:
    """A row broken across a page end comes back whole: a page's first row, its first cell empty, continues
    the last row of the page before when their cells line up (a list's items numbered on, the confidence of
    a cell its least sure part's)."""
    joined: list[Token] = []
    for token in tokens:
        end = joined[-1] if joined else None
        if (isinstance(token, ScannedRow) and isinstance(end, ScannedRow) and end.page == token.page - 1
                and not token.cells[0]):
            mine = [i for i, c in enumerate(end.cells) if c is not None]
            theirs = [c for c, t in zip(token.confidences, token.cells, strict=True) if t is not None]
            if continue_row(end, token):
                for position, confidence in zip(mine, theirs, strict=True):
                    sure = [c for c in (end.confidences[position], confidence) if c is not None]
                    end.confidences[position] = min(sure) if sure else None
                    end.cells[position] = "\n".join(_numbered((end.cells[position] or "").split("\n")))
                continue
        joined.append(token)
    return joined


def _page_images(data: bytes, name: str) -> list[Any]:
    """Each page as a grey numpy image: a PDF's pages rendered at the resolution of their scanned images."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if is_image(data):
        try:
            with Image.open(io.BytesIO(data)) as image:
                return [np.asarray(image.convert("L"))]
        except (UnidentifiedImageError, OSError):
            raise UnusableInput(name, "图片已损坏，无法读取 (damaged image)") from None
    import pypdfium2
    import pypdfium2.raw as pdfium

    pages = []
    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        raise UnusableInput(name, "PDF 文件已损坏或不完整 (damaged)") from None
    try:
        for page in document:
            images = list(page.get_objects(filter=(pdfium.FPDF_PAGEOBJ_IMAGE,)))
            width = page.get_size()[0]
            if len(images) == 1 and images[0].get_bounds()[2] - images[0].get_bounds()[0] > width * 0.8:
                image = images[0].get_bitmap(render=False).to_pil()  # the scan as scanned, not resampled
            else:
                pixels = max((i.get_px_size()[0] / max(i.get_bounds()[2] - i.get_bounds()[0], 1) for i in images),
                             default=200 / 72)
                image = page.render(scale=min(max(pixels, 100 / 72), 400 / 72), grayscale=True).to_pil()
            pages.append(np.asarray(image.convert("L")))
    finally:
        document.close()
    return pages


@cache
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    # one thread: on a small machine the model is faster so than with the threads fighting over the cores
    return RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)


def _recognise(grey: Any) -> tuple[str, float]:
    """The text of one line image (grey) and how sure the model is of it: of its least sure character, and
    that it skipped none (a gap between two characters the model nearly read as a third)."""
    import cv2
    import numpy as np

    engine = _engine().text_rec
    padded = cv2.copyMakeBorder(grey, 6, 6, 8, 8, cv2.BORDER_CONSTANT, value=255)
    image = cv2.cvtColor(padded, cv2.COLOR_GRAY2BGR)
    ratio = max(image.shape[1] / image.shape[0], engine.rec_image_shape[2] / engine.rec_image_shape[1])
    frames = engine.session(engine.resize_norm_img(image, ratio)[np.newaxis].astype(np.float32))[0][0]
    characters, same = _alphabet()
    codes: list[int] = []  # the characters read (folded), how sure of each, and the form the model preferred
    sureness: list[float] = []
    forms: list[int] = []
    gaps: list[tuple[int, dict[int, float]]] = []  # after which character, what the gap might have been
    previous = 0
    tops = np.argpartition(frames, -4, axis=1)[:, -4:]
    for top, chances in zip(tops.tolist(), np.take_along_axis(frames, tops, axis=1).tolist(), strict=True):
        folded: dict[int, float] = {}
        for code, chance in zip(top, chances, strict=True):
            folded[int(same[code])] = folded.get(int(same[code]), 0.0) + chance
        best = max(folded, key=lambda c: folded[c])
        if best == 0:
            gaps.append((len(codes), folded))
        elif best == previous:
            sureness[-1] = max(sureness[-1], folded[best])
        else:
            codes.append(best)
            sureness.append(folded[best])
            forms.append(max((c for c in top if same[c] == best), key=lambda c: chances[top.index(c)]))
        previous = best
    if not codes:
        return "", 0.0
    skipped = 0.0
    for after, folded in gaps:  # what a gap nearly was, other than the characters either side or a space
        beside = {codes[after - 1] if after else 0, codes[after] if after < len(codes) else 0, 0, int(same[-1])}
        skipped = max([skipped] + [p for c, p in folded.items() if c not in beside])
    text = "".join(characters[c] for c in forms).strip()
    return text, min(min(sureness), 1 - skipped)


@cache
def _alphabet() -> tuple[list[str], Any]:
    """The model's characters, and for each the code of the first one it is the same as when folded (``１`` and
    ``1``, ``（`` and ``(``): the model's doubt between two forms of one character is no doubt of the text."""
    import numpy as np

    characters = _engine().text_rec.postprocess_op.character
    first: dict[str, int] = {}
    same = np.array([first.setdefault(unicodedata.normalize("NFKC", c) if i else "", i)
                     for i, c in enumerate(characters)])
    return characters, same


_HALF = str.maketrans({"(": "（", ")": "）", ";": "；", "?": "？", "!": "！"})


def _chinese_punctuation(text: str) -> str:
    """A text in Chinese with the model's half-width punctuation as it is printed: full width (``（摘录)``),
    over the lines of a cell together (a bracket closes on the next line); a comma or colon between digits
    (``1,008``, ``10:30``) stays; the year of a document's number is in its own brackets (``〔2016〕``)."""
    if not re.search(r"[\u4e00-\u9fff]", text):
        return text
    text = re.sub(r"(?<!\d),|,(?!\d)", "，", text.translate(_HALF))
    text = re.sub(r"[\[【［〔](\d{4})[\]】］〕](?=第?\d)", r"〔\1〕", text)  # a document's number: 〔2016〕第12号
    return re.sub(r"(?<!\d):|:(?!\d)", "：", text)


class _Page:
    def __init__(self, image: Any, number: int, vocabulary: dict[str, str]) -> None:
        import cv2
        import numpy as np

        self.number, self.vocabulary = number, vocabulary
        self.unit = max(image.shape[1] / 8.27, 50.0)  # pixels per inch (an A4 page's width)
        grey = _deskew(image)  # no blur: it would wipe out rules one pixel wide
        self.grey = grey
        threshold, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
        self.ink = (grey < min(threshold + 25, 230)).astype(np.uint8) * 255
        self.dark = (grey < threshold).astype(np.uint8) * 255  # strict: keeps a tick box apart from its word

    def tokens(self) -> list[Token]:
        import cv2
        import numpy as np

        cells, rules = self._cells()
        if rules is not None:  # the text without the rules: a rule's remnant at a cell's edge is read as 限, EE
            self.ink[cv2.dilate(rules, np.ones((3, 3), np.uint8)) > 0] = 0
        self.ink = _drop_specks(self.ink, self.unit)
        tokens: list[Token] = []
        for row in _rows(cells, self.unit * 0.06):
            texts: list[str | None] = []
            boxes: list[Box | None] = []
            confidences: list[float | None] = []
            for x, y, w, h in row:
                text, confidence = self._cell_text(x, y, w, h)
                label = self._snap(text) if text else text
                if label != text and confidence is not None:  # a value taken for a label is a guess
                    confidence = min(confidence, SNAPPED)
                texts.append(label)
                boxes.append(self._box(x, y, x + w, y + h))
                confidences.append(confidence)
            tokens.append(ScannedRow(texts, boxes, self.number, row[0][1] * 72 / self.unit, confidences))
        outside = self.ink.copy()
        if rules is not None:
            found, _, stats, _ = cv2.connectedComponentsWithStats(rules, connectivity=8)
            for x, y, w, h, _area in stats[1:found]:
                if w > self.unit and h > self.unit * 0.2:
                    outside[max(y - 3, 0):y + h + 3, max(x - 3, 0):x + w + 3] = 0
        height = outside.shape[0]
        for top, bottom in _bands(outside, 0, self.unit):
            columns = np.flatnonzero(outside[top:bottom].any(axis=0))
            parts = []
            for a, b in _runs(columns, gap=self.unit * 0.6):
                text, confidence = _recognise(self.grey[top:bottom, a:b + 1])
                if text and (confidence >= 0.3 or b - a > self.unit * 0.5):  # not a speck of dirt read as 强
                    parts.append((a, b, text, confidence))
            text = _chinese_punctuation(" ".join(t for _, _, t, _ in parts))
            if not text or (_PAGE_NUMBER.match(squeeze(text)) and top > height * 0.85):
                continue
            confidence = min(c for _, _, _, c in parts)
            label = self._snap(text)
            if label != text:
                confidence = min(confidence, SNAPPED)
            tokens.append(ScannedLine(label, self.number, top * 72 / self.unit,
                                      self._box(parts[0][0], top, parts[-1][1], bottom), confidence))
        tokens.sort(key=lambda t: t.top)
        return tokens

    def _box(self, x0: int, y0: int, x1: int, y1: int) -> tuple[float, float, float, float]:
        scale = 72 / self.unit
        return (round(x0 * scale, 1), round(y0 * scale, 1), round(x1 * scale, 1), round(y1 * scale, 1))

    def _snap(self, text: str) -> str:
        """A text that nearly is one of the form's labels is that label."""
        key = squeeze(text)
        if not self.vocabulary or key in self.vocabulary or len(key) > 40:
            return text
        close = difflib.get_close_matches(key, self.vocabulary, n=1, cutoff=0.8)
        if close and _slips(key, close[0]) <= max(1, len(key) // 8):
            return self.vocabulary[close[0]]
        return text

    def _cells(self) -> tuple[list[tuple[int, int, int, int]], Any]:
        """The boxes of the table cells (x, y, w, h), and the image of the rules."""
        import cv2
        import numpy as np

        horizontal = _straight(self.grey, max(int(self.unit * 0.5), 20), across=False)
        vertical = _joined(_straight(self.grey, max(int(self.unit * 0.25), 12), across=True), horizontal)
        horizontal = _joined(horizontal, vertical, across=False)
        rules = cv2.dilate(np.bitwise_or(horizontal, vertical), cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
        found, labels, stats, _ = cv2.connectedComponentsWithStats(rules, connectivity=8)
        tables = (stats[:, cv2.CC_STAT_WIDTH] > self.unit) & (stats[:, cv2.CC_STAT_HEIGHT] > self.unit * 0.2)
        tables[0] = False  # a rule of no table (a heading's stroke, a line to sign on) bounds no cell
        rules = tables[labels].astype(np.uint8) * 255
        if not rules.any():
            return [], None
        found, _, stats, _ = cv2.connectedComponentsWithStats(255 - rules, connectivity=4)
        height, width = rules.shape
        cells = []
        for x, y, w, h, _area in stats[1:found]:
            if x == 0 or y == 0 or x + w >= width or y + h >= height:
                continue
            if w < self.unit * 0.15 or h < self.unit * 0.1:
                continue
            cells.append((int(x), int(y), int(w), int(h)))
        return cells, rules

    def _cell_text(self, x: int, y: int, w: int, h: int) -> tuple[str, float | None]:
        """The text of one cell, its lines joined by newlines, and the least confidence of its parts."""
        import numpy as np

        inset = 3
        ink = self.ink[y + inset:y + h - inset, x + inset:x + w - inset]
        grey = self.grey[y + inset:y + h - inset, x + inset:x + w - inset]
        if ink.sum() < 255 * 8:
            return "", None
        lines, scores = [], []
        for top, bottom in _bands(ink, 0, self.unit):
            band = ink[top:bottom]
            columns = np.flatnonzero(band.any(axis=0))
            if len(columns) == 0:
                continue
            boxes, doubt = _tick_boxes(self.dark[y + inset + top:y + inset + bottom, x + inset:x + w - inset], band)
            if doubt:  # a box maybe missed: what the line says was ticked is in doubt
                scores.append(DOUBTFUL_BOX)
            if not boxes:
                if len(columns) < (bottom - top) * 0.3:  # a speck, a rule's end: no character
                    continue
                text, score = _recognise(grey[top:bottom, columns[0]:columns[-1] + 1])
                lines.append(text)
                scores.append(score)
                continue
            parts = []
            for index, (_left, right, ticked, sure) in enumerate([(0, -1, None, 1.0), *boxes]):
                end = boxes[index][0] if index < len(boxes) else band.shape[1]
                words = np.flatnonzero(band[:, right + 1:end].any(axis=0))
                text, score = ("", 1.0) if len(words) < (bottom - top) * 0.3 else _recognise(
                    grey[top:bottom, right + 1 + words[0]:right + 2 + words[-1]])
                mark = "" if ticked is None else TICKED if ticked else UNTICKED
                if mark or text:
                    parts.append(mark + text)
                scores += [sure] if ticked is False else [score, sure]  # the words of a box not ticked are no value
            lines.append("　".join(parts))
        text = _chinese_punctuation("\n".join(_numbered([line for line in lines if line])))
        text = re.sub(r"^(\d+)[.,。，·、]$", r"\1", text)  # a number alone: a speck beside it is no stop
        return text, (min(scores) if scores and text else None)


def _slips(text: str, label: str) -> int:
    """How many characters of ``text`` are misread from ``label``: its edit distance to it."""
    previous = list(range(len(label) + 1))
    for i, char in enumerate(text, start=1):
        current = [i]
        for j, other in enumerate(label, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def _numbered(lines: list[str]) -> list[str]:
    """The lines of a cell, its items numbered ``1．``, ``2．`` … as the form prints a list: the model takes
    the full-width stop for a half-width one, or misses it. The lines that start with the next number are
    items when one of them surely is (its stop, and no digit after it: ``1.5万元`` is a figure), or when there
    are two or more, each with its stop; a number without a stop followed by a digit is none (``10月``)."""
    items: list[tuple[int, int, bool, bool]] = []  # line, where its text starts, stop, digit after
    for index, line in enumerate(lines):
        mark = re.match(r"(\d{1,2})\s*([.．]?)\s*(?=[^\s.．])", line)
        if mark and int(mark[1]) == len(items) + 1 and (mark[2] or not line[mark.end()].isdigit()):
            items.append((index, mark.end(), bool(mark[2]), line[mark.end()].isdigit()))
    if not any(stop and not digit for _, _, stop, digit in items) and (
            len(items) < 2 or not all(stop for _, _, stop, _ in items)):
        return lines
    result = list(lines)
    for number, (index, start, _, _) in enumerate(items, start=1):
        result[index] = f"{number}．{lines[index][start:]}"
    return result


def _deskew(grey: Any) -> Any:
    """The page turned straight, by the angle at which its ink lines up best (``_skew``)."""
    import cv2

    angle = _skew(grey)
    if abs(angle) < 0.05:
        return grey
    height, width = grey.shape
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return cv2.warpAffine(grey, turn, (width, height), flags=cv2.INTER_CUBIC, borderValue=255)


def _skew(grey: Any) -> float:
    """The angle (degrees, within ±5) a page is turned by: the one at which its inked pixels, projected onto
    the page's side, pile up into the sharpest rows, as a table's rules and the lines of text do when they lie
    straight. Tried in steps of 0.1°, then of 0.01° about the best."""
    import cv2
    import numpy as np

    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    ys, xs = np.nonzero(ink)
    if len(xs) < 100:
        return 0.0
    pick = np.random.default_rng(0).choice(len(xs), size=min(len(xs), 60000), replace=False)
    xs, ys = xs[pick].astype(np.float64), ys[pick].astype(np.float64)

    def sharpness(angle: float) -> float:
        slope = np.tan(np.radians(angle))
        rows = np.round(ys - xs * slope).astype(np.int64)
        steps = np.diff(np.bincount(rows - rows.min()))
        return float(np.dot(steps, steps))

    best = max(np.arange(-5, 5.001, 0.1), key=sharpness)
    return float(max(np.arange(best - 0.1, best + 0.1001, 0.01), key=sharpness))


def _straight(grey: Any, length: int, across: bool) -> Any:
    """The straight rules of a page (horizontal, or vertical when ``across``): ink that runs ``length`` pixels
    with few breaks. The page is smoothed along the rule first, against its noise, and a rule that turning
    the page straight spread over two rows of grey pixels is taken at the darker. Text makes no such run: its
    strokes are shorter, and a line of characters has gaps between them."""
    import cv2
    import numpy as np

    along = (1, length) if across else (length, 1)
    faint = (grey < 205).astype(np.uint8) * 255  # a thin rule is grey; a cell's shading is lighter
    density = cv2.blur(faint.astype(np.float32) / 255, along)
    centres = (density >= 0.85).astype(np.uint8) * 255
    reach = (1, int(length * 0.7)) if across else (int(length * 0.7), 1)  # from the centres to the ends
    rules = cv2.dilate(centres, cv2.getStructuringElement(cv2.MORPH_RECT, reach))
    closing = (1, length // 2) if across else (length // 2, 1)
    return cv2.morphologyEx(rules, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, closing))


def _joined(rules: Any, others: Any, across: bool = True) -> Any:
    """The rules that run from one rule of the other direction to another, as the sides of a table's cells
    do (a long stroke of a heading's character stands alone)."""
    import cv2
    import numpy as np

    near = cv2.dilate(others, np.ones((9, 9), np.uint8)) > 0
    found, labels, stats, _ = cv2.connectedComponentsWithStats(rules, connectivity=8)
    keep = np.zeros(found, bool)
    for index, (x, y, w, h, _area) in enumerate(stats[1:found], start=1):
        ends = ((near[y, x:x + w], near[y + h - 1, x:x + w]) if across
                else (near[y:y + h, x], near[y:y + h, x + w - 1]))
        keep[index] = bool(ends[0].any() and ends[1].any())
    return (keep[labels]).astype(np.uint8) * 255


def _drop_specks(ink: Any, unit: float) -> Any:
    """The ink without the specks of dirt and noise: blobs of a few pixels standing alone. A blob as small
    beside a character on its line (a stop, the dot of a colon) is kept."""
    import cv2
    import numpy as np

    found, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] < max((unit * 0.02) ** 2, 4)
    small[0] = False
    big = ~small
    big[0] = False
    reach = max(int(unit * 0.06), 2) * 2 + 1  # beside a character on its line, not between two lines
    near = cv2.dilate(big[labels].astype(np.uint8), np.ones((1, reach), np.uint8)) > 0
    keep = big.copy()
    keep[np.unique(labels[near & small[labels]])] = True
    keep[0] = False
    return keep[labels].astype(np.uint8) * 255


def _runs(positions: Any, gap: float) -> list[tuple[int, int]]:
    """Runs of sorted positions that lie closer together than ``gap``: (first, last)."""
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and p - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], int(p))
        else:
            runs.append((int(p), int(p)))
    return runs


def _bands(ink: Any, offset: int, unit: float) -> list[tuple[int, int]]:
    """The lines of text of an ink image: bands of rows with ink, split at empty gaps, too thin ones dropped;
    each widened by a margin for the recogniser."""
    import numpy as np

    rows = np.flatnonzero((ink > 0).sum(axis=1) >= 1)
    bands = _runs(rows, gap=max(unit * 0.015, 1))
    tall = [b - a + 1 for a, b in bands if b - a + 1 >= unit * 0.05]
    if not tall:
        return []
    margin = 3
    return [(max(a - margin, 0) + offset, min(b + margin + 1, ink.shape[0]) + offset) for a, b in bands
            if b - a + 1 >= unit * 0.05]


def _tick_boxes(band: Any, ink: Any) -> tuple[list[tuple[int, int, bool, float]], bool]:
    """The tick boxes in a line of a cell (its dark pixels, and its ink without specks), left to right:
    (left, right, ticked, how sure the tick reading is); and whether a square that looks much like a box was
    not taken for one (a box the noise has eaten into, or dirt beside it: the line is in doubt).

    A box is a hollow square about as tall as the line's characters, drawn with a thin stroke, standing apart
    from the text before it (a space, or the line's start). A character that is a square too (日, 国, 管 in
    bold) stands close to the one before it, or has a stroke across its inside; a tick is no such stroke."""
    import cv2
    import numpy as np

    height = band.shape[0]
    found, _, stats, _ = cv2.connectedComponentsWithStats(band, connectivity=8)
    parts, labels, sizes, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    strokes = sizes[:, cv2.CC_STAT_AREA] >= (height * 0.15) ** 2  # a character's, not a speck beside the box
    strokes[0] = False
    inked = np.flatnonzero(strokes[labels].any(axis=0))
    inked = inked[inked > height * 0.2]  # not what is left of the cell's rule at its edge
    boxes, doubt = [], False
    for x, y, w, h, _area in stats[1:found]:
        if not (h >= height * 0.45 and 0.8 <= w / max(h, 1) <= 1.25 and h >= 8):
            continue
        edge = max(int(round(h * 0.18)), 2)
        frame = band[y:y + h, x:x + w] > 0
        sides = min(side.mean() for side in (frame[:, :edge].any(axis=1), frame[:, -edge:].any(axis=1),
                                             frame[:edge].any(axis=0), frame[-edge:].any(axis=0)))
        inside = frame[edge:h - edge, edge:w - edge]
        if not inside.size or inside.mean() > 0.5 or max(inside.mean(axis=1).max(), inside.mean(axis=0).max()) > 0.7:
            continue  # a blot, or a character's stroke across
        centre = float(frame[h // 4:h - h // 4, w // 4:w - w // 4].mean())  # a tick crosses it; a speck, hardly
        ticked = centre > 0.1
        before = inked[inked < x - 2]  # the ink's grey edge runs a pixel or two beyond the dark square
        apart = not len(before) or x - before[-1] - 1 >= h * 0.3
        if sides < 0.85 or not apart or (ticked and _character(band[y:y + h, x:x + w])):
            doubt = doubt or sides >= 0.7
            continue
        sure = min(1.0, 0.5 + abs(centre - 0.1) / 0.05 * 0.5)
        boxes.append((int(x), int(x + w - 1), ticked, sure))
    return sorted(boxes), doubt


def _character(square: Any) -> bool:
    """Whether a square with ink inside is a character the model knows (园, 国 at a line's start) rather than a
    ticked box, which the model reads as nothing, or at best as a doubtful 日 or 0."""
    import numpy as np

    text, confidence = _recognise(np.where(square > 0, 0, 255).astype(np.uint8))
    return len(text) == 1 and text not in "口□" and confidence >= 0.85


def _rows(cells: list[tuple[int, int, int, int]], tolerance: float) -> list[list[tuple[int, int, int, int]]]:
    """Cells grouped into rows by their tops, each row left to right, rows top to bottom."""
    rows: list[list[tuple[int, int, int, int]]] = []
    for cell in sorted(cells, key=lambda c: (c[1], c[0])):
        if rows and abs(cell[1] - rows[-1][0][1]) <= tolerance:
            rows[-1].append(cell)
        else:
            rows.append([cell])
    return [sorted(row) for row in rows]


def form_labels(title: str, slots: Iterable[Any]) -> set[str]:
    """What a form prints of itself (title, labels, headers, headings): the vocabulary a scan's misreads of
    them are corrected to."""
    labels = {title}
    for slot in slots:
        labels.add(slot.label)
        labels.update(column[0] for column in slot.columns)
        labels |= form_labels(title, slot.items)
    return {label for label in labels if label}
