""".docx → PDF through LibreOffice, with the customary Chinese font names rendered in the open fonts that
fonts/fonts.conf maps them to; through the pool of long-lived LibreOffice workers (reused, replaced when killed or
hung, gone at exit) and through the plain soffice call without it. Needs LibreOffice, python3-uno, poppler-utils
and the fonts: `make system` installs them, and a machine without them fails here rather than skipping."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
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
from toolkit.lean_docx import lean_copy
from toolkit.office_pool import OfficePool

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
HINT = "run `make system` (installs LibreOffice, python3-uno, poppler-utils and the fonts, FandolFang into .fonts/)"


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


def test_a_timeout_is_an_error_and_the_next_run_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain call: no LibreOffice starts in 0.05 s (a worker may convert a small document in that time; a hung
    worker is below)."""
    doc = make_docx(tmp_path / "慢.docx")
    monkeypatch.setenv("SHENBAO_OFFICE_WORKERS", "0")
    with pytest.raises(ConversionError, match=r"慢\.docx.*longer than"):
        to_pdf([doc], timeout=0.05)
    assert not doc.with_suffix(".pdf").exists()
    assert to_pdf([doc]) == [doc.with_suffix(".pdf")]


def test_missing_libreoffice_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(convert, "_DEBIAN_SOFFICE", tmp_path / "soffice")
    with pytest.raises(ConversionError, match="make system"):
        to_pdf([make_docx(tmp_path / "x.docx")])


# --- the pool of LibreOffice workers ----------------------------------------------------------------------------

def the_pool() -> OfficePool:
    """This process's pool (the one ``to_pdf`` uses); fails when there can be none (python3-uno missing)."""
    pool = convert.office_pool()
    if pool is None:
        pytest.fail(f"no pool of LibreOffice workers: {HINT}")
    return pool


@pytest.fixture
def own_pool(tmp_path: Path) -> Iterator[OfficePool]:
    """A pool of one worker of the test's own, beside the process's, with the process's fonts."""
    pool = OfficePool(tmp_path / "pool", soffice_path(), {**os.environ, "FONTCONFIG_FILE": str(convert.font_config())})
    if pool.unavailable:
        pytest.fail(f"no pool of LibreOffice workers ({pool.unavailable}): {HINT}")
    try:
        yield pool
    finally:
        pool.close()


