"""Variants of a form's rendered sample as applicants produce them, and the score of an extraction against the
sample: which fields came back right, which wrong, and which of the wrong ones carried no finding (silent).

Each variant is a change of the rendered .docx (python-docx, or its XML) before LibreOffice prints it, or of the
printed PDF (``cairo``: printed again by a viewer, ``pdftocairo -pdf``), or another way to PDF (``EXPORTS``): the
.docx saved as HTML by LibreOffice and printed by Chromium, exported as PDF/A-2, or saved as .odt and printed from
there."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm

from toolkit import convert


def _xml(path: Path, out: Path, change: Callable[[str], str]) -> Path:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = change(data.decode("utf-8")).encode("utf-8")
            target.writestr(item, data)
    return out


def _ticks(mark: str, box: str) -> Callable[[Path, Path], Path]:
    return lambda path, out: _xml(path, out, lambda x: x.replace("☑", mark).replace("☐", box))


_CN_DIGITS = "〇一二三四五六七八九"


def _cn_number(n: int) -> str:
    return ("十" if n == 10 else "十" + _CN_DIGITS[n % 10] if n < 20 else
            _CN_DIGITS[n // 10] + "十" + (_CN_DIGITS[n % 10] if n % 10 else "")) if n >= 10 else _CN_DIGITS[n]


def _typed_dates(path: Path, out: Path) -> Path:
    """Dates typed as people type them, in turn: ``2018/9/20``, ``2018.09.28``, ``2018-9-2``,
    ``二〇一七年二月二十四日``; a figure beside a label in ㎡ or 人 with its unit: ``360平方米``, ``68人``."""
    count = [0]

    def date(match: re.Match[str]) -> str:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
        count[0] += 1
        style = count[0] % 4
        if style == 1:
            return f"{year}/{month}/{day}"
        if style == 2:
            return f"{year}.{month:02d}.{day:02d}"
        if style == 3:
            return f"{year}-{month}-{day}"
        return "".join(_CN_DIGITS[int(d)] for d in str(year)) + f"年{_cn_number(month)}月{_cn_number(day)}日"

    def units(xml: str) -> str:
        return _UNIT_VALUE.sub(lambda m: m[1] + m[3] + {"㎡": "平方米", "人": "人"}[m[2]] + m[4], xml)

    return _xml(path, out, lambda x: units(re.sub(r"(?<=>)(\d{4})年(\d{1,2})月(\d{1,2})日(?=<)", date, x)))


_UNIT_VALUE = re.compile(r"(（(㎡|人)）</w:t>(?:(?!<w:t[ >]).)*?<w:t(?: [^>]*)?>)(\d+(?:\.\d+)?)(</w:t>)", re.S)


def _field(run: Any, code: str) -> None:
    for kind, text in (("begin", None), (None, code), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text == "1":
            element = OxmlElement("w:t")
            element.text = text
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def _furniture(path: Path, out: Path) -> Path:
    """A cover page, a running header and a footer ``第 N 页 共 M 页``, and ``（以下无正文）`` at the end."""
    document = docx.Document(str(path))
    body = document.paragraphs[0]
    cover = body.insert_paragraph_before("申报材料")
    cover.insert_paragraph_before("申报单位：（盖章）")
    cover.add_run().add_break(WD_BREAK.PAGE)
    for section in document.sections:
        section.header.paragraphs[0].text = "2024年度科技计划项目申报材料"
        footer = section.footer.paragraphs[0]
        footer.text = ""
        footer.add_run("第 ")
        _field(footer.add_run(), " PAGE ")
        footer.add_run(" 页 共 ")
        _field(footer.add_run(), " NUMPAGES ")
        footer.add_run(" 页")
    document.add_paragraph("（以下无正文）")
    document.save(str(out))
    return out


def _margins(path: Path, out: Path) -> Path:
    document = docx.Document(str(path))
    for section in document.sections:
        for side in ("left_margin", "right_margin"):
            setattr(section, side, (getattr(section, side) or Cm(2.5)) + Cm(1))
    document.save(str(out))
    return out


def _narrow_labels(path: Path, out: Path) -> Path:
    """Each table's first column 30% narrower (its width given to the next column)."""
    def change(xml: str) -> str:
        def grid(match: re.Match[str]) -> str:
            cols = [int(w) for w in re.findall(r'w:w="(\d+)"', match[0])]
            if len(cols) < 2:
                return match[0]
            cut = cols[0] * 3 // 10
            cols[0] -= cut
            cols[1] += cut
            return "<w:tblGrid>" + "".join(f'<w:gridCol w:w="{c}"/>' for c in cols) + "</w:tblGrid>"
        return re.sub(r"<w:tblGrid>.*?</w:tblGrid>", grid, xml, flags=re.S)
    return _xml(path, out, change)


