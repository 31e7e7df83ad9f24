"""The ledger's commands, as a new user meets them: twenty submitted files in a folder — some broken, some
ineligible, one submitted twice — taken in, decided, exported to Excel and answered with numbered notices, every
step recorded and shown again later; exact messages and exit codes; Chinese help; the wheel migrates."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import ROOT, changed, render_file, sample
from test_ledger import EXAMPLES, FORM, OFFICE, RECOGNITION, REJECTION, applicant, variant

import toolkit
from toolkit.office import NumberingError, numbering

DECIDED = ("--office", str(EXAMPLES / "ledger-office.toml"))


@pytest.fixture(scope="module")
def twenty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder as a new user fills it: fourteen eligible applications (one of them a PDF, submitted twice), two
    ineligible ones, three broken files — twenty files."""
    folder = tmp_path_factory.mktemp("submitted")
    rendered = render_file(FORM, sample(FORM), tmp_path_factory.mktemp("rendered") / "sample.docx").read_bytes()
    (folder / "海泰中科.pdf").write_bytes(toolkit.to_pdf(rendered))
    (folder / "海泰中科-再次提交.pdf").write_bytes((folder / "海泰中科.pdf").read_bytes())
    for n in range(13):
        (folder / f"企业{n:02d}.docx").write_bytes(variant(rendered, n))
    ineligible = json.loads((EXAMPLES / "ledger-ineligible-application.json").read_text(encoding="utf-8"))
    render_file(FORM, ineligible, folder / "津南智感.docx")
    failing = json.loads((EXAMPLES / "tj-high-tech-enterprise-application.failing.json").read_text(encoding="utf-8"))
    render_file(FORM, applicant(failing, 50), folder / "不符合条件.docx")
    (folder / "损坏.pdf").write_bytes((folder / "海泰中科.pdf").read_bytes()[:4000])
    (folder / "空文件.pdf").write_bytes(b"")
    (folder / "不是Word.docx").write_text("这不是 Word 文件", encoding="utf-8")
    assert len(list(folder.iterdir())) == 20
    return folder


def _ids(shenbao, db: str, status: str) -> list[int]:
    code, out, _ = shenbao("ledger", "list", "--db", db, "--status", status, "--json")
    assert code == 0
    return [item["id"] for item in json.loads(out)]


