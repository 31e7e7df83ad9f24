"""Batch notices: sheets in every format, bad rows named, names made unique, text identical to a plain
docxtpl render, a run killed with SIGKILL finished by --resume, merge, zip and one document of many rows."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import ROOT, sample
from conftest import render_file as render
from test_render import docx_text

import toolkit
from toolkit import fields, sheets
from toolkit.cli import main
from toolkit.files import write_bytes
from toolkit.prepared_template import PreparedTemplate

FORM = "tj-high-tech-certificate"


def _value(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _rows(count: int, dotted: bool = False, bad: dict[int, tuple[str, str]] | None = None) -> tuple[list, list]:
    """A header and ``count`` rows of certificates; ``bad`` puts a wrong value in some rows."""
    base, names = sample(FORM), sheets.columns(toolkit.form(FORM)).names
    headers = list(fields.leaves(toolkit.form(FORM))) if dotted else sheets.headers(toolkit.form(FORM))
    rows = []
    for i in range(count):
        row = []
        for header in headers:
            path = names[header]
            value = _value(base, path)
            if path == "certificate_number":
                value = f"津滨高企 2016-{i:03d}"
            elif path == "enterprise.name":
                value = f"天津第{i}号科技有限公司"
            if bad and i in bad and bad[i][0] == path:
                value = bad[i][1]
            row.append("是" if value is True else "否" if value is False else "、".join(value) if isinstance(
                value, list) else value)
        rows.append(row)
    return headers, rows


def _csv(path: Path, headers: list, rows: list) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def _xlsx(path: Path, headers: list, rows: list) -> Path:
    book = openpyxl.Workbook()
    book.active.append(headers)
    for row in rows:
        book.active.append([int(v) if isinstance(v, str) and v.isdigit() and len(v) < 6 else v for v in row])
    book.save(path)
    return path


def _run(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code


def _manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(("kind", "dotted"), [("csv", False), ("xlsx", False), ("csv", True), ("xlsx", True)])
def test_sheets_become_documents(tmp_path: Path, kind: str, dotted: bool) -> None:
    headers, rows = _rows(12, dotted)
    sheet = (_csv if kind == "csv" else _xlsx)(tmp_path / f"rows.{kind}", headers, rows)
    out = tmp_path / "out"
    assert _run("batch", FORM, str(sheet), "-o", str(out), "--name", "{certificate_number}-{enterprise.name}",
                "-j", "2", "--quiet") == 0
    manifest = _manifest(out)
    assert [m["status"] for m in manifest] == ["written"] * 12
    assert [m["row"] for m in manifest] == [str(i) for i in range(2, 14)]
    first = out / manifest[0]["file"]
    assert first.name == "津滨高企 2016-000-天津第0号科技有限公司.docx"
    assert "天津第0号科技有限公司" in docx_text(first) and "津滨高企 2016-000" in docx_text(first)


def test_jsonl_rows(tmp_path: Path) -> None:
    sheet = tmp_path / "rows.jsonl"
    data = sample(FORM)
    sheet.write_text("\n".join(json.dumps({**data, "certificate_number": f"N-{i}"}, ensure_ascii=False,
                                          default=float) for i in range(3)) + "\nnot json\n", encoding="utf-8")
    out = tmp_path / "out"
    assert _run("batch", FORM, str(sheet), "-o", str(out), "--name", "{certificate_number}", "--quiet") == 1
    assert [(m["row"], m["status"]) for m in _manifest(out)] == [("1", "written"), ("2", "written"),
                                                                 ("3", "written"), ("4", "failed")]


def test_bad_rows_are_named_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    headers, rows = _rows(5, bad={1: ("issue_date", "2016-02-30"), 3: ("enterprise.uscc", "91120116786375429A")})
    out = tmp_path / "out"
    assert _run("batch", FORM, str(_csv(tmp_path / "r.csv", headers, rows)), "-o", str(out), "--quiet") == 1
    err = capsys.readouterr().err
    assert "第3行：/issue_date（发证日期）：日期无效" in err
    assert re.search(r"第5行：/enterprise/uscc（[^）]*统一社会信用代码）：统一社会信用代码校验位错误", err), err
    assert [m["status"] for m in _manifest(out)] == ["written", "failed", "written", "failed", "written"]


def test_unknown_column_is_unusable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    headers, rows = _rows(2)
    headers[0] = "没有这一列"
    assert _run("batch", FORM, str(_csv(tmp_path / "r.csv", headers, rows)), "-o", str(tmp_path / "o")) == 2
    assert "列名「没有这一列」不是表单" in capsys.readouterr().err


def test_name_collisions_get_a_number(tmp_path: Path) -> None:
    headers, rows = _rows(3)
    out = tmp_path / "out"
    assert _run("batch", FORM, str(_csv(tmp_path / "r.csv", headers, rows)), "-o", str(out), "--name",
                "证书/{enterprise.uscc}", "--quiet") == 0
    files = [m["file"] for m in _manifest(out)]
    assert files == ["证书_91120116786375429R.docx", "证书_91120116786375429R-2.docx",
                     "证书_91120116786375429R-3.docx"]


@pytest.mark.parametrize("form_id", ["tj-high-tech-certificate", "xm-rd-subsidy-notice", "rejection-notice",
                                     "tj-high-tech-publicity-list"])
def test_text_identical_to_a_plain_docxtpl_render(tmp_path: Path, form_id: str) -> None:
    fast = write_bytes(tmp_path / "fast.docx", PreparedTemplate(form_id).render_bytes(sample(form_id)))
    plain = render(form_id, sample(form_id), tmp_path / "plain.docx")
    assert docx_text(fast) == docx_text(plain)
    with zipfile.ZipFile(fast) as archive:
        assert archive.testzip() is None


def test_killed_run_is_finished_by_resume(tmp_path: Path) -> None:
    headers, rows = _rows(400)
    sheet = _csv(tmp_path / "r.csv", headers, rows)
    out = tmp_path / "out"
    command = [sys.executable, "-c", "import sys; from toolkit.cli import main; main(sys.argv[1:])",
               "batch", FORM, str(sheet), "-o", str(out), "--name", "{certificate_number}", "-j", "2", "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*.docx"))) < 40:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    written_before = len(list(out.glob("*.docx")))
    assert 0 < written_before < 400, "the run was killed midway"
    assert _run("batch", FORM, str(sheet), "-o", str(out), "--name", "{certificate_number}", "--resume",
                "--quiet") == 0
    manifest = _manifest(out)
    assert len(manifest) == 400 and {m["status"] for m in manifest} <= {"written", "skipped"}
    assert sum(m["status"] == "skipped" for m in manifest) >= written_before - 2
    assert not list(out.glob(".*.tmp"))
    for entry in manifest:
        with zipfile.ZipFile(out / entry["file"]) as archive:
            assert archive.testzip() is None and "word/document.xml" in archive.namelist()


def test_merge_and_zip(tmp_path: Path) -> None:
    headers, rows = _rows(3)
    out = tmp_path / "out"
    merged, bundle = tmp_path / "all.docx", tmp_path / "all.zip"
    assert _run("batch", FORM, str(_csv(tmp_path / "r.csv", headers, rows)), "-o", str(out), "--merge",
                str(merged), "--zip", str(bundle), "--quiet") == 0
    text = docx_text(merged)
    assert all(f"天津第{i}号科技有限公司" in text for i in range(3))
    with zipfile.ZipFile(bundle) as archive:
        assert sorted(archive.namelist()) == sorted([m["file"] for m in _manifest(out)] + ["manifest.csv"])


def test_one_document_holds_every_row(tmp_path: Path) -> None:
    form_id = "tj-high-tech-publicity-list"
    data = sample(form_id)
    enterprises = data.pop("enterprises")
    defaults = tmp_path / "defaults.json"
    defaults.write_text(json.dumps(data, ensure_ascii=False, default=float), encoding="utf-8")
    headers = ["企业名称", "统一社会信用代码", "所在区县", "技术领域"]
    rows = [[e["name"], e["uscc"], e["district"], e["tech_field"]] for e in enterprises * 4]
    sheet = _xlsx(tmp_path / "list.xlsx", headers, rows)
    out = tmp_path / "out"
    assert _run("batch", form_id, str(sheet), "-o", str(out), "--one", "--defaults", str(defaults), "--quiet") == 0
    import docx

    document = docx.Document(str(out / f"{form_id}.docx"))
    assert max(len(t.rows) for t in document.tables) == len(rows) + 1


def test_skeleton_xlsx_has_the_headers_batch_accepts(tmp_path: Path) -> None:
    sheet = tmp_path / "empty.xlsx"
    assert _run("skeleton", FORM, "--xlsx", str(sheet)) == 0
    headers = [c.value for c in next(openpyxl.load_workbook(sheet).active.iter_rows(max_row=1))]
    assert headers == sheets.headers(toolkit.form(FORM))
    certificate = toolkit.form(FORM)
    assert set(sheets.columns(certificate).names[h] for h in headers) == set(fields.leaves(certificate))


def test_hostile_values_render_the_same_in_batch(tmp_path: Path) -> None:
    form_id = "xm-rd-subsidy-notice"
    data = sample(form_id)
    data["enterprise"]["name"] = "厦门A&B<科技>\"有限\"公司 {{ 7*7 }}\n第二行\t制表"
    fast = write_bytes(tmp_path / "fast.docx", PreparedTemplate(form_id).render_bytes(data))
    plain = render(form_id, data, tmp_path / "plain.docx")
    assert docx_text(fast) == docx_text(plain)
    assert "厦门A&B<科技>\"有限\"公司 {{ 7*7 }}\n第二行" in docx_text(fast)


def test_pdf_of_every_document(tmp_path: Path) -> None:
    headers, rows = _rows(3)
    out = tmp_path / "out"
    assert _run("batch", FORM, str(_csv(tmp_path / "r.csv", headers, rows)), "-o", str(out), "--pdf",
                "-j", "2", "--quiet") == 0
    import pdfplumber

    for entry in _manifest(out):
        with pdfplumber.open(out / Path(entry["file"]).with_suffix(".pdf")) as pdf:
            assert "天津第" in pdf.pages[0].extract_text()


def test_count_rows_for_the_progress_bar(tmp_path: Path) -> None:
    from toolkit.sheets import count_rows

    headers, rows = _rows(7)
    assert count_rows(_csv(tmp_path / "r.csv", headers, rows)) == 7
    assert count_rows(_xlsx(tmp_path / "r.xlsx", headers, rows)) == 7


def test_defaults_keep_exact_decimals(tmp_path: Path) -> None:
    """Figures shared through --defaults stay numbers (a copy through JSON once made them strings)."""
    form_id = "xm-rd-subsidy-notice"
    data = sample(form_id)
    enterprise = data.pop("enterprise")
    data["amount"] = 12.34
    defaults = tmp_path / "defaults.json"
    defaults.write_text(json.dumps(data, ensure_ascii=False, default=float), encoding="utf-8")
    headers = [f"enterprise.{k}" for k in enterprise]
    sheet = _csv(tmp_path / "r.csv", headers, [["是" if v is True else v for v in enterprise.values()]])
    out = tmp_path / "out"
    assert _run("batch", form_id, str(sheet), "-o", str(out), "--defaults", str(defaults), "--quiet") == 0
    text = docx_text(out / _manifest(out)[0]["file"])
    assert "12.34万元" in text and "壹拾贰万叁仟肆佰元整" in text


def test_unknown_column_of_a_sheet_without_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = _xlsx(tmp_path / "r.xlsx", ["企业名称", "不存在的列"], [])
    assert _run("batch", FORM, str(sheet), "-o", str(tmp_path / "o")) == 2
    assert "列名「不存在的列」不是表单" in capsys.readouterr().err


def _calls(work: Any) -> int:
    """How many functions ``work()`` calls, Python's and C's: a count, the same on every run and every machine."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        count += event in ("call", "c_call")

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