def _letter(path: Path, out: Path) -> Path:
    document = docx.Document(str(path))
    for section in document.sections:
        section.page_width, section.page_height = Cm(21.59), Cm(27.94)
    document.save(str(out))
    return out


DOCX_VARIANTS: dict[str, Callable[[Path, Path], Path]] = {
    "letter": _letter,
    "margins": _margins,
    "narrow-labels": _narrow_labels,
    "typed-values": _typed_dates,
    "furniture": _furniture,
    "ticks-check": _ticks("√", "□"),
    "ticks-square": _ticks("■", "□"),
    "ticks-cross": _ticks("☒", "☐"),
}
PDF_VARIANTS = ("cairo",)
EXPORTS = ("chromium", "pdfa", "odt")
PDFA = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'  # PDF/A-2b
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def soffice(sources: list[Path], to: str, folder: Path, name: str) -> list[Path]:
    """``sources`` converted by LibreOffice in one run (``--convert-to to``, in the fonts and the profile of
    ``toolkit.convert``), each written to ``folder`` as ``STEM.NAME.EXT``; the files, in order."""
    work = convert.font_config().parent
    extension = to.split(":", 1)[0]
    with tempfile.TemporaryDirectory(dir=folder) as made:
        subprocess.run([str(convert.soffice_path()), f"-env:UserInstallation={(work / 'profile').as_uri()}",
                        "--headless", "--invisible", "--nologo", "--nodefault", "--norestore", "--nolockcheck",
                        "--convert-to", to, "--outdir", made, *map(str, sources)],
                       check=True, capture_output=True, timeout=600, env=_fonts_env())
        return [Path(shutil.move(Path(made) / f"{s.stem}.{extension}", folder / f"{s.stem}.{name}.{extension}"))
                for s in sources]


def print_html(html: Path, out: Path) -> Path:
    """The page ``html`` printed to PDF by headless Chromium (no header or footer of its own, the fonts of
    ``toolkit.convert``: Chromium embeds the OpenType CJK faces as Type 3 fonts)."""
    if CHROMIUM is None:
        raise FileNotFoundError("chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={out}",
                        html.as_uri()], check=True, capture_output=True, timeout=120, env=_fonts_env())
    return out


def _fonts_env() -> dict[str, str]:
    return {**os.environ, "FONTCONFIG_FILE": str(convert.font_config())}


def reprint(pdf: Path, out: Path) -> Path:
    """The PDF printed again to PDF by a viewer (cairo)."""
    subprocess.run(["pdftocairo", "-pdf", str(pdf), str(out)], check=True, capture_output=True, timeout=120)
    return out


def leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    """Every value of ``data`` by JSON pointer (an empty list or object counts as one value)."""
    if isinstance(data, dict) and data:
        return {k: v for key, value in data.items() for k, v in leaves(value, f"{prefix}/{key}").items()}
    if isinstance(data, list) and data:
        return {k: v for i, value in enumerate(data) for k, v in leaves(value, f"{prefix}/{i}").items()}
    return {prefix: data}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)) and not isinstance(
            a, bool) and not isinstance(b, bool):
        return Decimal(str(a)) == Decimal(str(b))
    return bool(a == b)


def score(expected: dict[str, Any], result: Any) -> tuple[int, list[str], list[str]]:
    """(fields, wrong pointers, wrong pointers with no finding at or above them) of an ``Extraction``."""
    want, got = leaves(expected), leaves(result.data)
    flagged = [f.path for f in result.findings]
    wrong = [p for p, v in want.items() if p not in got or not _same(got[p], v)]
    silent = [p for p in wrong if not any(p == f or p.startswith(f + "/") or f.startswith(p + "/") or f == ""
                                          for f in flagged)]
    return len(want), wrong, silent


def docx_bytes(document: Any) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
