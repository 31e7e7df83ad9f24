"""Files as Chinese offices make them: JSON and CSV in GBK (GB18030), UTF-16 and UTF-8 with or without BOM, Excel's
tab-separated "Unicode text", and workbooks in .xlsx, .xls and .ods made by LibreOffice — each read to the same
documents as the .xlsx run; damaged and wrong files refused with the reason."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import ROOT, sample
from test_batch import FORM, _manifest, _rows, _run, _xlsx
from test_render import docx_text

from toolkit import convert, sheets
from toolkit.errors import UnusableInput
from toolkit.files import UTF8, decoded_text, load_application_with_encoding, load_data_with_encoding

ROWS = 4


# --- the encoding of a text ------------------------------------------------------------------------------

TEXT = "证书编号,企业名称\r\n津滨高企2016-057,天津海泰中科光电技术有限公司\r\n"


@pytest.mark.parametrize(("data", "encoding"), [
    (TEXT.encode("utf-8"), UTF8),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), UTF8),
    (TEXT.encode("gbk"), "GB18030"),
    (TEXT.encode("gb18030"), "GB18030"),
    (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "UTF-16"),
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "UTF-16"),
    (TEXT.encode("utf-16-le"), "UTF-16"),  # no BOM: the detector is sure, and the NULs agree
    (TEXT.encode("utf-16-be"), "UTF-16"),
    (TEXT.encode("utf-32"), "UTF-32"),
])
def test_encodings(data: bytes, encoding: str) -> None:
    assert decoded_text(data, "t.csv") == (TEXT, encoding)


@pytest.mark.parametrize("text", ["是", "否\r\n", "名称\r\n天津\r\n", "企业名称,金额\r\n天津科技,20\r\n",
                                  "物理空间面积（㎡）\r\n", '{"a": "是"}', "张堃,李喆,王珺\r\n"])
def test_short_gbk_is_read_as_gb18030(text: str) -> None:
    """A few Chinese words fool a statistical detector (Korean, Big5 or UTF-16 seem as likely): GB18030 first."""
    assert decoded_text(text.encode("gbk"), "t.csv") == (text, "GB18030")


def test_random_short_gbk_sheets_are_read_as_gb18030() -> None:
    words = [w for h in sheets.headers(_certificate()) for w in h.split(" · ")] + ["是", "否", "天津", "张堃"]
    rng = random.Random(7)
    for _ in range(200):
        text = "\r\n".join(",".join(rng.sample(words, rng.randint(1, 4))) for _ in range(rng.randint(1, 3)))
        assert decoded_text(text.encode("gbk")) == (text, "GB18030"), text


def test_valid_utf8_is_utf8() -> None:
    """UTF-8 bytes of Chinese are often valid GB18030 too (``中文`` → ``涓…枃``): UTF-8 wins."""
    data = "中文".encode()
    assert data.decode("gb18030").startswith("涓")
    assert decoded_text(data) == ("中文", UTF8)


def test_long_big5_is_told_apart() -> None:
    text = "企業名稱,統一社會信用代碼,負責人,聯絡電話\r\n"
    text += "新竹科學園區研發有限公司,91120116786375429R,陳大文,0912\r\n" * 3
    assert decoded_text(text.encode("big5")) == (text, "Big5")


@pytest.mark.parametrize("data", [bytes(range(256)) * 4, random.Random(1).randbytes(3000), b"\x00\x01\x02\x03",
                                  b"\x89PNG\r\n\x1a\n" + bytes(200), b"abc\x00def\x00\x81"])
def test_binary_is_no_text(data: bytes) -> None:
    with pytest.raises(UnusableInput) as caught:
        decoded_text(data, "照片.csv")
    assert str(caught.value).startswith("照片.csv: 无法识别文本编码")


def test_loading_says_the_encoding(tmp_path: Path) -> None:
    data = sample(FORM)
    path = tmp_path / "a.json"
    path.write_bytes(json.dumps(data, ensure_ascii=False, default=str).encode("gb18030"))
    assert load_application_with_encoding(path) == (data, "GB18030")
    profile = tmp_path / "office.toml"
    profile.write_bytes(codecs.BOM_UTF16_LE + 'name = "天津市科学技术局"\n'.encode("utf-16-le"))
    assert load_data_with_encoding(profile) == ({"name": "天津市科学技术局"}, "UTF-16")


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-8-sig"])
def test_validate_a_json_file_in_another_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "application.json"
    text = json.dumps(sample("tj-high-tech-enterprise-application"), ensure_ascii=False, indent=2, default=str)
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    assert _run("validate", "tj-high-tech-enterprise-application", str(path)) == 0


def test_binary_renamed_csv_is_unusable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "名单.csv"
    sheet.write_bytes(random.Random(2).randbytes(5000))
    assert _run("batch", FORM, str(sheet), "-o", str(tmp_path / "out")) == 2
    assert f"{sheet}: 无法识别文本编码" in capsys.readouterr().err


# --- sheets in every format give the documents of the .xlsx run ---------------------------------------

def _certificate() -> Any:
    import toolkit

    return toolkit.form(FORM)


def _excel_csv(path: Path, headers: list, rows: list) -> Path:
    """A CSV as Excel on Chinese Windows saves it: GBK (GB18030) bytes, CRLF, no BOM."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([headers, *rows])
    path.write_bytes(buffer.getvalue().encode("gb18030"))
    return path