def process_gone(pid: int) -> bool:
    """No such process, or not any more (a zombie would still show as state Z)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "X"


def children(pid: int) -> list[str]:
    """The LibreOffice processes and workers among the children of ``pid`` (other tests may have servers)."""
    found = subprocess.run(["pgrep", "-a", "-P", str(pid)], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "soffice" in line or "office_worker" in line]


def fonts_of(pdf: Path) -> str:
    return subprocess.run([tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout


def test_the_pool_converts_with_the_fonts_embedded(tmp_path: Path) -> None:
    pool = the_pool()
    started = pool.started
    pdf = to_pdf([make_docx(tmp_path / "池.docx")])[0]
    assert pool.started <= started + 1 and pool.pids(), "converted without the pool"
    listing = fonts_of(pdf)
    for font, _, _, embedded in LINES:
        line = next((x for x in listing.splitlines() if re.search(rf"\+{embedded}", x)), None)
        assert line is not None, f"{font}: no {embedded} in the PDF ({HINT})\n{listing}"
        assert line.split()[-5:-3] == ["yes", "yes"], f"{font}: {embedded} not embedded as a subset\n{listing}"
    assert re.search(rf"\+{LATIN}", listing)
    assert convert.pdf_of(make_docx(tmp_path / "b.docx").read_bytes()).startswith(b"%PDF-")


def test_the_pool_reuses_its_worker(own_pool: OfficePool, tmp_path: Path) -> None:
    doc = make_docx(tmp_path / "a.docx")
    assert own_pool.convert(doc, tmp_path / "1.pdf", 60) is None
    first = own_pool.pids()
    assert own_pool.convert(doc, tmp_path / "2.pdf", 60) is None
    assert own_pool.pids() == first and len(first) == 1 and own_pool.started == 1
    assert (tmp_path / "1.pdf").read_bytes().startswith(b"%PDF-") and (tmp_path / "2.pdf").stat().st_size > 0


def test_a_killed_worker_is_replaced(own_pool: OfficePool, tmp_path: Path) -> None:
    doc = make_docx(tmp_path / "a.docx")
    assert own_pool.convert(doc, tmp_path / "1.pdf", 60) is None
    [office] = own_pool.pids()
    os.kill(office, signal.SIGKILL)
    assert own_pool.convert(doc, tmp_path / "2.pdf", 60) is None  # tried again on a new worker
    assert own_pool.started == 2 and own_pool.pids() != [office]
    assert process_gone(office)  # reaped, no zombie
    with pdfplumber.open(tmp_path / "2.pdf") as pdf:
        assert "仿宋正文" in squeeze(pdf.pages[0].extract_text())


def test_a_hung_document_times_out_and_the_pool_recovers(tmp_path: Path) -> None:
    """A stopped LibreOffice never answers: the document fails after its timeout, the office is killed and
    reaped, and the next document gets a new worker."""
    doc = make_docx(tmp_path / "挂起.docx")
    convert.close_pool()  # one worker, whatever an earlier test (a batch on two) grew the pool to
    to_pdf([doc])
    pool = the_pool()
    [office] = pool.pids()
    os.kill(office, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(ConversionError, match=r"挂起\.docx.*longer than 2 s"):
            to_pdf([doc], timeout=2)
        assert time.monotonic() - started < 15
    finally:
        if not process_gone(office):
            os.kill(office, signal.SIGCONT)
    assert process_gone(office)
    doc.with_suffix(".pdf").unlink()
    assert to_pdf([doc]) == [doc.with_suffix(".pdf")]
    assert pool.pids() and pool.pids() != [office]


def test_several_workers_convert_at_once(tmp_path: Path) -> None:
    docs = [make_docx(tmp_path / f"多{i}.docx", f"关于认定办发书的通知{i}") for i in range(4)]
    try:
        made = convert.to_pdf_many(docs, jobs=2)
        pool = the_pool()
        assert pool.size == 2 and len(pool.pids()) == 2
    finally:
        convert.close_pool()  # the rest of the tests go back to one worker
    assert made == [d.with_suffix(".pdf") for d in docs]
    for i, pdf in enumerate(made):
        with pdfplumber.open(pdf) as opened:
            assert f"通知{i}" in squeeze(opened.pages[0].extract_text())


def test_no_libreoffice_remains_after_shutdown(tmp_path: Path) -> None:
    doc = make_docx(tmp_path / "a.docx")
    to_pdf([doc])
    offices = the_pool().pids()
    assert offices and children(os.getpid())  # the worker
    convert.close_pool()
    assert all(process_gone(pid) for pid in offices)
    assert children(os.getpid()) == []
    script = ("import os, sys; from pathlib import Path; from toolkit import convert; "
              "convert.to_pdf_many([Path(sys.argv[1]), Path(sys.argv[2])], jobs=2); "
              "print(*convert.office_pool().pids())")
    second = make_docx(tmp_path / "b.docx")
    run = subprocess.run([sys.executable, "-c", script, str(doc), str(second)], cwd=ROOT, capture_output=True,
                         text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    pids = [int(p) for p in run.stdout.split()]
    assert len(pids) == 2 and all(process_gone(pid) for pid in pids)  # stopped at exit (atexit)
    assert children(os.getpid()) == []


def test_the_convert_command_starts_libreoffice_first_and_leaves_none(tmp_path: Path) -> None:
    """``shenbao convert`` starts its worker while it imports the rest of the command; the PDF is whole, its fonts
    embedded, and no LibreOffice is left once the command has exited — nor when it fails on its file (at once, not
    after waiting for the office it started)."""
    doc, bad = make_docx(tmp_path / "命令.docx"), tmp_path / "坏.docx"
    bad.write_text("not a Word document", encoding="utf-8")
    probe = ("import sys; sys.argv[1:1] = ['convert']; import toolkit.cli as cli; from toolkit import convert, entry; "
             "print(convert.pool_open()); cli.main = lambda argv=None: None; entry.main(sys.argv[1:]); "
             "pool = convert.office_pool(); print(pool is not None and bool(pool._starting or pool.pids()))")
    run = subprocess.run([sys.executable, "-c", probe, str(doc)], cwd=ROOT, capture_output=True, text=True,
                         timeout=180)
    # importing the command starts nothing; its entry point starts the worker before the command runs
    assert run.returncode == 0 and run.stdout.split() == ["False", "True"], run.stderr
    shenbao = str(Path(sys.executable).with_name("shenbao"))
    for given, status in ((doc, 0), (bad, 2)):
        started = time.monotonic()
        command = subprocess.Popen([shenbao, "convert", str(given)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        out, err = command.communicate(timeout=180)
        assert command.returncode == status, err
        if status:
            assert "坏.docx" in err and time.monotonic() - started < 15
        left = subprocess.run(["pgrep", "-f", f"shenbao-{command.pid}-worker"], capture_output=True, text=True)
        assert left.stdout == "", f"LibreOffice left behind: {left.stdout}"
    pdf = doc.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.read_bytes().rstrip().endswith(b"%%EOF")
    assert re.search(rf"\+{LINES[3][3]}", fonts_of(pdf))


def test_libreoffice_keeps_the_large_blocks_it_frees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    env = convert.office_env()
    assert "glibc.malloc.mmap_threshold=" in env["GLIBC_TUNABLES"] and env["FONTCONFIG_FILE"]
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=4096")
    assert convert.office_env()["GLIBC_TUNABLES"].endswith(":glibc.malloc.mmap_threshold=4096")  # given: it wins


def test_without_python3_uno_the_plain_call_converts(tmp_path: Path) -> None:
    """The toolkit's own Python has no uno: as the system Python would be without python3-uno. The
    conversion takes the plain soffice call and says so once."""
    docs = [make_docx(tmp_path / f"{i}.docx") for i in range(2)]
    script = ("import logging, sys; from pathlib import Path; from toolkit import convert; "
              "logging.basicConfig(level=logging.INFO, format='%(name)s: %(message)s'); "
              "[convert.to_pdf([Path(p)]) for p in sys.argv[1:]]; print(convert.office_pool())")
    for env in ({"SHENBAO_OFFICE_PYTHON": sys.executable}, {"SHENBAO_OFFICE_WORKERS": "0"}):
        run = subprocess.run([sys.executable, "-c", script, *map(str, docs)], cwd=ROOT, capture_output=True,
                             text=True, timeout=180, env={**os.environ, **env})
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "None"
        said = [line for line in run.stderr.splitlines() if line.startswith("shenbao.office")]
        assert len(said) == 1 and "each conversion starts soffice" in said[0], run.stderr
        for doc in docs:
            assert doc.with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
            doc.with_suffix(".pdf").unlink()


# --- lean copies: the styles nothing uses are not converted -------------------------------------------------

def test_a_lean_copy_keeps_the_styles_in_use(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph("标题", style="Heading 1")  # Heading 1 → based on Normal, linked to Heading 1 Char
    doc.add_paragraph("正文")
    doc.save(str(tmp_path / "a.docx"))
    assert lean_copy(tmp_path / "a.docx", tmp_path / "lean.docx")
    with zipfile.ZipFile(tmp_path / "a.docx") as archive:
        before = set(re.findall(r'w:styleId="([^"]+)"', archive.read("word/styles.xml").decode()))
    with zipfile.ZipFile(tmp_path / "lean.docx") as archive:
        after = set(re.findall(r'w:styleId="([^"]+)"', archive.read("word/styles.xml").decode()))
        assert archive.namelist() == zipfile.ZipFile(tmp_path / "a.docx").namelist()
    assert {"Heading1", "Normal", "Heading1Char", "DefaultParagraphFont", "TableNormal"} <= after < before
    assert "Title" in before and "Title" not in after and len(after) < 15


def test_a_lean_copy_is_not_made_when_styles_are_named_by_fields(tmp_path: Path) -> None:
    doc = make_docx(tmp_path / "a.docx")
    with zipfile.ZipFile(doc) as source, zipfile.ZipFile(tmp_path / "toc.docx", "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b'<w:body><w:p><w:r><w:instrText xml:space="preserve"> TOC \\o '
                                                  b'"1-3" </w:instrText></w:r></w:p>', 1)
            target.writestr(item, data)
    assert not lean_copy(tmp_path / "toc.docx", tmp_path / "lean.docx")
    assert not lean_copy(tmp_path / "missing.docx", tmp_path / "lean.docx")
    assert not (tmp_path / "lean.docx").exists()


@pytest.mark.parametrize("form_id", ["tj-high-tech-certificate", "tj-high-tech-enterprise-application"])
def test_a_lean_copy_renders_the_same_pages(form_id: str, own_pool: OfficePool, tmp_path: Path) -> None:
    from conftest import render_file, sample

    doc = render_file(form_id, sample(form_id), tmp_path / "full.docx")
    assert lean_copy(doc, tmp_path / "lean.docx")
    pages = {}
    for name in ("full", "lean"):
        assert own_pool.convert(tmp_path / f"{name}.docx", tmp_path / f"{name}.pdf", 120) is None
        subprocess.run([tool("pdftoppm"), "-r", "100", "-png", str(tmp_path / f"{name}.pdf"),
                        str(tmp_path / name)], check=True)
        pages[name] = [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tmp_path.glob(f"{name}-*.png"))]
    assert pages["full"] and pages["full"] == pages["lean"]


def test_the_work_folder_of_a_killed_process_is_swept_and_a_living_ones_kept(tmp_path: Path) -> None:
    """A process killed outright (SIGKILL: no ``atexit``) leaves its work folder; the next process to make one
    removes it — and never the folder of a process still running, whose owner file it holds locked."""
    holder = ("import sys, time; from toolkit import convert; print(convert._work_dir(), flush=True); "
              "time.sleep(60)")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "XDG_RUNTIME_DIR": str(scratch)}
    killed, living = (subprocess.Popen([sys.executable, "-c", holder], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                       text=True) for _ in range(2))
    try:
        folders = [Path(p.stdout.readline().strip()) for p in (killed, living) if p.stdout]
        assert all(f.parent == scratch and (f / "fonts.conf").is_file() for f in folders)
        killed.kill()
        killed.wait()
        assert folders[0].is_dir()  # left behind
        convert._sweep(scratch, older_than=0)
        assert not folders[0].exists() and folders[1].is_dir()
    finally:
        for process in (killed, living):
            process.kill()
            process.wait()
