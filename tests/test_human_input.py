"""Input as people type it, read one way everywhere; outputs that never destroy inputs; messages for people."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, changed, run_cli, sample, write_json

import toolkit
from toolkit import sheets
from toolkit.values import read_cell, read_printed, read_text

FORM = "tj-high-tech-enterprise-application"
CERTIFICATE = "tj-high-tech-certificate"


TYPED = [  # (field, as typed, as read)
    ("enterprise.registration_date", "2012年5月16日", "2012-05-16"),
    ("enterprise.registration_date", "2012/5/16", "2012-05-16"),
    ("enterprise.registration_date", "2012.5.16", "2012-05-16"),
    ("enterprise.registration_date", 41045, "2012-05-16"),  # an Excel date serial
    ("finance.sales_revenue_last_year", "1,008.2", Decimal("1008.2")),
    ("finance.sales_revenue_last_year", "1008.2万元", Decimal("1008.2")),
    ("staff.total", "６８", 68),
    ("staff.total", "68人", 68),
    ("enterprise.registered_in_tianjin", "是", True),
    ("enterprise.registered_in_tianjin", "√", True),
    ("enterprise.uscc", "91120116786375429r ", "91120116786375429R"),
    ("enterprise.uscc", "9112 0116 7863 7542 9R\u200b", "91120116786375429R"),
    ("enterprise.name", "  天津海泰中科光电技术有限公司\u3000", "天津海泰中科光电技术有限公司"),
]


@pytest.mark.parametrize(("path", "typed", "read"), TYPED)
def test_validate_reads_what_people_type_and_says_how(path: str, typed: Any, read: Any) -> None:
    data = changed(sample(FORM), {path: typed})
    report = toolkit.check(FORM, data)
    assert report.ok, [f.message for f in report.findings]
    pointer = "/" + path.replace(".", "/")
    note = next(n for n in report.notes if n.path == pointer)
    shown = "是" if read is True else read
    assert note.rule == "input.read" and note.message.endswith(f"已按 {shown} 理解")
    strict = toolkit.check(FORM, data, strict=True)
    assert [f.rule for f in strict.errors] == ["input.strict"] and strict.errors[0].path == pointer


@pytest.mark.parametrize(("path", "typed", "read"), [t for t in TYPED if isinstance(t[1], str)])
def test_the_same_text_reads_the_same_in_validate_batch_and_extract(path: str, typed: str, read: Any) -> None:
    node = toolkit.fields.node(toolkit.form(FORM), path)
    assert read_text(typed, node) == read_cell(typed, node) == read
    if "\u200b" not in typed and " " not in typed.strip():
        assert read_printed(typed, node) == read


def test_what_cannot_be_read_keeps_a_clear_error() -> None:
    data = changed(sample(FORM), {"finance.sales_revenue_last_year": "1008.2元", "enterprise.registration_date":
                                  "2012年13月1日", "staff.total": "很多"})
    found = {f.path: f.message for f in toolkit.check(FORM, data).errors}
    assert found["/finance/sales_revenue_last_year"] == "应为数值，现为「1008.2元」"  # 元 is not 万元: not guessed
    assert found["/enterprise/registration_date"].startswith("日期无效")
    assert found["/staff/total"] == "应为整数，现为「很多」"


def test_normalize_writes_the_canonical_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    typed = write_json(tmp_path, "typed.json", changed(sample(FORM), {"enterprise.registration_date": "2012年5月16日",
                                                                   "staff.total": "６８"}))
    out = tmp_path / "canonical.json"
    code, _, err = run_cli(capsys, "normalize", FORM, typed, "-o", str(out))
    assert code == 0 and "「2012年5月16日」已按 2012-05-16 理解" in err
    canonical = json.loads(out.read_text(encoding="utf-8"), parse_float=Decimal)
    assert canonical["enterprise"]["registration_date"] == "2012-05-16" and canonical["staff"]["total"] == 68
    assert run_cli(capsys, "validate", "--strict", FORM, str(out))[0] == 0
    assert run_cli(capsys, "validate", "--strict", FORM, typed)[0] == 1


def test_a_batch_reads_typed_cells_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    headers = sheets.headers(toolkit.form(CERTIFICATE))
    names = sheets.columns(toolkit.form(CERTIFICATE)).names
    base = sample(CERTIFICATE)
    row = [toolkit.fields.get(base, names[h]) for h in headers]
    row = ["是" if v is True else "否" if v is False else "、".join(v) if isinstance(v, list) else v for v in row]
    row[headers.index(next(h for h in headers if names[h] == "issue_date"))] = "2016年6月15日"
    row[headers.index(next(h for h in headers if names[h] == "enterprise.uscc"))] = " 91120116786375429r"
    sheet = tmp_path / "rows.csv"
    with sheet.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([headers, row])
    assert run_cli(capsys, "batch", CERTIFICATE, str(sheet), "-o", str(tmp_path / "out"), "--quiet")[0] == 0
    from test_render import docx_text

    text = docx_text(tmp_path / "out" / "2.docx")
    assert "91120116786375429R" in text and "2016年6月15日" in text and "91120116786375429r" not in text


@pytest.mark.parametrize(("args", "reason"), [
    (("render", FORM, "{data}", "-o", "{data}"), "输出文件应以 .docx 结尾"),
    (("render", FORM, "{data}", "-o", "{folder}/same.docx", "--template", "{folder}/same.docx"),
     "输出文件与输入文件相同"),
    (("render", FORM, "{data}", "-o", "{folder}/out.txt"), "输出文件应以 .docx 结尾"),
    (("extract", FORM, "{folder}/a.pdf", "-o", "{folder}/a.pdf"), "输出文件应以 .json 结尾"),
    (("batch", CERTIFICATE, "{folder}/s.docx", "-o", "{folder}/o", "--merge", "{folder}/s.docx"),
     "输出文件与输入文件相同"),
    (("batch", CERTIFICATE, "{folder}/s.csv", "-o", "{folder}/o", "--zip", "{folder}/s.csv"), "输出文件应以 .zip 结尾"),
])
def test_outputs_never_destroy_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                      reason: str) -> None:
    data = write_json(tmp_path, "app.json", sample(FORM))
    for name in ("same.docx", "a.pdf", "s.docx", "s.csv"):
        (tmp_path / name).write_bytes(b"the user's own file")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    code, _, err = run_cli(capsys, *(a.format(data=data, folder=tmp_path) for a in args))
    assert code == 2 and reason in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in before} == before


def test_a_typo_in_a_form_id_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "validate", "tj-high-tech-enterprise-applicaton", "x.json")
    assert code == 2 and "您是否想输入：tj-high-tech-enterprise-application" in err


def test_a_typo_in_name_is_refused_with_a_suggestion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "rows.jsonl"
    sheet.write_text(json.dumps(sample(CERTIFICATE), ensure_ascii=False, default=float) + "\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "batch", CERTIFICATE, str(sheet), "-o", str(tmp_path / "o"), "--name",
                        "{enterprise.nmae}")
    assert code == 2 and "「{enterprise.nmae}」不是通知" in err and "{enterprise.name}" in err
    assert not (tmp_path / "o").exists()


def test_batch_check_reports_bad_rows_and_duplicates_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = sample(CERTIFICATE)
    rows = [changed(base, {"certificate_number": "N-1"}), changed(base, {"certificate_number": "N-2"}),
            changed(base, {"certificate_number": "N-1", "enterprise.uscc": "91120104MA05K7X10W"}),
            changed(base, {"certificate_number": "N-3", "issue_date": "2016-02-30"})]
    sheet = tmp_path / "rows.jsonl"
    sheet.write_text("\n".join(json.dumps(r, ensure_ascii=False, default=float) for r in rows) + "\n",
                     encoding="utf-8")
    code, out, err = run_cli(capsys, "batch", CERTIFICATE, str(sheet), "--check")
    assert code == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl"]
    lines = err.splitlines()
    assert f"shenbao: {sheet} 第2行：企业 · 统一社会信用代码「91120116786375429R」与第1行重复" in lines
    assert f"shenbao: {sheet} 第3行：证书编号「N-1」与第1行重复" in lines
    assert any(line.startswith(f"shenbao: {sheet} 第4行：/issue_date（发证日期）：日期无效") for line in lines)
    assert out.strip() == f"{sheet}：共 4 行，1 行可生成，3 行有错误或重复（未生成任何文件）"


def test_ctrl_c_leaves_a_manifest(tmp_path: Path) -> None:
    base = sample(CERTIFICATE)
    sheet = tmp_path / "rows.jsonl"
    sheet.write_text("\n".join(json.dumps(changed(base, {"certificate_number": f"N-{i}"}), ensure_ascii=False,
                                          default=float) for i in range(3000)) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-c", "import sys; from toolkit.cli import main; main(sys.argv[1:])", "batch",
               CERTIFICATE, str(sheet), "-o", str(out), "--name", "{certificate_number}", "-j", "1", "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("*.docx"))) < 50:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "已中止" in err
    with (out / "manifest.csv").open(encoding="utf-8-sig") as handle:
        listed = {row["file"] for row in csv.DictReader(handle) if row["status"] == "written"}
    assert listed and listed <= {p.name for p in out.glob("*.docx")}


def test_a_read_only_folder_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        folder = Path("/proc/sys/shenbao-cannot-write")  # root writes anywhere else
    else:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
    code, _, err = run_cli(capsys, "render", FORM, str(ROOT / "samples" / f"{FORM}.json"), "-o", str(folder / "x.docx"))
    assert code == 2 and err.count("\n") == 1 and "无法写入或读取" in err and "内部错误" not in err


def test_deeply_nested_json_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    code, _, err = run_cli(capsys, "validate", FORM, str(path))
    assert code == 2 and err.count("\n") == 1 and "内部错误" not in err and str(path) in err or "嵌套" in err


def test_absurd_values_are_refused_by_the_schema_with_the_title() -> None:
    data = changed(sample(FORM), {"enterprise.name": "企" * 1_000_000, "staff.total": int("9" * 400)})
    found = {f.path: f for f in toolkit.check(FORM, data).errors}
    assert found["/enterprise/name"].message == "最多500个字，现为1,000,000个字"
    assert found["/enterprise/name"].title == "企业基本情况 · 企业名称"
    assert found["/staff/total"].message == "不得大于 1000000000000，现为 一个400位的数"


@pytest.mark.parametrize("phone", ["022-23142050", "(022)23142050", "（022）2314 2050", "+86 138 0013 8000",
                                   "022-23142050转8001", "+86-22-23142050"])
def test_phone_numbers_as_offices_write_them(phone: str) -> None:
    assert toolkit.check(FORM, changed(sample(FORM), {"contact.phone": phone})).ok


def test_every_help_is_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ([], ["validate"], ["render"], ["decide"], ["extract"], ["batch"], ["normalize"],
                    ["office", "init"], ["template", "check"], ["convert"], ["skeleton"]):
        code, out, _ = run_cli(capsys, *command, "--help")
        assert code == 0 and out.startswith("用法：") and "Show this message" not in out and "Usage" not in out
        assert "[选项]" in out and "[OPTIONS]" not in out


def test_outputs_get_the_usual_permissions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.docx"
    assert run_cli(capsys, "render", FORM, str(ROOT / "samples" / f"{FORM}.json"), "-o", str(out))[0] == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_long_name_is_cut_by_bytes_and_one_bad_row_never_stops_a_batch(tmp_path: Path) -> None:
    long_name = "天津" + "科" * 120 + "有限公司"  # 372 bytes in UTF-8: too long for a file name
    rows = [changed(sample(CERTIFICATE), {"enterprise.name": long_name, "certificate_number": "N-1"}),
            changed(sample(CERTIFICATE), {"certificate_number": "N-2"})]
    sink = toolkit.FolderSink(tmp_path / "out")
    result = toolkit.batch(CERTIFICATE, rows, sink, name="{enterprise.name}-{certificate_number}")
    assert [o.status for o in result.outcomes] == ["written", "written"]
    assert all(len(o.file.encode("utf-8")) <= 210 for o in result.outcomes)

    class Full(toolkit.MemorySink):
        def put(self, name: str, document: bytes) -> None:
            if "N-1" in name:
                raise OSError(28, "No space left on device")
            super().put(name, document)

    full = Full()
    outcome = toolkit.batch(CERTIFICATE, rows, full, name="{certificate_number}").outcomes
    assert [o.status for o in outcome] == ["failed", "written"] and "无法写入 N-1.docx" in outcome[0].message


def test_outline_numbers_past_ninety_nine() -> None:
    from toolkit.values import chinese_numeral

    assert [chinese_numeral(n) for n in (1, 10, 12, 20, 99, 100, 101)] == [
        "一", "十", "十二", "二十", "九十九", "一百", "一百零一"]
