"""The ``shenbao`` command: exact output, exit codes, and one clear line for every unusable input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, changed, sample, write_json

import toolkit

FORM = "tj-productivity-center-application"
SAMPLE = str(ROOT / "samples" / f"{FORM}.json")


def test_forms_lists_every_form_with_its_policy(shenbao) -> None:
    code, out, _ = shenbao("forms")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "名称", "类别", "依据"]
    row = next(line for line in lines if line.startswith(FORM))
    assert row.split()[1:4] == ["天津市市级生产力促进中心培育申请表", "申请表",
                                "天津市市级生产力促进中心提质增效行动实施方案(2018—2020年)"]


def test_schema_prints_the_schema(shenbao) -> None:
    code, out, _ = shenbao("schema", FORM)
    assert code == 0
    assert json.loads(out)["title"] == "天津市市级生产力促进中心培育申请表"


def test_skeleton_is_blank_and_fails_validation(shenbao, tmp_path: Path) -> None:
    code, out, _ = shenbao("skeleton", FORM)
    assert code == 0
    blank = json.loads(out)
    assert blank["center"]["name"] == "" and blank["staff"]["total"] is None
    code, out, _ = shenbao("validate", FORM, write_json(tmp_path, "blank.json", blank))
    assert code == 1 and "未通过" in out


def test_validate_passing_sample(shenbao) -> None:
    code, out, err = shenbao("validate", FORM, SAMPLE)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"✓ {SAMPLE}（天津市市级生产力促进中心培育申请表）通过，无问题"


def test_validate_failing_application_exact_text(shenbao, tmp_path: Path) -> None:
    data = changed(sample(FORM), {"staff.bachelor_or_above": 20, "center.iso9001_certified": False})
    path = write_json(tmp_path, "bad.json", data)
    code, out, _ = shenbao("validate", FORM, path)
    assert code == 1
    assert out.splitlines()[:3] == [
        f"✗ {path}（天津市市级生产力促进中心培育申请表）未通过：2 项错误",
        "  错误 /staff/bachelor_or_above（从业人员 · 本科以上学历人数（人））[二(一)3(2)] "
        "从业人员本科以上学历占比 55.56%，低于 70%  <bachelor-ratio>",
        "  错误 /center/iso9001_certified（申请单位 · 是否通过ISO9001质量管理体系认证）[二(一)3(3)] "
        "须通过ISO9001质量管理体系认证  <iso9001-certified>",
    ]


def test_validate_json_exact_shape(shenbao, tmp_path: Path) -> None:
    path = write_json(tmp_path, "bad.json", changed(sample(FORM), {"staff.total": 14, "staff.bachelor_or_above": 10}))
    code, out, _ = shenbao("validate", "--json", FORM, path)
    assert code == 1
    assert json.loads(out) == {
        "form": FORM, "file": path, "ok": False,
        "findings": [{
            "path": "/staff/total", "title": "从业人员 · 从业人员总数（人）", "rule": "enterprise-staff",
            "clause": "二(一)3", "severity": "error", "message": "企业类中心从业人员 14人，少于 15人",
        }],
    }


def test_validate_json_several_files_is_a_list(shenbao) -> None:
    code, out, _ = shenbao("validate", FORM, SAMPLE, SAMPLE, "--json")
    assert code == 0
    reports = json.loads(out)
    assert [r["ok"] for r in reports] == [True, True]


def test_schema_errors_name_field_and_reason(shenbao, tmp_path: Path) -> None:
    data = changed(sample(FORM), {"center.uscc": "91120104MA05K7X10A", "staff.total": "三十",
                                  "application_date": "2018-02-30", "center.type": "民办类"},
                   delete=["contact.name"])
    data["center"]["extra"] = 1
    code, out, _ = shenbao("validate", "--json", FORM, write_json(tmp_path, "bad.json", data))
    assert code == 1
    findings = json.loads(out)["findings"]
    found = {f["path"]: (f["rule"], f["message"]) for f in findings}
    assert next(f["clause"] for f in findings if f["path"] == "/center/uscc") == "GB 32100-2015"
    assert found["/center/uscc"] == ("format.uscc", "统一社会信用代码校验位错误：第18位应为 W，现为 A")
    assert found["/staff/total"] == ("schema.type", "应为整数，现为「三十」")
    assert found["/application_date"][0] == "format.date"
    assert found["/center/type"] == ("schema.enum", "应为以下之一：企业类、事业类；现为「民办类」")
    assert found["/contact/name"] == ("schema.required", "缺少必填项")
    assert found["/center/extra"][0] == "schema.additionalProperties"


@pytest.mark.parametrize(("content", "reason"), [
    (None, "文件不存在"),
    (b"", "文件为空"),
    (b"{\"center\": ", "不是有效的 JSON，第1行第12列"),
    (b"[1, 2]", "顶层应为 JSON 对象，现为列表"),
    (b"\"text\"", "顶层应为 JSON 对象，现为文字"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "无法识别文本编码"),
    (b"{\"a\": NaN}", "不是有效的 JSON"),
])
def test_unusable_input_is_one_line_exit_2(shenbao, tmp_path: Path, content: bytes | None, reason: str) -> None:
    path = tmp_path / "input.json"
    if content is not None:
        path.write_bytes(content)
    code, out, err = shenbao("validate", FORM, str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"shenbao: {path}: {reason}")
    assert "Traceback" not in err


def test_directory_is_unusable(shenbao, tmp_path: Path) -> None:
    code, _, err = shenbao("validate", FORM, str(tmp_path))
    assert code == 2 and "这是一个目录" in err


def test_unknown_form_is_exit_2(shenbao) -> None:
    code, out, err = shenbao("validate", "no-such-form", SAMPLE)
    assert code == 2 and out == ""
    assert err.startswith("shenbao: 未知的表单 'no-such-form'") and err.count("\n") == 1


def test_bad_file_among_good_ones_does_not_stop_the_run(shenbao, tmp_path: Path) -> None:
    code, out, err = shenbao("validate", FORM, SAMPLE, str(tmp_path / "missing.json"), SAMPLE)
    assert code == 2
    assert out.count("✓") == 2 and "文件不存在" in err


def test_missing_arguments_are_usage_errors(shenbao) -> None:
    code, _, err = shenbao("validate", FORM)
    assert code == 2 and "缺少参数" in err


def test_every_command_has_help(shenbao) -> None:
    for command in ("forms", "schema", "skeleton", "validate", "render", "decide", "convert", "template"):
        code, out, _ = shenbao(command, "--help")
        assert code == 0 and "用法： shenbao" in out and "Usage" not in out


def test_render_refuses_an_invalid_form_unless_draft(shenbao, tmp_path: Path) -> None:
    bad = write_json(tmp_path, "bad.json", changed(sample(FORM), {"center.iso9001_certified": False}))
    out = tmp_path / "out.docx"
    code, stdout, err = shenbao("render", FORM, bad, "-o", str(out))
    assert code == 1 and not out.exists()
    assert "须通过ISO9001质量管理体系认证" in stdout and "--draft" in err
    code, stdout, _ = shenbao("render", FORM, bad, "-o", str(out), "--draft")
    assert code == 0 and out.exists() and stdout == f"已生成 {out}\n"


def test_render_with_pdf(shenbao, tmp_path: Path) -> None:
    out = tmp_path / "application.docx"
    code, stdout, _ = shenbao("render", FORM, SAMPLE, "-o", str(out), "--pdf")
    assert code == 0 and out.with_suffix(".pdf").stat().st_size > 10_000
    assert stdout.splitlines() == [f"已生成 {out}", f"已生成 {out.with_suffix('.pdf')}"]


def test_render_unusable_input(shenbao, tmp_path: Path) -> None:
    code, out, err = shenbao("render", FORM, str(tmp_path / "none.json"), "-o", str(tmp_path / "x.docx"))
    assert code == 2 and "文件不存在" in err and "Traceback" not in err


def test_decide_approval_and_rejection(shenbao, tmp_path: Path) -> None:
    notice = tmp_path / "notice.docx"
    facts = str(ROOT / "samples" / "tj-productivity-center-inclusion-notice.json")  # a whole notice: enough alone
    code, stdout, _ = shenbao("decide", FORM, SAMPLE, "--decision", facts, "-o", str(notice))
    title = toolkit.form("tj-productivity-center-inclusion-notice").title
    assert code == 0 and stdout.splitlines()[-1] == f"已生成 {notice}（通过：{title}）"
    bad = write_json(tmp_path, "bad.json", changed(sample(FORM), {"staff.total": 14, "staff.bachelor_or_above": 10}))
    facts = str(ROOT / "samples" / "rejection-notice.json")
    code, stdout, _ = shenbao("decide", FORM, bad, "--decision", facts, "-o", str(notice))
    title = toolkit.form("rejection-notice").title
    assert code == 1 and stdout.splitlines()[-1] == f"已生成 {notice}（不予通过：{title}）"
    assert "企业类中心从业人员 14人，少于 15人" in stdout


def test_decide_a_form_without_an_approval_notice(shenbao) -> None:
    form_id = "xm-enterprise-request"
    code, _, err = shenbao("decide", form_id, str(ROOT / "samples" / f"{form_id}.json"), "-o", "/tmp/never.docx")
    assert code == 2 and "没有对应的审批通知" in err


def test_template_check_command(shenbao) -> None:
    template = str(ROOT / "templates" / f"{FORM}.docx")
    code, out, _ = shenbao("template", "check", template, "--form", FORM)
    assert (code, out) == (0, f"✓ {template}：模板与表单 {FORM} 一致\n")
    code, out, _ = shenbao("template", "check", template, "--form", "tj-assistance-record")
    assert code == 1 and "unknown-field center.name" in out and "表单 tj-assistance-record 的字段" in out


def test_template_check_command_reads_a_notice_title(shenbao) -> None:
    # The command hands the library a Form: the fields printed only in the notice's title were once missed then.
    notice = "rejection-notice"
    template = str(ROOT / "templates" / f"{notice}.docx")
    code, out, _ = shenbao("template", "check", template, "--form", notice)
    assert (code, out) == (0, f"✓ {template}：模板与表单 {notice} 一致\n")


def test_convert_missing_file_is_a_usage_error(shenbao, tmp_path: Path) -> None:
    code, _, err = shenbao("convert", str(tmp_path / "none.docx"))
    assert code == 2 and "文件不存在" in err


def test_the_command_is_a_thin_shell() -> None:
    """cli.py parses, reads and writes files, prints: no document, PDF, sheet or schema library of its own."""
    import ast

    source = (ROOT / "toolkit" / "cli.py").read_text(encoding="utf-8")
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert not imported & {"docx", "docxtpl", "docxcompose", "pdfplumber", "openpyxl", "jsonschema", "jinja2"}


def test_the_stages_the_command_offers_are_the_librarys() -> None:
    from toolkit import cli, validation

    assert cli.STAGES == validation.STAGES  # named twice so that --help imports no validation