def _unicode_text(path: Path, headers: list, rows: list, delimiter: str = "\t") -> Path:
    """Excel's "Unicode text": tab-separated UTF-16LE with its BOM, CRLF."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows([headers, *rows])
    path.write_bytes(codecs.BOM_UTF16_LE + buffer.getvalue().encode("utf-16-le"))
    return path


def _typed(value: Any) -> Any:
    """A cell as a person types it into Excel: dates, numbers and yes/no as such, not as text."""
    if value in ("是", "否"):
        return value == "是"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[:4].isdigit():
        return dt.date.fromisoformat(value)
    if isinstance(value, str) and value.isdigit() and len(value) < 6:
        return int(value)
    return value


def _typed_xlsx(path: Path, headers: list, rows: list) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "证书"
    sheet.append(headers)
    for row in rows:
        sheet.append([_typed(v) for v in row])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    book.save(path)
    return path


def _libreoffice(source: Path, suffix: str, out: Path) -> Path:
    """``source`` saved as ``suffix`` by LibreOffice Calc headless, with a private profile."""
    profile = out / "profile"
    done = subprocess.run([str(convert.soffice_path()), f"-env:UserInstallation={profile.as_uri()}", "--headless",
                           "--norestore", "--convert-to", suffix, "--outdir", str(out), str(source)],
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    made = out / f"{source.stem}.{suffix}"
    if not made.is_file():
        pytest.fail(f"LibreOffice Calc made no .{suffix} (`make system` installs libreoffice-calc-nogui): "
                    f"{done.stdout} {done.stderr}")
    return made


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same certificates in every format; the .xlsx of test_batch, and one typed cell by cell."""
    folder = tmp_path_factory.mktemp("sheets")
    headers, rows = _rows(ROWS)
    typed = _typed_xlsx(folder / "typed.xlsx", headers, rows)
    converted = folder / "converted"
    converted.mkdir()
    found = {
        "xlsx": _xlsx(folder / "rows.xlsx", headers, rows),
        "typed.xlsx": typed,
        "excel.csv": _excel_csv(folder / "excel.csv", headers, rows),
        "unicode.txt": _unicode_text(folder / "unicode.txt", headers, rows),
        "utf16.csv": _unicode_text(folder / "utf16.csv", headers, rows, delimiter=","),
        "xls": _libreoffice(typed, "xls", converted),
        "ods": _libreoffice(typed, "ods", converted),
    }
    shutil.rmtree(converted / "profile", ignore_errors=True)
    return found