class _CountingSet(set[str]):
    lookups = 0

    def __contains__(self, item: object) -> bool:
        self.lookups += 1
        return super().__contains__(item)


def test_unique_names_as_before_in_linear_look_ups() -> None:
    """Names made unique as the first batches made them (``name-2``, ``name-3`` …, whatever the case), but ten
    thousand rows of one name cost some twenty thousand look-ups, not fifty million."""
    from toolkit.batching import UniqueNames

    def before(names: list[str]) -> list[str]:
        taken: set[str] = set()
        made = []
        for name in names:
            candidate, number = name, 2
            while candidate.lower() in taken:
                candidate, number = f"{name}-{number}", number + 1
            taken.add(candidate.lower())
            made.append(candidate)
        return made

    tricky = ["a", "a-2", "A", "a", "a-3", "A-2", "a-2", "a", "证书", "证书", "b-2", "b", "b", "B"]
    unique = UniqueNames()
    assert [unique(n) for n in tricky] == before(tricky)
    names = ["证书"] * 10_000 + [f"证书-{i}" for i in range(5_000)] + ["证书"] * 10_000
    unique = UniqueNames()
    unique.taken = _CountingSet()
    made = [unique(n) for n in names]
    assert made[:3] == ["证书", "证书-2", "证书-3"] and len(set(made)) == len(names)
    assert unique.taken.lookups <= 3 * len(names)


