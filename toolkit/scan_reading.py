"""Reading a scanned form (an image-only PDF, or a JPEG/PNG photo of a page) by OCR, cell by cell.

Each page is straightened first (the angle of its long horizontal table rules), its table grid found (long
horizontal and vertical rules, by morphology), and each cell read on its own: its lines of text cut apart by
their ink, each line recognised by the PP-OCR model that ``rapidocr-onnxruntime`` ships in its wheel (offline,
on the CPU). Tick boxes (☑/☐) are no characters to the model: they are found as squares and judged by the ink
inside. The text outside the tables (the title, the headings, the narratives) is read line by line the same way.
The result is what ``pdf_reading`` gives for a text PDF — ``Row`` cells and ``Line`` s in reading order — so
extraction walks a scan along the same anchors; the rows and lines here also carry the model's confidence in
each cell (``ScannedRow.confidences``), which extraction turns into findings when it is low.

The form's own labels are the vocabulary: a label cell read with a slip (``统一社会信用代玛``) is taken for the
label it nearly is, so one misread character does not lose the anchor of a field.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .errors import UnusableInput
from .pdf_reading import Box, Line, Row, Token
from .values import TICKED, UNTICKED, squeeze

LOW_CONFIDENCE = 0.9  # below this, a value read by OCR is a finding: a person checks it against the paper
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
    return tokens, len(pages)


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
    """The text of one line image (grey) and the model's confidence."""
    import cv2

    padded = cv2.copyMakeBorder(grey, 6, 6, 8, 8, cv2.BORDER_CONSTANT, value=255)
    (result, *_), _ = _engine().text_rec([cv2.cvtColor(padded, cv2.COLOR_GRAY2BGR)])
    text, score = result
    return _chinese_punctuation(text.strip()), float(score)


_HALF = str.maketrans({"(": "（", ")": "）", ";": "；", "?": "？", "!": "！"})


def _chinese_punctuation(text: str) -> str:
    """A line of Chinese with the model's half-width punctuation as it is printed: full width (``（摘录)``);
    a comma or colon between digits (``1,008``, ``10:30``) stays."""
    if not re.search(r"[\u4e00-\u9fff]", text):
        return text
    text = re.sub(r"(?<!\d),|,(?!\d)", "，", text.translate(_HALF))
    return re.sub(r"(?<!\d):|:(?!\d)", "：", text)