def test_the_files_are_what_offices_make(made: dict[str, Path]) -> None:
    gbk = made["excel.csv"].read_bytes()
    assert not gbk.startswith(codecs.BOM_UTF8) and b"\r\n" in gbk and "天津第0号".encode("gbk") in gbk
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    assert made["unicode.txt"].read_bytes().startswith(codecs.BOM_UTF16_LE + "发文机关名称\t".encode("utf-16-le"))
    assert made["xls"].read_bytes().startswith(b"\xd0\xcf\x11\xe0")  # the OLE2 container of Excel 97–2003
    with open(made["ods"], "rb") as handle:
        assert b"application/vnd.oasis.opendocument.spreadsheet" in handle.read(100)


@pytest.mark.parametrize(("kind", "encoding"), [("excel.csv", "GB18030"), ("unicode.txt", "UTF-16"),
                                                ("utf16.csv", "UTF-16"), ("xls", ""), ("ods", ""),
                                                ("typed.xlsx", "")])
def test_every_format_reads_the_same(made: dict[str, Path], kind: str, encoding: str) -> None:
    certificate = _certificate()
    sheet = made[kind]
    assert sheets.sheet_encoding(sheet) == encoding
    assert sheets.sheet_headers(sheet) == sheets.sheet_headers(made["xlsx"])
    assert sheets.check_headers(certificate, sheet).names == sheets.columns(certificate).names
    assert sheets.count_rows(sheet) == ROWS
    known = sheets.columns(certificate)
    expected = [(row.number, known.data(row)) for row in sheets.read_rows(made["xlsx"])]
    assert [(row.number, known.data(row)) for row in sheets.read_rows(sheet)] == expected


def test_cells_of_workbooks(made: dict[str, Path]) -> None:
    """What calamine gives, after sheets: whole numbers as ints (20, not 20.0), dates as dates, yes/no (an .ods
    from LibreOffice holds it as the number 1) and empty cells as ''."""
    for kind in ("typed.xlsx", "xls", "ods"):
        first = next(sheets.read_rows(made[kind])).values
        assert first["年份"] == 2016 and type(first["年份"]) is int, kind
        assert first["发证日期"] == dt.date(2016, 6, 15), kind
        assert first["是否加盖印章"] in (True, 1), kind


def test_float_whole_numbers_read_as_in_openpyxl(tmp_path: Path) -> None:
    """A number column that Excel keeps as 20.0: an integer field reads 20, a text field "20", a decimal 20.5."""
    from toolkit.values import read_cell

    book = openpyxl.Workbook()
    book.active.append(["a", "b", "c", "d"])
    book.active.append([20.0, 13812345678.0, 20.5, ""])
    book.save(tmp_path / "n.xlsx")
    values = next(sheets.read_rows(tmp_path / "n.xlsx")).values
    assert values == {"a": 20, "b": 13812345678, "c": 20.5, "d": ""}
    assert read_cell(values["a"], {"type": "integer"}) == 20
    assert read_cell(values["b"], {"type": "string"}) == "13812345678"
    assert read_cell(values["d"], {"type": "integer"}) is None


@pytest.mark.parametrize("kind", ["excel.csv", "unicode.txt", "utf16.csv", "xls", "ods", "typed.xlsx"])
def test_batch_gives_the_documents_of_the_xlsx_run(made: dict[str, Path], tmp_path: Path, kind: str) -> None:
    name = "{certificate_number}-{enterprise.name}"
    baseline, out = tmp_path / "xlsx", tmp_path / kind
    assert _run("batch", FORM, str(made["xlsx"]), "-o", str(baseline), "--name", name, "--quiet") == 0
    assert _run("batch", FORM, str(made[kind]), "-o", str(out), "--name", name, "--quiet") == 0
    expected, manifest = _manifest(baseline), _manifest(out)
    assert [(m["row"], m["status"], m["file"]) for m in manifest] == [(m["row"], m["status"], m["file"])
                                                                      for m in expected]
    assert len(manifest) == ROWS and {m["status"] for m in manifest} == {"written"}
    for entry in manifest:
        assert docx_text(out / entry["file"]) == docx_text(baseline / entry["file"])
    assert "天津第3号科技有限公司" in docx_text(out / manifest[3]["file"])


# --- damaged and wrong workbooks ------------------------------------------------------------------------

