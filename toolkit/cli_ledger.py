"""The ledger's commands: ``shenbao intake`` and ``shenbao ledger list|show|decide|export|history|revoke|upgrade``,
and the ``--from-ledger`` branch of ``shenbao batch``. A front end like ``cli`` (which registers these commands): it
parses, reads and writes files, prints and sets the exit code; the ledger (``toolkit.ledger``, SQLAlchemy) is
imported only when a command runs.

Exit codes as everywhere: 0 all well, 1 findings (an application fails a rule), 2 unusable input or usage error.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .cli import CONTEXT, FORM, _Command, _Group, _load, _output
from .errors import UnusableInput
from .ledger.statuses import APPROVED, REJECTED, STATUSES, TO_CORRECT, UNREADABLE, VERDICTS

if TYPE_CHECKING:
    from .catalogue import Form
    from .ledger.models import Event, Submission
    from .ledger.store import Ledger

DB_HELP = ("台账数据库：SQLite 文件路径，或 SQLAlchemy 地址（如 postgresql://用户@主机/库名，供多人共用）；"
           "也可用环境变量 SHENBAO_DB 指定。")
KINDS = {"intake": "收件", "duplicate": "再次收到", "resubmitted": "重新提交", "review": "审核填写",
         "refused": "未予记录", "decision": "决定", "number": "分配编号", "issued": "发出通知", "signed": "签名",
         "revoked": "撤销"}
SEVERITY = {"error": "错误", "warning": "警告", "note": "提示"}


def _db_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--db", envvar="SHENBAO_DB", default="ledger.db", show_default=True, metavar="台账",
                        help=DB_HELP)(function)


def _columns(rows: Sequence[Sequence[str]]) -> str:
    from .terminal_text import columns

    return "\n".join(columns(rows))


def _echo_json(value: Any) -> None:
    from .ledger.database import dumps

    click.echo(json.dumps(json.loads(dumps(value)), ensure_ascii=False, indent=2))


def _open(db: str, create: bool = False) -> Ledger:
    from .ledger.store import Ledger

    return Ledger(db, create=create)


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else ""


class _Bar:
    """A progress bar on a terminal (rate and ETA) for long runs; nothing when quiet or not on a terminal."""

    def __init__(self, quiet: bool, total: int | None, words: str) -> None:
        self.total, self.words, self.bar = total, words, None
        if not quiet and sys.stderr.isatty() and (total is None or total > 3):
            from rich.console import Console
            from rich.progress import Progress, TextColumn

            self.bar = Progress(*Progress.get_default_columns(), TextColumn("{task.completed} 份"), transient=True,
                                console=Console(stderr=True))

    @contextmanager
    def running(self) -> Iterator[Callable[[int], None] | None]:
        if self.bar is None:
            yield None
            return
        with self.bar:
            task = self.bar.add_task(self.words, total=self.total)
            yield lambda n: self.bar.advance(task, n)  # type: ignore[union-attr]


# --- shenbao intake -----------------------------------------------------------------------------------------


@click.command("intake", cls=_Command, context_settings=CONTEXT)
@click.argument("form", type=FORM, metavar="表单ID")
@click.argument("paths", nargs=-1, required=True, metavar="文件或目录...")
@_db_option
@click.option("-j", "--jobs", type=int, default=0, metavar="进程数", help="读取文件的进程数（默认：CPU 核数）。")
@click.option("--quiet", is_flag=True, help="不显示进度条。")
def intake_command(form: Form, paths: tuple[str, ...], db: str, jobs: int, quiet: bool) -> None:
    """收件登记：读出每份提交的 PDF 或 Word 文件、按政策条件审查，并记入台账。

    目录中的 PDF 和 Word 文件（含子目录）都会收件。状态：待补正（有错误）、待审（无问题）、无法读取（写明原因）。
    同一文件再次提交时按 SHA-256 识别，不重复登记；同一申请人重新提交的申请与此前的申请关联。
    无法读取的文件不会中断收件。退出码：0 全部待审；1 有待补正的申请；2 有无法读取的文件。"""
    from .ledger.receiving import files_in, intake

    found, missing = files_in(paths)
    for problem in missing:
        click.echo(f"shenbao: {problem}", err=True)
    if not found:
        raise UnusableInput(" ".join(paths), "没有找到 PDF 或 Word 文件（.pdf、.docx）")
    with _open(db, create=True) as ledger:
        with _Bar(quiet, len(found), "收件").running() as advance:
            received = intake(ledger, form, found, jobs=jobs or os.cpu_count() or 1, progress=advance)
        click.echo(_columns(_intake_rows(received)))
        click.echo(_intake_summary(ledger.name, received))
    unreadable = missing or any(r.status == UNREADABLE for r in received)
    sys.exit(2 if unreadable else 1 if any(r.status == TO_CORRECT for r in received) else 0)


def _intake_rows(received: Sequence[Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("编号", "文件", "状态", "说明")]
    for r in received:
        if r.status == "重复":
            note = f"与台账第 {r.submission} 号相同（SHA-256 一致），未重复登记"
        elif r.status == UNREADABLE:
            note = r.reason
        else:
            note = f"{r.errors} 项错误" if r.errors else ""
        if r.previous:
            note = "；".join(n for n in (note, f"重新提交，关联第 {r.previous} 号") if n)
        rows.append((str(r.submission), r.file, r.status, note))
    return rows


def _intake_summary(name: str, received: Sequence[Any]) -> str:
    counts = {status: sum(r.status == status for r in received) for status in (*STATUSES, "重复")}
    fresh = len(received) - counts["重复"]
    parts = "，".join(f"{status} {n}" for status, n in counts.items() if n and status != "重复")
    duplicates = f"，重复 {counts['重复']} 份（未重复登记）" if counts["重复"] else ""
    return f"台账 {name}：收件 {len(received)} 份，新登记 {fresh} 份" + (f"（{parts}）" if parts else "") + duplicates


# --- shenbao ledger ... --------------------------------------------------------------------------------------


@click.group("ledger", cls=_Group, context_settings=CONTEXT)
def ledger_group() -> None:
    """台账：收件、审查、决定、发文的全部记录（shenbao intake 收件登记）。

    台账默认是当前目录下的 SQLite 文件 ledger.db；--db 或环境变量 SHENBAO_DB 可指定其他文件，
    或多人共用的 PostgreSQL 数据库（postgresql://用户@主机/库名）。"""


