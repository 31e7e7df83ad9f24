"""Decisions staff can sign: the office's part is entered, never defaulted; pending items are no approval; dates
are checked against the application; exit codes say what was written. And the applicant's stage: blank office
sections are not the applicant's problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, changed, run_cli, sample, write_json

import toolkit

FORM = "tj-high-tech-enterprise-application"
NOTICE = "tj-high-tech-recognition-notice"
OFFICE = str(ROOT / "examples" / "office.toml")
FACTS = str(ROOT / "examples" / "recognition-decision.json")


def test_without_the_office_part_nothing_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "notice.docx"
    code, stdout, err = run_cli(capsys, "decide", FORM, str(ROOT / "samples" / f"{FORM}.json"), "-o", str(out))
    assert code == 2 and not out.exists()
    first = "shenbao: 未生成天津市市级高新技术企业认定通知（通过）：通知中本机关填写的部分不完整"
    assert err.splitlines()[0].startswith(first)
    missing = err.splitlines()[1]
    for item in ("发文机关 · 发文机关名称（/issuer/name）", "发文字号 · 序号（/number/serial）", "成文日期（/date）",
                 "市级高企证书 · 发证日期（/certificate/issue_date）", "是否加盖印章（/sealed）"):
        assert item in missing
    assert "78.5" not in stdout + err  # the sample's score is nowhere


def test_with_the_profile_and_the_facts_the_approval_is_written(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "notice.docx"
    code, stdout, _ = run_cli(capsys, "decide", FORM, str(ROOT / "samples" / f"{FORM}.json"), "--office", OFFICE,
                           "--decision", FACTS, "-o", str(out))
    assert code == 0 and stdout.splitlines()[-1] == f"已生成 {out}（通过：天津市市级高新技术企业认定通知）"
    from test_render import docx_text

    text = docx_text(out)
    assert "津滨政发〔2016〕96号" in text and "滨海新区科委高新技术企业科" not in text  # no contact on this notice


def test_profile_alone_lacks_this_decisions_facts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "decide", FORM, str(ROOT / "samples" / f"{FORM}.json"), "--office", OFFICE,
                        "-o", str(tmp_path / "n.docx"))
    assert code == 2
    assert "发文字号 · 年份（/number/year）" in err and "发文机关 · 发文机关名称" not in err


def test_a_pending_expert_score_is_no_approval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    application = write_json(tmp_path, "app.json", changed(sample(FORM), delete=["expert_score"]))
    out = tmp_path / "notice.docx"
    code, stdout, err = run_cli(capsys, "decide", FORM, application, "--office", OFFICE, "--decision", FACTS,
                             "-o", str(out))
    assert code == 2 and not out.exists()
    assert err.strip() == (f"shenbao: {application}: 尚有待办事项，暂不能作出决定，未生成通知："
                           "专家评审综合评分（分）（/expert_score）：审核部门尚未填写；"
                           "专家评审综合评分（分）（/expert_score）：尚无专家评审综合评分；认定前须补录专家评分（60分(不含)以上为评审通过）")


def test_a_notice_dated_before_the_application(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = json.loads(Path(FACTS).read_text(encoding="utf-8"))
    facts.update({"date": "2016-03-01", "printed_date": "2016-03-02"})
    code, _, err = run_cli(capsys, "decide", FORM, str(ROOT / "samples" / f"{FORM}.json"), "--office", OFFICE,
                        "--decision", write_json(tmp_path, "facts.json", facts), "-o", str(tmp_path / "n.docx"))
    assert code == 2
    lines = err.splitlines()
    assert "  /date（成文日期）：成文日期2016年3月1日早于申请日期2016年4月18日：通知不能在申请之前作出" in lines
    assert ("  /date（成文日期）：成文日期2016年3月1日不在公示期结束（2016年5月26日）之后："
            "公示期满无异议后方可认定") in lines


def test_an_invalid_application_is_named_as_the_applications(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    application = write_json(tmp_path, "app.json", changed(sample(FORM), {"staff.rd": 1}))
    code, stdout, err = run_cli(capsys, "decide", FORM, application, "-o", str(tmp_path / "n.docx"))
    assert code == 2
    assert stdout.splitlines()[0] == f"✗ {application}（市级高企认定申请书）未通过：1 项错误"
    assert "<rd-staff-ratio>" in stdout
    assert err.startswith("shenbao: 未生成不予通过通知（不予通过）")
    code, stdout, _ = run_cli(capsys, "decide", FORM, application, "--office", OFFICE, "--decision",
                           str(ROOT / "examples" / "rejection-decision.json"), "-o", str(tmp_path / "n.docx"))
    assert code == 1 and stdout.splitlines()[-1].endswith("（不予通过：不予通过通知）")


def test_office_init_writes_a_profile_to_fill_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "office.toml"
    assert run_cli(capsys, "office", "init", "-o", str(profile))[0] == 0
    text = profile.read_text(encoding="utf-8")
    assert "发文机关标志" in text and "本工具不会替您填写任何一项" in text
    blank = toolkit.files.load_data(profile)
    assert blank["issuer"] == {"name": "", "mark": "", "code": ""}
    code, _, err = run_cli(capsys, "decide", FORM, str(ROOT / "samples" / f"{FORM}.json"), "--office", str(profile),
                        "--decision", FACTS, "-o", str(tmp_path / "n.docx"))
    assert code == 2 and "发文机关 · 发文机关名称（/issuer/name）" in err and "是否加盖印章（/sealed）" in err
    code, _, err = run_cli(capsys, "office", "init", "-o", str(profile))
    assert code == 2 and "文件已存在" in err


def test_the_applicant_sees_only_their_own_problems(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = toolkit.form(FORM)
    blank = toolkit.skeleton(target)
    filled = sample(FORM)
    for section in target.office_sections:
        filled[section[1:]] = blank[section[1:]]  # the office's sections as the skeleton has them: blank
    assert toolkit.check(target, filled).findings == ()
    office = toolkit.check(target, filled, stage="office")
    assert {f.path for f in office.findings if f.rule == "office.required"} == set(target.office_sections)
    everything_blank = toolkit.check(target, blank)
    assert not [f for f in everything_blank.findings
                if any(f.path.startswith(s) for s in target.office_sections)]
    path = write_json(tmp_path, "filled.json", filled)
    assert run_cli(capsys, "validate", FORM, path)[0] == 0
    code, stdout, _ = run_cli(capsys, "validate", "--stage", "office", FORM, path)
    assert code == 1 and "审核部门尚未填写" in stdout


def test_an_empty_text_in_an_optional_field_is_not_filled(capsys: pytest.CaptureFixture[str]) -> None:
    data = changed(sample(FORM), {"tech_field_detail": "", "contact.email": ""})
    assert toolkit.check(FORM, data).findings == ()


def test_the_skeleton_says_which_parts_are_the_offices(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, err = run_cli(capsys, "skeleton", FORM)
    assert code == 0 and "district_review" in json.loads(stdout)
    assert err.strip() == ("shenbao: 以下部分由审核部门填写，申请人留空即可："
                           "专家评审综合评分（分）（/expert_score）、区县工作小组审查与认定意见（/district_review）")


def test_decide_on_the_offices_own_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``decide --template``: the notice on the office's layout (its 发文字号 in the footer), linted first against
    the notice the decision sends — a certificate's template for a recognition notice writes nothing."""
    from test_templates import footer_text, office_template

    own = tmp_path / "我们的通知.docx"
    own.write_bytes(office_template(NOTICE, "{{ doc_number }}"))
    out = tmp_path / "notice.docx"
    code, _, err = run_cli(capsys, "decide", FORM, str(ROOT / "samples" / f"{FORM}.json"), "--office", OFFICE,
                           "--decision", FACTS, "-o", str(out), "--template", str(own))
    assert code == 0, err
    assert footer_text(out) == "津滨政发〔2016〕96号"
    wrong = tmp_path / "证书.docx"
    wrong.write_bytes(office_template("tj-high-tech-certificate", ""))
    code, _, err = run_cli(capsys, "decide", FORM, str(ROOT / "samples" / f"{FORM}.json"), "--office", OFFICE,
                           "--decision", FACTS, "-o", str(tmp_path / "n.docx"), "--template", str(wrong))
    assert code == 2 and not (tmp_path / "n.docx").exists()
    assert f"{wrong}: unknown-field certificate_number: 模板中的「certificate_number」不是表单 {NOTICE} 的字段" in err