def _damaged(made: dict[str, Path], folder: Path) -> list[tuple[Path, str]]:
    half = folder / "half.xlsx"
    half.write_bytes(made["xlsx"].read_bytes()[:3000])
    xls = folder / "half.xls"
    xls.write_bytes(made["xls"].read_bytes()[:3000])
    ods = folder / "broken.ods"
    ods.write_bytes(b"PK\x03\x04" + bytes(500))
    page = folder / "导出.xls"
    page.write_text("<html><body><table><tr><td>企业名称</td></tr></table></body></html>", encoding="utf-8")
    text = folder / "名单.xls"
    text.write_bytes("企业名称\t统一社会信用代码\r\n".encode("gbk"))
    empty = folder / "empty.ods"
    empty.write_bytes(b"")
    return [(half, "不是有效的 Excel 文件，或已损坏"), (xls, "不是有效的 Excel 文件，或已损坏"),
            (ods, "不是有效的 OpenDocument 表格文件，或已损坏"), (text, "这是文本文件，不是真正的 .xls 文件"),
            (page, "这是网页（HTML）或 XML 文件，不是真正的 .xls 文件"), (empty, "文件为空")]


def test_damaged_workbooks_are_unusable(made: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    for path, reason in _damaged(made, tmp_path):
        for read in (sheets.sheet_headers, sheets.count_rows, lambda p: list(sheets.read_rows(p))):
            with pytest.raises(UnusableInput) as caught:
                read(path)
            assert str(caught.value).startswith(f"{path}: {reason}"), caught.value
        assert _run("batch", FORM, str(path), "-o", str(tmp_path / "out")) == 2
        err = capsys.readouterr().err
        assert f"{path}: {reason}" in err and "Traceback" not in err


def test_a_workbook_under_another_workbook_suffix_is_read(made: dict[str, Path], tmp_path: Path) -> None:
    """Read by its content: an .xlsx that someone named .xls, an .ods named .xlsx."""
    for source, name in ((made["xlsx"], "renamed.xls"), (made["ods"], "renamed.xlsx"), (made["xlsx"], "m.xlsm")):
        copy = tmp_path / name
        shutil.copyfile(source, copy)
        assert sheets.count_rows(copy) == ROWS and sheets.sheet_headers(copy) == sheets.sheet_headers(made["xlsx"])


def test_the_first_visible_sheet_is_read(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["这一页是隐藏的说明"])
    book.active.sheet_state = "hidden"
    rows = book.create_sheet("名单")
    rows.append(["企业名称"])
    rows.append(["天津第0号科技有限公司"])
    book.active = 1
    book.save(tmp_path / "two.xlsx")
    assert sheets.sheet_headers(tmp_path / "two.xlsx") == ["企业名称"]
    assert [r.values for r in sheets.read_rows(tmp_path / "two.xlsx")] == [{"企业名称": "天津第0号科技有限公司"}]


def test_jsonl_in_gbk(tmp_path: Path) -> None:
    sheet = tmp_path / "rows.jsonl"
    sheet.write_bytes('{"certificate_number": "津滨高企2016-001"}\r\n\r\n{"a": 1}\r\n'.encode("gbk"))
    assert sheets.sheet_encoding(sheet) == "GB18030" and sheets.count_rows(sheet) == 2
    assert [r.values for r in sheets.read_rows(sheet)] == [{"certificate_number": "津滨高企2016-001"}, {"a": 1}]


def test_unsupported_suffix_names_the_formats(tmp_path: Path) -> None:
    sheet = tmp_path / "rows.numbers"
    sheet.write_bytes(b"x")
    with pytest.raises(UnusableInput, match=r"只接受 \.xlsx、\.xls、\.ods、\.csv"):
        sheets.sheet_headers(sheet)


def test_the_demo_sheet_still_reads() -> None:
    sheet = ROOT / "examples" / "tj-high-tech-certificates.csv"
    assert sheets.sheet_encoding(sheet) == UTF8 and sheets.count_rows(sheet) == len(list(sheets.read_rows(sheet)))