def test_twenty_files_from_intake_to_numbered_notices(shenbao, twenty: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    code, out, err = shenbao("intake", FORM, str(twenty), "--db", db, "-j", "2")
    assert code == 2, err  # three files could not be read: named, recorded, and the run went on
    assert out.splitlines()[-1] == (f"台账 {db}：收件 20 份，新登记 19 份（待补正 2，待审 14，无法读取 3），"
                                    "重复 1 份（未重复登记）")
    twice = re.search(r"海泰中科\.pdf\s+重复\s+与台账第 (\d+) 号相同", out)  # the copy came first, by name
    assert twice and re.search(rf"\n{twice[1]} +\S+海泰中科-再次提交\.pdf +待审", out)
    pdf = twice[1]
    assert re.search(r"空文件\.pdf\s+无法读取\s+文件为空", out)

    code, out, _ = shenbao("ledger", "list", "--db", db, "--json")
    listed = json.loads(out)
    assert len(listed) == 19 and {"id", "form", "status", "applicant", "file", "sha256", "findings"} <= set(listed[0])
    eligible, ineligible = _ids(shenbao, db, "待审"), _ids(shenbao, db, "待补正")
    assert len(eligible) == 14 and len(ineligible) == 2
    for number in eligible:
        assert shenbao("ledger", "decide", str(number), "--approve", "--by", "王五", "--db", db)[0] == 0
    for number in ineligible:
        code, out, _ = shenbao("ledger", "decide", str(number), "--reject", "--by", "王五", "--note", "不符合第九条",
                               "--db", db)
        assert code == 0 and "研发人员占当年职工总数的 5.88%，低于 7%" in out

    export = tmp_path / "台账.xlsx"
    code, out, _ = shenbao("ledger", "export", "-o", str(export), "--db", db)
    assert (code, out) == (0, f"已生成 {export}（19 份申请，1 张表）\n")
    sheet = openpyxl.load_workbook(export)["市级高企认定申请书"]
    header = [c.value for c in sheet[1]]
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 19 and rows[1]["状态"] == "无法读取" and rows[1]["无法读取的原因"]
    got = rows[int(pdf)]
    assert got["状态"] == "通过" and got["决定人"] == "王五" and got["申请人名称"] == "天津海泰中科光电技术有限公司"
    assert got["注册资本（万元）"] == 1200 and got["近二个会计年度销售收入总额（万元）"] == 5120.3
    assert got["注册日期"] == dt.datetime(2012, 5, 16) and isinstance(got["收件时间"], dt.datetime)

    out_dir = tmp_path / "通知"
    issue = ("batch", RECOGNITION, "--from-ledger", "--status", "通过", "--db", db, "-o", str(out_dir), *DECIDED,
             "--decision", str(EXAMPLES / "ledger-recognition.json"), "-j", "2", "--quiet")
    code, out, err = shenbao(*issue)
    assert code == 0, err
    assert out.splitlines()[-1] == f"{out_dir}：发出 14 份，跳过 0 份（此前已发出），0 份未发出"
    assert "津滨政发〔2016〕96号、津滨高企2016-001" in out and "津滨政发〔2016〕109号、津滨高企2016-014" in out
    assert len(list(out_dir.glob("*.docx"))) == 14
    code, out, _ = shenbao(*issue)
    assert (code, out.splitlines()[-1]) == (0, f"{out_dir}：发出 0 份，跳过 14 份（此前已发出），0 份未发出")
    code, out, _ = shenbao("batch", REJECTION, "--from-ledger", "--status", "不予通过", "--db", db, "-o",
                           str(out_dir), *DECIDED, "--decision", str(EXAMPLES / "ledger-rejection.json"), "--quiet")
    assert code == 0 and "津滨政发〔2016〕110号" in out and "津滨政发〔2016〕111号" in out

    code, out, _ = shenbao("ledger", "history", pdf, "--db", db)
    kinds = [line.split()[2] for line in out.splitlines()[1:]]
    assert kinds == ["收件", "再次收到", "决定", "分配编号", "分配编号", "发出通知"]
    code, out, _ = shenbao("ledger", "show", pdf, "--db", db, "--json")
    shown = json.loads(out)
    assert re.fullmatch(r"津滨政发〔2016〕\d+号", shown["decision"]["number"])
    assert shown["data"]["enterprise"]["uscc"] == sample(FORM)["enterprise"]["uscc"]
    document = out_dir / shown["decision"]["document"]
    assert shown["decision"]["sha256"] == __import__("hashlib").sha256(document.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three submissions: eligible, ineligible, and one whose office sections are still blank."""
    folder = tmp_path_factory.mktemp("three")
    good = sample(FORM)
    render_file(FORM, good, folder / "a.docx")
    ineligible = json.loads((EXAMPLES / "ledger-ineligible-application.json").read_text(encoding="utf-8"))
    render_file(FORM, ineligible, folder / "b.docx")
    blank = render_file(FORM, changed(good, delete=["expert_score"]), tmp_path_factory.mktemp("x") / "c.docx")
    (folder / "c.docx").write_bytes(variant(blank.read_bytes(), 9))
    return folder


@pytest.fixture
def small(shenbao, three: Path, tmp_path: Path) -> str:
    """A ledger of the three submissions, taken in."""
    db = str(tmp_path / "ledger.db")
    assert shenbao("intake", FORM, str(three), "--db", db, "--quiet", "-j", "1")[0] == 1
    return db


def test_decide_says_why_it_refuses(shenbao, small: str) -> None:
    code, out, err = shenbao("ledger", "decide", "2", "--approve", "--by", "张三", "--db", small)
    assert code == 1 and out == ""
    assert err.splitlines()[0] == "shenbao: 第 2 号申请未作出通过决定：有未通过的条件，不能批准"
    assert "  错误 /staff/rd（人员结构 · 其中：研发人员数（人））[第九条(三)] 研发人员占当年职工总数的 5.88%，低于 7%" \
        in err
    code, _, err = shenbao("ledger", "decide", "3", "--approve", "--by", "张三", "--db", small)
    assert code == 2 and "尚有待办事项" in err and "/expert_score" in err
    code, _, err = shenbao("ledger", "decide", "1", "--reject", "--by", "张三", "--db", small)
    assert code == 2 and "没有未通过的条件" in err
    code, _, err = shenbao("ledger", "decide", "1", "--by", "张三", "--db", small)
    assert code == 2 and "--approve" in err
    code, _, err = shenbao("ledger", "decide", "9", "--approve", "--by", "张三", "--db", small)
    assert (code, err) == (2, "shenbao: 台账中没有编号为 9 的申请（shenbao ledger list 列出全部）\n")
    review = Path(small).parent / "review.json"
    review.write_text(json.dumps({"expert_score": 75}), encoding="utf-8")
    code, out, _ = shenbao("ledger", "decide", "3", "--approve", "--by", "张三", "--review", str(review), "--db", small)
    assert code == 0 and out.startswith("已记录：第 3 号申请 通过，决定人 张三")
    code, out, _ = shenbao("ledger", "history", "3", "--db", small)
    assert [line.split()[2] for line in out.splitlines()[1:]] == ["收件", "未予记录", "审核填写", "决定"]


def test_list_filters(shenbao, small: str, monkeypatch: pytest.MonkeyPatch) -> None:
    today = dt.date.today()
    monkeypatch.setenv("SHENBAO_DB", small)
    assert [i["id"] for i in json.loads(shenbao("ledger", "list", "--json")[1])] == [1, 2, 3]
    assert _ids(shenbao, small, "待补正") == [2]
    by_name = json.loads(shenbao("ledger", "list", "--applicant", "津南智感", "--json")[1])
    assert [i["id"] for i in by_name] == [2]
    uscc = sample(FORM)["enterprise"]["uscc"].lower()
    assert [i["id"] for i in json.loads(shenbao("ledger", "list", "--applicant", uscc, "--json")[1])] == [1]
    since = json.loads(shenbao("ledger", "list", "--since", str(today + dt.timedelta(days=1)), "--json")[1])
    until = json.loads(shenbao("ledger", "list", "--until", str(today), "--json")[1])
    assert (since, len(until)) == ([], 3)
    code, out, _ = shenbao("ledger", "list", "--form", "tj-assistance-record")
    assert (code, out) == (0, f"台账 {small} 中没有符合条件的申请\n")
    code, out, _ = shenbao("ledger", "list")
    assert out.splitlines()[0].split() == ["编号", "表单", "状态", "申请单位", "文件", "收件时间", "错误"]
    assert out.splitlines()[-1] == "共 3 份"
    code, _, err = shenbao("ledger", "list", "--db", str(Path(small).parent / "none.db"))
    assert code == 2 and "台账不存在" in err


def test_the_export_keeps_typed_text_as_text(shenbao, small: str, tmp_path: Path) -> None:
    from toolkit.ledger import Ledger

    with Ledger(small) as book:
        book.write(lambda session: session.execute(
            __import__("sqlalchemy").text("UPDATE submissions SET applicant_name = '=HYPERLINK(\"x\")\x07' "
                                          "WHERE id = 1")))
    out = tmp_path / "x.xlsx"
    assert shenbao("ledger", "export", "-o", str(out), "--db", small, "--status", "待审")[0] == 0
    with zipfile.ZipFile(out) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    assert book.active["C2"].value == '=HYPERLINK("x")'


def test_batch_from_the_ledger_usage(shenbao, small: str, tmp_path: Path) -> None:
    base = ("batch", RECOGNITION, "--from-ledger", "--db", small, *DECIDED)
    code, _, err = shenbao(*base, "rows.csv", "-o", str(tmp_path))
    assert code == 2 and "--from-ledger 时不用表格" in err
    code, _, err = shenbao(*base, "-o", str(tmp_path), "--resume")
    assert code == 2 and "--resume" in err
    code, _, err = shenbao(*base)
    assert code == 2 and "缺少 -o/--out" in err
    code, _, err = shenbao(*base, "-o", str(tmp_path))
    assert code == 2 and "台账中没有状态为「通过」且应发天津市市级高新技术企业认定通知" in err
    code, _, err = shenbao("batch", RECOGNITION, "-o", str(tmp_path))
    assert code == 2 and "表格" in err


def test_numbering_in_the_office_profile() -> None:
    notice = toolkit.form(RECOGNITION)
    assert [(n.path, n.pattern, n.first) for n in numbering(OFFICE, notice)] == [
        ("number", "津滨政发〔{year}〕{n}号", 96), ("certificate.number", "津滨高企{year}-{n:03d}", 1)]
    profile = {**OFFICE, "numbering": {}}
    with pytest.raises(NumberingError, match=r'number = "津滨政发〔\{year\}〕\{n\}号"'):
        numbering(profile, notice)
    for entry, message in ((("number", "津科成〔{year}〕{n}号"), "与之不符"),
                           (("number", "津滨政发〔{year}〕号"), "{n}"),
                           (("number", "津滨政发〔2016〕{n}号"), "年份"),
                           (("expert_score", "X{n}"), "不是编号字段"),
                           (("certificate.nmber", "X{n}"), "不是天津市市级高新技术企业认定通知的字段")):
        declared = {"number": "津滨政发〔{year}〕{n}号", entry[0]: entry[1]}
        with pytest.raises(NumberingError, match=re.escape(message)):
            numbering({**OFFICE, "numbering": {RECOGNITION: declared}}, notice)


def test_help_is_in_chinese(shenbao) -> None:
    for command in (["intake"], ["ledger"], ["ledger", "list"], ["ledger", "show"], ["ledger", "decide"],
                    ["ledger", "export"], ["ledger", "history"], ["ledger", "upgrade"], ["batch"]):
        code, out, _ = shenbao(*command, "--help")
        assert code == 0 and out.startswith("用法：") and "Usage" not in out and "[选项]" in out
    code, out, _ = shenbao("batch", "--help")
    assert "--from-ledger" in out and "SHENBAO_DB" in out


def test_office_init_explains_the_numbering(shenbao, tmp_path: Path) -> None:
    assert shenbao("office", "init", "-o", str(tmp_path / "office.toml"))[0] == 0
    text = (tmp_path / "office.toml").read_text(encoding="utf-8")
    assert "# [numbering.tj-high-tech-recognition-notice]" in text and "{n:03d}" in text


def test_the_wheel_carries_the_migrations_and_migrates(tmp_path: Path) -> None:
    """The migrations ship inside the wheel and run from it, in another directory (no alembic.ini anywhere)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(tmp_path.glob("shenbao_toolkit-*.whl"))
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(installed)
    migrations = {p.relative_to(ROOT).as_posix() for p in (ROOT / "toolkit/ledger/migrations").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts}
    assert migrations <= names and "toolkit/ledger/migrations/env.py" in migrations
    script = (f"import sys; sys.path.insert(0, {str(installed)!r}); import toolkit.cli; "
              f"assert toolkit.__file__.startswith({str(installed)!r}), toolkit.__file__; "
              "toolkit.cli.main(sys.argv[1:])")
    work = tmp_path / "elsewhere"
    work.mkdir()
    done = subprocess.run([sys.executable, "-c", script, "ledger", "upgrade", "--db", "台账.db"], cwd=work,
                          capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "台账 台账.db：已从 空数据库 升级到 0004\n"), done.stderr