def test_batch_from_the_ledger_on_the_offices_own_template(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """``batch --from-ledger --template``: each notice's footer carries the number the ledger gave it; a template
    with a problem is refused before any number is taken."""
    from test_templates import footer_text, office_template

    from toolkit import ledger
    from toolkit.identifiers import uscc_check_character
    from toolkit.ledger.models import Decision, Submission, now

    db, moment = str(tmp_path / "ledger.db"), now()
    with ledger.Ledger(db) as book:
        for n in (1, 2):
            first = f"9112011600000{n:04d}"
            data = changed(sample(FORM), {"enterprise.name": f"天津第{n}号科技有限公司",
                                          "enterprise.uscc": first + uscc_check_character(first)})
            book.write(lambda session, n=n, data=data: session.add(Submission(
                form=FORM, file_name=f"{n}.pdf", sha256=str(n) * 64, status="通过", applicant_name=f"第{n}号",
                data=data, received_at=moment, updated_at=moment,
                decision=Decision(verdict="通过", decided_by="张三", decided_at=moment, notice=NOTICE))))
    issue = ("batch", NOTICE, "--from-ledger", "--db", db, "--office", str(ROOT / "examples" / "ledger-office.toml"),
             "--decision", str(ROOT / "examples" / "ledger-recognition.json"), "-o", str(tmp_path / "通知"),
             "--quiet", "--template")
    broken = tmp_path / "坏模板.docx"
    broken.write_bytes(office_template(NOTICE, "{{ doc_number }"))
    code, _, err = run_cli(capsys, *issue, str(broken))
    assert code == 2 and f"{broken}: syntax word/footer" in err and not (tmp_path / "通知").exists()
    with ledger.Ledger(db) as book, book.reading() as session:
        assert all(not d.numbers for d in session.query(Decision))  # no number taken
    own = tmp_path / "我们的通知.docx"
    own.write_bytes(office_template(NOTICE, "{{ doc_number }}"))
    code, _, err = run_cli(capsys, *issue, str(own))
    assert code == 0, err
    footers = sorted(footer_text(p) for p in (tmp_path / "通知").glob("*.docx"))
    assert footers == ["津滨政发〔2016〕96号", "津滨政发〔2016〕97号"]