def test_batch_bookkeeping_grows_linearly(monkeypatch: pytest.MonkeyPatch) -> None:
    """With checking and rendering stubbed out, what is left of ``batch`` — planning, file names (all the same
    here), outcomes, the sink — makes twice the calls for twice the rows, not four times."""
    from toolkit import batching

    class Template:
        plain = ""

        def __init__(self, *args: Any) -> None:
            pass

        def render_bytes(self, data: dict[str, Any]) -> bytes:
            return b"document"

    monkeypatch.setattr(batching, "PreparedTemplate", Template)
    monkeypatch.setattr(batching, "checked_row", lambda target, row, known, defaults: (dict(row.values), ""))

    def run(count: int) -> None:
        rows = [{"enterprise": {"uscc": "91120116786375429R"}} for _ in range(count)]
        sink = toolkit.MemorySink()
        toolkit.batch(FORM, rows, sink, name="{enterprise.uscc}")
        assert len(sink.documents) == count

    run(10)  # imports and caches warmed up
    one, two = _calls(lambda: run(1_500)), _calls(lambda: run(3_000))
    assert two <= 2.1 * one, (one, two)


def test_manifest_and_document_list_grow_linearly(tmp_path: Path) -> None:
    """Closing a folder (the manifest, the list of documents for --pdf, --merge and --zip) makes twice the calls
    for twice the rows; a list deduplicated by ``list.index`` made 50 million comparisons at 10,000 rows."""
    from toolkit.sinks import Outcome

    def close(count: int) -> None:
        outcomes = [Outcome(i, f"{i % (count // 2)}.docx", "written", "", "0" * 64) for i in range(count)]
        toolkit.FolderSink(tmp_path / str(count)).close(outcomes)

    close(10)
    one, two = _calls(lambda: close(4_000)), _calls(lambda: close(8_000))
    assert two <= 2.1 * one, (one, two)


