""".docx → PDF through LibreOffice, with the customary Chinese font names rendered in the open fonts that
fonts/fonts.conf maps them to. Needs LibreOffice, poppler-utils and the fonts: `make system` installs them, and a
machine without them fails here rather than skipping."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pdfplumber
import pytest
from conftest import ROOT
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from toolkit import convert
from toolkit.convert import soffice_path, to_pdf, to_png
from toolkit.errors import ConversionError

# East-Asian font of each line → how the PostScript name of the face the PDF must embed starts, as pdffonts shows
# it. AR PL KaitiM GB is GBZenKai-Medium; the CFF inside the Noto CJK collections is shared by their JP/KR/SC/TC
# faces and named after the JP one, so the SC face shows as NotoSansCJKjp-….
LINES = [
    ("方正小标宋简体", "关于认定办发书的通知", 22, r"NotoSerifCJK\w*-Bold"),
    ("黑体", "一、黑体办发书认", 16, r"NotoSansCJK\w*-Regular"),
    ("楷体_GB2312", "（一）楷体办发书认", 16, r"GBZenKai-Medium"),
    ("仿宋_GB2312", "仿宋正文办发书认，2024年11月8日。", 16, r"FandolFang-Regular"),
]
LATIN = r"LiberationSerif"  # the digits, set in Times New Roman
HINT = "run `make system` (installs LibreOffice, poppler-utils and the fonts, FandolFang into .fonts/)"


def make_docx(path: Path, title: str = LINES[0][1]) -> Path:
    """A one-page A4 document whose runs name the customary fonts on w:rFonts/@w:eastAsia."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for font, text, size, _ in LINES:
        run = doc.add_paragraph().add_run(title if text == LINES[0][1] else text)
        run.font.name = "Times New Roman"
        run.font.size = Pt(size)
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    doc.save(str(path))
    return path


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: {HINT}")
    return found


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    try:
        soffice_path()
    except ConversionError as error:
        pytest.fail(f"{error}: {HINT}")
    folder = tmp_path_factory.mktemp("docs")
    docs = [make_docx(folder / f"通知{i}.docx", f"关于认定办发书的通知{i}") for i in range(3)]
    return to_pdf(docs)  # several documents, one soffice call


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)  # LibreOffice spaces CJK from Latin; extractors read a space there


def test_pdfs_land_beside_each_docx_in_order(converted: list[Path]) -> None:
    assert [p.name for p in converted] == [f"通知{i}.pdf" for i in range(3)]
    for pdf in converted:
        assert pdf.read_bytes().startswith(b"%PDF-")
    assert sorted(p.name for p in converted[0].parent.iterdir()) == sorted(
        [f"通知{i}.docx" for i in range(3)] + [f"通知{i}.pdf" for i in range(3)])  # no temporary files left


def test_customary_names_are_rendered_in_the_open_fonts(converted: list[Path]) -> None:
    listing = subprocess.run([tool("pdffonts"), str(converted[0])], capture_output=True, text=True,
                             check=True).stdout
    for font, _, _, embedded in LINES:
        assert re.search(rf"\+{embedded}", listing), f"{font}: no {embedded} in the PDF ({HINT})\n{listing}"
    assert re.search(rf"\+{LATIN}", listing), f"Times New Roman: no {LATIN} in the PDF ({HINT})\n{listing}"
    with pdfplumber.open(converted[0]) as pdf:
        lines = pdf.pages[0].extract_text_lines(return_chars=True)
    faces = {squeeze(line["text"]): {c["fontname"].split("+")[-1] for c in line["chars"] if "一" <= c["text"] <= "鿿"}
             for line in lines}  # each line → the faces of its Chinese characters (U+4E00–U+9FFF)
    for font, text, _, embedded in LINES:  # each line in its own face, 小标宋 in bold
        found = next(f for line, f in faces.items() if line.startswith(squeeze(text)[:4]))
        assert found and all(re.match(embedded, f) for f in found), f"{font} → {found}, wanted {embedded}"