class _Page:
    def __init__(self, image: Any, number: int, vocabulary: dict[str, str]) -> None:
        import cv2
        import numpy as np

        self.number, self.vocabulary = number, vocabulary
        self.unit = max(image.shape[1] / 8.27, 50.0)  # pixels per inch (an A4 page's width)
        grey = _deskew(image, self.unit)  # no blur: it would wipe out rules one pixel wide
        self.grey = grey
        threshold, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
        self.ink = (grey < min(threshold + 25, 230)).astype(np.uint8) * 255
        self.ink = _drop_specks(self.ink)
        self.dark = (grey < threshold).astype(np.uint8) * 255  # strict: keeps a tick box apart from its word

    def tokens(self) -> list[Token]:
        import cv2
        import numpy as np

        cells, rules = self._cells()
        if rules is not None:  # the text without the rules: a rule's remnant at a cell's edge is read as 限, EE
            self.ink[cv2.dilate(rules, np.ones((3, 3), np.uint8)) > 0] = 0
        tokens: list[Token] = []
        for row in _rows(cells, self.unit * 0.06):
            texts: list[str | None] = []
            boxes: list[Box | None] = []
            confidences: list[float | None] = []
            for x, y, w, h in row:
                text, confidence = self._cell_text(x, y, w, h)
                texts.append(self._snap(text) if text else text)
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
            pieces = _runs(columns, gap=self.unit * 0.6)
            parts = [_recognise(self.grey[top:bottom, a:b + 1]) for a, b in pieces]
            text = " ".join(t for t, _ in parts if t)
            if not text or (_PAGE_NUMBER.match(squeeze(text)) and top > height * 0.85) or min(
                    c for t, c in parts if t) < 0.3:  # no text: specks of dirt, a stamp
                continue
            confidence = min(c for t, c in parts if t)
            tokens.append(ScannedLine(self._snap(text), self.number, top * 72 / self.unit,
                                      self._box(int(columns[0]), top, int(columns[-1]), bottom), confidence))
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
        if close and abs(len(close[0]) - len(key)) <= 2:
            return self.vocabulary[close[0]]
        return text

    def _cells(self) -> tuple[list[tuple[int, int, int, int]], Any]:
        """The boxes of the table cells (x, y, w, h), and the image of the rules."""
        import cv2
        import numpy as np

        reach = max(int(self.unit * 0.3), 15)
        faint = (self.grey < 205).astype("uint8") * 255  # a thin rule turned straight is grey; shading is lighter
        shape = cv2.getStructuringElement
        horizontal = cv2.morphologyEx(faint, cv2.MORPH_OPEN, shape(cv2.MORPH_RECT, (reach, 1)))
        horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_CLOSE, shape(cv2.MORPH_RECT, (reach // 2, 1)))
        vertical = cv2.morphologyEx(faint, cv2.MORPH_OPEN, shape(cv2.MORPH_RECT, (1, reach)))
        vertical = cv2.morphologyEx(vertical, cv2.MORPH_CLOSE, shape(cv2.MORPH_RECT, (1, reach // 2)))
        rules = cv2.dilate(np.bitwise_or(horizontal, vertical), cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
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
            boxes = _tick_boxes(self.dark[y + inset + top:y + inset + bottom, x + inset:x + w - inset], bottom - top)
            if not boxes:
                text, score = _recognise(grey[top:bottom, columns[0]:columns[-1] + 1])
                lines.append(text)
                scores.append(score)
                continue
            parts = []
            for index, (_left, right, ticked, sure) in enumerate(boxes):
                end = boxes[index + 1][0] if index + 1 < len(boxes) else band.shape[1]
                words = np.flatnonzero(band[:, right + 1:end].any(axis=0))
                text, score = ("", 1.0) if len(words) == 0 else _recognise(
                    grey[top:bottom, right + 1 + words[0]:right + 2 + words[-1]])
                parts.append((TICKED if ticked else UNTICKED) + text)
                scores += [score, sure]
            lines.append("　".join(parts))
        text = "\n".join(line for line in lines if line)
        return text, (min(scores) if scores and text else None)


def _deskew(grey: Any, unit: float) -> Any:
    """The page turned straight: by the median angle of its long, nearly horizontal rules."""
    import cv2
    import numpy as np

    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    found = cv2.HoughLinesP(ink, 1, np.pi / 1800, threshold=int(unit), minLineLength=int(unit * 2),
                            maxLineGap=int(unit * 0.05) + 2)
    if found is None:
        return grey
    angles, weights = [], []
    for x0, y0, x1, y1 in found.reshape(-1, 4):
        angle = np.degrees(np.arctan2(y1 - y0, x1 - x0))
        if abs(angle) < 5:
            angles.append(angle)
            weights.append(np.hypot(x1 - x0, y1 - y0))
    if not angles:
        return grey
    order = np.argsort(angles)
    cumulative = np.cumsum(np.array(weights)[order])
    angle = float(np.array(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    if abs(angle) < 0.05:
        return grey
    height, width = grey.shape
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return cv2.warpAffine(grey, turn, (width, height), flags=cv2.INTER_CUBIC, borderValue=255)


def _drop_specks(ink: Any) -> Any:
    """The ink without the specks of noise: blobs of a few pixels standing alone."""
    import cv2
    import numpy as np

    found, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= 4
    keep[0] = False
    return (keep[labels]).astype(np.uint8) * 255


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


def _tick_boxes(band: Any, height: int) -> list[tuple[int, int, bool, float]]:
    """The tick boxes in a line of a cell, left to right: (left, right, ticked, how sure the tick reading is).
    A box is a hollow square about as tall as the line's characters, drawn with a thin stroke."""
    import cv2

    found, _, stats, _ = cv2.connectedComponentsWithStats(band, connectivity=8)
    boxes = []
    for x, y, w, h, _area in stats[1:found]:
        if not (h >= height * 0.45 and 0.8 <= w / max(h, 1) <= 1.25 and h >= 8):
            continue
        edge = max(int(round(h * 0.18)), 2)
        frame = band[y:y + h, x:x + w] > 0
        sides = (frame[:, :edge].any(axis=1), frame[:, -edge:].any(axis=1), frame[:edge].any(axis=0),
                 frame[-edge:].any(axis=0))
        if min(side.mean() for side in sides) < 0.85:
            continue
        inside = frame[edge:h - edge, edge:w - edge]
        filled = float(inside.mean()) if inside.size else 0.0
        if filled > 0.5:  # a blot, not a box
            continue
        ticked = filled > 0.06
        sure = min(1.0, 0.5 + abs(filled - 0.06) / 0.06 * 0.5)
        boxes.append((int(x), int(x + w - 1), ticked, sure))
    return sorted(boxes)


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