def _office_rows(path: Path, count: int) -> list[dict[str, Any]]:
    base = sample(FORM)
    rows = [{**base, "certificate_number": f"津滨高企 2016-{i:03d}",
             "enterprise": {**base["enterprise"], "name": f"天津第{i}号A&B<科技>有限公司"}} for i in range(count)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False, default=float) for r in rows), encoding="utf-8")
    return rows


def test_an_office_template_with_its_footer_number(tmp_path: Path) -> None:
    """``docs/templates.md``: the office's certificate, its number in the footer, issued in one batch: every
    document's footer carries its own number, and its text is a plain docxtpl render's of the same template."""
    from test_templates import footer_text, office_template

    template = tmp_path / "我们的证书.docx"
    template.write_bytes(office_template(FORM, "证书编号：{{ certificate_number }}"))
    rows = _office_rows(tmp_path / "rows.jsonl", 6)
    out = tmp_path / "证书"
    assert _run("batch", FORM, str(tmp_path / "rows.jsonl"), "--template", str(template), "-o", str(out),
                "--name", "{certificate_number}", "-j", "2", "--quiet") == 0
    for row in rows:
        made = out / f"{row['certificate_number']}.docx"
        plain = toolkit.render(FORM, row, template=template.read_bytes())
        assert footer_text(made) == footer_text(plain) == f"证书编号：{row['certificate_number']}"
        assert docx_text(made) == docx_text(write_bytes(tmp_path / "plain.docx", plain))
        with zipfile.ZipFile(made) as archive:  # the comment listing the tags is never rendered
            assert "{{ certificate_number }}" in archive.read("word/comments.xml").decode("utf-8")