def test_text_reads_back(converted: list[Path]) -> None:
    with pdfplumber.open(converted[2]) as pdf:
        text = squeeze(pdf.pages[0].extract_text())
    assert "关于认定办发书的通知2" in text
    for _, line, _, _ in LINES[1:]:
        assert squeeze(line) in text


def test_to_png_renders_the_first_page(converted: list[Path], tmp_path: Path) -> None:
    tool("pdftoppm")
    png = to_png(converted[0], tmp_path / "page.png")
    assert png == tmp_path / "page.png"
    header = png.read_bytes()[:24]
    assert header.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert abs(width - 579) <= 2 and abs(height - 819) <= 2, (width, height)  # A4 at 70 dpi
    assert [p.name for p in tmp_path.iterdir()] == ["page.png"]
    with pytest.raises(ConversionError, match="page 5"):
        to_png(converted[0], tmp_path / "none.png", page=5)


def test_a_corrupt_docx_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "损坏.docx"
    bad.write_bytes(b"not a zip: LibreOffice would print these bytes as plain text")
    with pytest.raises(ConversionError, match="损坏.docx") as caught:
        to_pdf([bad])
    assert caught.value.source == str(bad)
    assert not (tmp_path / "损坏.pdf").exists()


def test_bad_files_are_named_and_the_rest_still_convert(tmp_path: Path) -> None:
    good = []
    for folder in (tmp_path / "a", tmp_path / "b"):  # one stem twice: two soffice runs
        folder.mkdir()
        good.append(make_docx(folder / "同名.docx"))
    broken = tmp_path / "broken.docx"  # a zip that LibreOffice cannot load
    with zipfile.ZipFile(good[0]) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data[: len(data) // 2] if item.filename == "word/document.xml" else data)
    missing = tmp_path / "missing.docx"
    with pytest.raises(ConversionError) as caught:
        to_pdf([good[0], broken, missing, good[1]])
    message = str(caught.value)
    assert "broken.docx: LibreOffice wrote no PDF" in message and "missing.docx: no such file" in message
    assert "同名" not in message
    assert all(g.with_suffix(".pdf").is_file() for g in good)
    assert not broken.with_suffix(".pdf").exists()


def test_two_inputs_for_one_pdf_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="would overwrite"):
        to_pdf([tmp_path / "a" / "x.docx", tmp_path / "b" / "x.docx"], out_dir=tmp_path)


def test_parallel_processes_do_not_collide(tmp_path: Path) -> None:
    script = ("import sys; from pathlib import Path; from toolkit.convert import to_pdf; "
              "print(to_pdf([Path(sys.argv[1])], out_dir=Path(sys.argv[2]))[0])")
    runs = []
    for i in range(2):
        doc = make_docx(tmp_path / f"doc{i}.docx", f"关于认定办发书的通知{i}")
        runs.append(subprocess.Popen([sys.executable, "-c", script, str(doc), str(tmp_path / f"out{i}")],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for i, run in enumerate(runs):
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert Path(out.strip()) == tmp_path / f"out{i}" / f"doc{i}.pdf"
        with pdfplumber.open(out.strip()) as pdf:
            assert f"通知{i}" in squeeze(pdf.pages[0].extract_text())


def test_a_timeout_is_an_error_and_the_next_run_works(tmp_path: Path) -> None:
    doc = make_docx(tmp_path / "慢.docx")
    with pytest.raises(ConversionError, match=r"慢\.docx.*longer than"):
        to_pdf([doc], timeout=0.05)
    assert not doc.with_suffix(".pdf").exists()
    assert to_pdf([doc]) == [doc.with_suffix(".pdf")]


def test_missing_libreoffice_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(convert, "_DEBIAN_SOFFICE", tmp_path / "soffice")
    with pytest.raises(ConversionError, match="make system"):
        to_pdf([make_docx(tmp_path / "x.docx")])