def _filters(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--form", "form_id", type=FORM, metavar="表单ID", help="只列此表单的申请。"),
        click.option("--status", type=click.Choice(STATUSES), metavar="状态",
                     help=f"只列此状态的申请：{'、'.join(STATUSES)}。"),
        click.option("--since", type=click.DateTime(["%Y-%m-%d"]), metavar="日期",
                     help="收件日期不早于（YYYY-MM-DD）。"),
        click.option("--until", type=click.DateTime(["%Y-%m-%d"]), metavar="日期",
                     help="收件日期不晚于（YYYY-MM-DD）。"),
        click.option("--applicant", metavar="名称或代码", help="申请单位名称中含此文字，或统一社会信用代码为此。"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _chosen(ledger: Ledger, form_id: Form | None, status: str | None, since: dt.datetime | None,
            until: dt.datetime | None, applicant: str | None) -> list[Submission]:
    from .ledger.store import submissions

    with ledger.reading() as session:
        return submissions(session, form=form_id.id if form_id else None, status=status,
                           since=since.date() if since else None, until=until.date() if until else None,
                           applicant=applicant)


@ledger_group.command("list")
@_filters
@_db_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出：每份申请一个对象。")
def list_command(form_id: Form | None, status: str | None, since: dt.datetime | None, until: dt.datetime | None,
                 applicant: str | None, db: str, as_json: bool) -> None:
    """列出台账中的申请，可按表单、状态、收件日期和申请单位筛选。"""
    from .ledger import views

    with _open(db) as ledger:
        items = _chosen(ledger, form_id, status, since, until, applicant)
        if as_json:
            _echo_json([views.submission(item) for item in items])
            return
        if not items:
            click.echo(f"台账 {ledger.name} 中没有符合条件的申请")
            return
        rows = [("编号", "表单", "状态", "申请单位", "文件", "收件时间", "错误")]
        rows += [(str(s.id), s.form, s.status, s.applicant_name or "", s.file_name, _local(s.received_at)[:16],
                  str(sum(f.severity == "error" and f.stage == "application" for f in s.findings)))
                 for s in items]
        click.echo(_columns(rows))
        click.echo(f"共 {len(items)} 份")


@ledger_group.command("show")
@click.argument("submission_id", type=int, metavar="编号")
@_db_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（含读出的数据）。")
def show_command(submission_id: int, db: str, as_json: bool) -> None:
    """显示一份申请：申请单位、文件、审查发现的问题、决定和发出的通知。"""
    from .ledger import store, views

    with _open(db) as ledger, ledger.reading() as session:
        item = store.submission(session, submission_id)
        later = store.resubmissions(session, item.id)
        if as_json:
            _echo_json({**views.submission(item, data=True), "resubmissions": later})
            return
        click.echo(_show_text(item, later))


def _show_text(item: Submission, later: list[int]) -> str:
    from .catalogue import form

    lines = [f"第 {item.id} 号  {form(item.form).title}（{item.form}）", f"  状态：{item.status}"]
    if item.applicant_name or item.applicant_uscc:
        lines.append(f"  申请单位：{item.applicant_name or ''}（{item.applicant_uscc or '无统一社会信用代码'}）")
    lines.append(f"  文件：{item.file_name}  SHA-256：{item.sha256 or '（无法读取文件）'}")
    version = f"  规则版本：{item.rules_version}" if item.rules_version else ""
    lines.append(f"  收件：{_local(item.received_at)}{version}")
    if item.reason:
        lines.append(f"  无法读取：{item.reason}")
    if item.previous_id:
        lines.append(f"  重新提交：更正第 {item.previous_id} 号申请")
    if later:
        lines.append(f"  此后重新提交：第 {'、'.join(map(str, later))} 号")
    lines += _findings_text(item)
    decided = item.decision
    if decided is not None:
        note = f"；说明：{decided.note}" if decided.note else ""
        lines.append(f"  决定：{decided.verdict}，{decided.decided_by}，{_local(decided.decided_at)}{note}")
        if decided.document_sha256:
            numbers = "、".join(n.text for n in decided.numbers) or "无编号"
            lines.append(f"  通知：{decided.notice} {numbers}，{decided.document_name}"
                         f"（SHA-256 {decided.document_sha256}），{_local(decided.issued_at)}发出")
        elif decided.notice:
            lines.append(f"  通知：{decided.notice}，尚未发出（shenbao batch {decided.notice} --from-ledger）")
    return "\n".join(lines)


def _findings_text(item: Submission) -> list[str]:
    """The findings of the check at intake, and of the check the decision rested on (when it found otherwise)."""
    lines: list[str] = []
    seen: list[tuple[str, str, str]] = []
    for stage, words in (("application", "收件审查"), ("office", "决定时的审查")):
        found = [f for f in item.findings if f.stage == stage]
        same = [(f.rule, f.path, f.message) for f in found] == seen
        if stage == "office" and found and same:
            lines.append(f"  {words}：同收件审查")
        elif found:
            lines.append(f"  {words}：")
            lines += [f"    {SEVERITY.get(f.severity, f.severity)} {f.path or '/'}（{f.title}）[{f.clause}] "
                      f"{f.message}  <{f.rule}>" for f in found]
        elif stage == "application" and item.data is not None:
            lines.append(f"  {words}：无问题")
        seen = [(f.rule, f.path, f.message) for f in found]
    return lines


@ledger_group.command("decide")
@click.argument("submission_id", type=int, metavar="编号")
@click.option("--approve", "verdict", flag_value=APPROVED, help="通过（仍有错误或待办事项时不予记录）。")
@click.option("--reject", "verdict", flag_value=REJECTED, help="不予通过（列明未通过的条件；没有时不予记录）。")
@click.option("--by", "by", required=True, metavar="姓名", help="作出决定的人。")
@click.option("--note", metavar="说明", help="决定的说明（记入台账）。")
@click.option("--review", "review_file", metavar="审核.json",
              help="审核部门填写的部分（.json 或 .toml：审查意见、专家评分等），与决定一同记入申请。")
@_db_option
def decide_command(submission_id: int, verdict: str | None, by: str, note: str | None, review_file: str | None,
                   db: str) -> None:
    """对台账中的一份申请作出决定并记录：谁、何时、通过或不予通过、说明。

    通过：须无错误、无待办事项（审核部门的部分已填写、专家评分已有）。不予通过：列明每项未通过的条件。
    通知随后由 shenbao batch 通知ID --from-ledger 发出，编号由台账分配。
    退出码：0 已记录；1 有未通过的条件，不能批准；2 尚有待办事项，或申请不能决定。"""
    from .ledger.deciding import decide_submission

    if verdict not in VERDICTS:
        raise click.UsageError("请用 --approve（通过）或 --reject（不予通过）说明决定")
    review = _load(review_file) if review_file else None
    with _open(db) as ledger:
        ruling = decide_submission(ledger, submission_id, verdict, by, note, review)
    cited = [*ruling.failed, *ruling.pending]
    lines = [f"  {SEVERITY.get(f.severity, f.severity)} {f.path}（{f.title}）[{f.clause}] {f.message}  <{f.rule}>"
             for f in cited]
    if not ruling.recorded:
        click.echo(f"shenbao: 第 {submission_id} 号申请未作出{verdict}决定：{ruling.reason}", err=True)
        click.echo("\n".join(lines), err=True)
        sys.exit(2 if ruling.pending or verdict == REJECTED else 1)
    words = "（未通过的条件）" if verdict == REJECTED else ""
    click.echo(f"已记录：第 {submission_id} 号申请 {verdict}，决定人 {by}" + (f"{words}：" if lines else ""))
    if lines:
        click.echo("\n".join(lines))
    if ruling.notice:
        click.echo(f"通知：shenbao batch {ruling.notice} --from-ledger --status {verdict} --office 发文机关.toml "
                   f"--decision 本次发文.json -o 目录")


@ledger_group.command("export")
@click.option("-o", "--output", required=True, metavar="台账.xlsx", help="要生成的 Excel 文件（.xlsx）。")
@_filters
@_db_option
def export_command(output: str, form_id: Form | None, status: str | None, since: dt.datetime | None,
                   until: dt.datetime | None, applicant: str | None, db: str) -> None:
    """把台账导出为 Excel：每种表单一张表，中文表头，数字为数值、日期为日期。"""
    from .files import write_bytes
    from .ledger.export import workbook

    out = _output(output, ".xlsx")
    with _open(db) as ledger:
        items = _chosen(ledger, form_id, status, since, until, applicant)
        write_bytes(out, workbook(items))
    sheets = len({item.form for item in items})
    click.echo(f"已生成 {output}（{len(items)} 份申请，{max(sheets, 1)} 张表）")


@ledger_group.command("history")
@click.argument("submission_id", type=int, metavar="编号")
@_db_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出每条记录。")
def history_command(submission_id: int, db: str, as_json: bool) -> None:
    """显示一份申请的全部记录：收件、再次收到、重新提交、决定、分配编号、发出通知……"""
    from .ledger import store, views

    with _open(db) as ledger, ledger.reading() as session:
        item = store.submission(session, submission_id)
        events = store.events(session, submission_id)
        if as_json:
            _echo_json([views.event(e) for e in events])
            return
        click.echo(f"第 {item.id} 号申请（{item.applicant_name or item.file_name}）的记录：")
        rows = [(_local(e.at), KINDS.get(e.kind, e.kind), e.actor or "", _event_text(e)) for e in events]
        click.echo("\n".join("  " + line for line in _columns(rows).splitlines()))


def _event_text(event: Event) -> str:
    """One event in words: what came in, what was decided and why, which number and document went out."""
    d, kind = event.detail, event.kind
    failed = "、".join(f"{f['title']}[{f['clause']}]" for f in d.get("failed") or [])
    if kind == "intake":
        parts = (d.get("file"), d.get("status"), f"{d['errors']} 项错误" if d.get("errors") else "", d.get("reason"),
                 f"更正第 {d['previous']} 号" if d.get("previous") else "")
        return "，".join(str(p) for p in parts if p)
    if kind == "duplicate":
        return f"{d.get('file')}（与此申请的文件相同，未重复登记）"
    if kind == "resubmitted":
        return f"由第 {d.get('by')} 号重新提交（{d.get('file')}）"
    if kind == "review":
        return "填写 " + "、".join(d.get("entered") or {})
    if kind == "refused":
        return f"要求{d.get('verdict')}：{d.get('reason')}" + (f"（{failed}）" if failed else "")
    if kind == "decision":
        note = f"：{d['note']}" if d.get("note") else ""
        return f"{d.get('verdict')}{note}" + (f"；未通过：{failed}" if failed else "")
    if kind == "number":
        return f"{_field_title(d.get('notice'), d.get('field'))}：{d.get('text')}（{d.get('notice')}）"
    if kind == "issued":
        code = f"，验证码 {d['code']}" if d.get("code") else ""
        return f"{d.get('notice')} {d.get('file')}（SHA-256 {str(d.get('sha256'))[:16]}…{code}）"
    if kind == "revoked":
        return f"撤销 {d.get('number')}：{d.get('reason')}"
    return json.dumps(d, ensure_ascii=False)


def _field_title(notice: Any, path: Any) -> str:
    """The Chinese title of a notice's field (``证书编号``), or its path when the catalogue no longer has it."""
    from .catalogue import form
    from .errors import ShenbaoError
    from .fields import pointer, title

    try:
        return title(form(str(notice)), pointer(str(path)))
    except (ShenbaoError, KeyError):
        return str(path)


@ledger_group.command("revoke")
@click.argument("number", metavar="编号")
@click.option("--reason", required=True, metavar="理由", help="撤销的理由（记入台账；查验页面只显示已撤销及日期）。")
@click.option("--by", "by", metavar="姓名", help="作出撤销的人。")
@_db_option
def revoke_command(number: str, reason: str, by: str | None, db: str) -> None:
    """撤销已发出的通知或证书（按发文字号、证书编号或验证码）：此后查验时显示为已撤销。"""
    from .ledger.verifying import NotRevocable, revoke

    with _open(db) as ledger:
        try:
            record = revoke(ledger, number, reason, by)
        except NotRevocable as exc:
            click.echo(f"shenbao: {exc}", err=True)
            sys.exit(2)
    to = record.to or "（未记）"
    click.echo(f"已撤销：{record.title} {record.number}（发给{to}，第 {record.submission} 号申请），"
               f"理由：{reason.strip()}")


@ledger_group.command("upgrade")
@_db_option
def upgrade_command(db: str) -> None:
    """把台账数据库升级到本工具的版本（每次使用时也会自动升级；已有记录全部保留）。"""
    from .ledger import database, schema

    url = database.url_of(db)
    engine = database.engine(url)
    try:
        before, after = schema.upgrade(engine)
    finally:
        engine.dispose()
    name = database.describe(url)
    if before == after:
        click.echo(f"台账 {name} 已是最新版本（{after}）")
    else:
        click.echo(f"台账 {name}：已从 {before or '空数据库'} 升级到 {after}")


def commands() -> list[click.Command]:
    """The commands ``cli`` adds: ``intake`` and the ``ledger`` group."""
    return [intake_command, ledger_group]


# --- shenbao batch NOTICE --from-ledger ----------------------------------------------------------------------


def batch_from_ledger(notice: Form, rows: str | None, out_dir: str | None, *, name: str, jobs: int, pdf: bool,
                      merge: str | None, zip_path: str | None, quiet: bool, status: str, db: str,
                      office_file: str | None, decision_file: str | None, refused: Sequence[str] = (),
                      signer: Any = None, template: bytes | None = None) -> NoReturn:
    """``shenbao batch NOTICE --from-ledger``: the notices of the decided submissions of ``status``, numbered by the
    ledger, into ``out_dir`` (on the office's own ``template``, already linted, if given); exits."""
    from .ledger.issuing import issue
    from .sinks import FolderSink

    if rows:
        raise click.UsageError(f"--from-ledger 时不用表格（{rows}）：通知的数据来自台账")
    if refused:
        raise click.UsageError(f"--from-ledger 不能与 {'、'.join(refused)} 同用（编号和已发出的通知由台账记录）")
    if not out_dir:
        raise click.UsageError("缺少 -o/--out（存放生成文档的目录）")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise UnusableInput(out_dir, "这是一个文件，不是目录；-o 应为存放文档的目录")
    merge_out = _output(merge, ".docx", office_file, decision_file) if merge else None
    zip_out = _output(zip_path, ".zip", office_file, decision_file) if zip_path else None
    profile = _load(office_file) if office_file else {}
    facts = _load(decision_file) if decision_file else {}
    jobs = jobs or os.cpu_count() or 1
    with _open(db) as ledger:
        sink = FolderSink(out_dir, pdf=pdf, merge=merge_out, zip_path=zip_out, jobs=jobs, signer=signer)
        with _Bar(quiet, None, "发文").running() as advance:
            result = issue(ledger, notice, profile, facts, sink, status=status, name=name, jobs=jobs,
                           progress=advance, template=template)
        issued = _issued_rows(ledger, [o.row for o in result.outcomes if o.status == "written"])
    if result.plain:
        click.echo(f"shenbao: 模板: {result.plain}", err=True)
    if len(issued) > 1:
        click.echo(_columns(issued))
    for outcome in result.failed:
        click.echo(f"shenbao: 台账第 {outcome.row} 号：{outcome.message}", err=True)
    click.echo(f"{out_dir}：发出 {result.count('written')} 份，跳过 {result.count('skipped')} 份（此前已发出），"
               f"{len(result.failed)} 份未发出")
    sys.exit(1 if result.failed else 0)


def _issued_rows(ledger: Ledger, ids: list[int]) -> list[tuple[str, ...]]:
    from .ledger.store import submissions

    rows: list[tuple[str, ...]] = [("编号", "申请单位", "编号（台账分配）", "文件")]
    with ledger.reading() as session:
        for item in submissions(session, ids=ids):
            decided = item.decision
            if decided is not None:
                rows.append((str(item.id), item.applicant_name or "", "、".join(n.text for n in decided.numbers),
                             decided.document_name or ""))
    return rows