def test_a_template_with_a_problem_stops_the_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_templates import office_template

    template = tmp_path / "我们的证书.docx"
    template.write_bytes(office_template(FORM, "证书编号：{{ certificate_nmber }}"))
    _office_rows(tmp_path / "rows.jsonl", 2)
    out = tmp_path / "证书"
    assert _run("batch", FORM, str(tmp_path / "rows.jsonl"), "--template", str(template), "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert f"{template}: unknown-field certificate_nmber: 模板中的「certificate_nmber」不是表单 {FORM} 的字段" in err
    assert "未生成任何文件" in err and not out.exists()


def test_a_template_the_fast_path_cannot_prepare_renders_by_docxtpl(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Its main part under another name: rendered a document at a time by docxtpl, said once, the same text."""
    import io

    from test_templates import footer_text, office_template

    renamed = {"word/document.xml": "word/main.xml", "word/_rels/document.xml.rels": "word/_rels/main.xml.rels"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(office_template(FORM, "{{ certificate_number }}"))) as source, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            part = source.read(name).replace(b"word/document.xml", b"word/main.xml")
            archive.writestr(renamed.get(name, name), part)
    template = write_bytes(tmp_path / "t.docx", buffer.getvalue())
    rows = _office_rows(tmp_path / "rows.jsonl", 3)
    out = tmp_path / "out"
    assert _run("batch", FORM, str(tmp_path / "rows.jsonl"), "--template", str(template), "-o", str(out),
                "--name", "{certificate_number}", "--quiet") == 0
    assert capsys.readouterr().err.count("改为逐份用 docxtpl 渲染") == 1
    for row in rows:
        assert footer_text(out / f"{row['certificate_number']}.docx") == row["certificate_number"]


def test_endnotes_and_properties_are_filled_as_the_plain_render_fills_them(tmp_path: Path) -> None:
    """Beyond docxtpl's test templates: a tag in an endnote (rendered, as footnotes are) and in the document's title
    (a core property docxtpl renders), the same through the fast path and the toolkit's plain render."""
    import io

    from test_template_equivalence import FIXTURES, paragraphs

    from toolkit.rendering import document

    buffer = io.BytesIO()
    with zipfile.ZipFile(FIXTURES / "footnotes_tpl.docx") as source, zipfile.ZipFile(buffer, "w") as archive:
        for name in source.namelist():
            part = source.read(name)
            if name == "word/endnotes.xml":
                part = part.replace(b"</w:endnotes>", "<w:endnote w:id=\"1\"><w:p><w:r><w:t>尾注：{{ enterprise.name }}"
                                    "</w:t></w:r></w:p></w:endnote></w:endnotes>".encode())
            elif name == "docProps/core.xml":
                part = part.replace(b"<dc:title></dc:title>", b"<dc:title>{{ certificate_number }}</dc:title>")
            archive.writestr(name, part)
    template = buffer.getvalue()
    data = sample(FORM)
    fast = PreparedTemplate(FORM, template)
    made, plain = fast.render_bytes(data), document(FORM, data, template=template)
    assert not fast.plain and paragraphs(made) == paragraphs(plain)
    assert paragraphs(made)["word/endnotes.xml"][-1] == f"尾注：{data['enterprise']['name']}"
    import docx

    assert docx.Document(io.BytesIO(made)).core_properties.title == data["certificate_number"]
