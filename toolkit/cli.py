"""The ``shenbao`` command: a thin shell over the library. It parses arguments, reads and writes files, prints
and sets the exit code; every workflow is a library call. Only this module prints or imports click.

Exit codes: 0 all well, 1 findings (an application fails a rule), 2 unusable input or usage error.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.cells import cell_len
from rich.progress import Progress, TextColumn

from . import (
    batching,
    catalogue,
    convert,
    decision,
    extraction,
    fields,
    files,
    office,
    rendering,
    sheets,
    sinks,
    template_check,
)
from .catalogue import Form
from .errors import ShenbaoError, UnusableInput
from .validation import STAGES, Report, check

SEVERITY_WORDS = {"error": "错误", "warning": "警告", "note": "提示"}


class FormId(click.ParamType):
    """A form id on the command line, looked up once: the command receives the ``Form``."""

    name = "FORM_ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Form:
        return value if isinstance(value, Form) else catalogue.form(value)  # UnknownForm: exit 2, one line


FORM = FormId()


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows aligned in columns, measuring Chinese characters as two cells wide."""
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]))]
    padded = [[cell + " " * (w - cell_len(cell)) for cell, w in zip(row, widths, strict=True)] for row in rows]
    return ["  ".join(cells).rstrip() for cells in padded]


def _written(paths: list[Path], note: str = "") -> None:
    for path in paths:
        click.echo(f"已生成 {path}{note}")


def _save_docx(out: Path, document: bytes, pdf: bool) -> list[Path]:
    """Write the .docx (and, with ``pdf``, its PDF beside it) atomically; the paths written."""
    written = [files.write_bytes(out, document)]
    if pdf:
        written.append(files.write_bytes(out.parent / f"{out.stem}.pdf", convert.pdf_of(document)))
    return written


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="shenbao-toolkit")
def cli() -> None:
    """申报工具箱 — forms, eligibility checks and notices of Chinese S&T programmes."""


@cli.command("forms")
def forms_command() -> None:
    """List every form, plan and notice: id, Chinese title, kind and the policy it comes from."""
    rows = [("ID", "名称", "类别", "依据")]
    rows += [(f.id, f.title, f.kind, f"{f.policy} {f.clause}".strip()) for f in catalogue.forms()]
    click.echo("\n".join(_columns(rows)))


@cli.command("schema")
@click.argument("form", type=FORM)
def schema_command(form: Form) -> None:
    """Print the JSON Schema of FORM_ID."""
    click.echo(_dump(form.schema))


@cli.command("skeleton")
@click.argument("form", type=FORM)
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False), help="Write an empty sheet with the headers.")
def skeleton_command(form: Form, xlsx: str | None) -> None:
    """Print a blank JSON of FORM_ID to fill in (or, with --xlsx, write an empty sheet for `batch`)."""
    if xlsx is None:
        click.echo(_dump(catalogue.skeleton(form)))
        if form.office_sections:
            sections = "、".join(f"{fields.title(form, p)}（{p}）" for p in form.office_sections)
            click.echo(f"shenbao: 以下部分由审核部门填写，申请人留空即可：{sections}", err=True)
        return
    files.write_bytes(xlsx, sheets.empty_sheet(form))
    click.echo(f"已生成 {xlsx}")


@cli.command("validate")
@click.argument("form", type=FORM)
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.option("--stage", type=click.Choice(STAGES), default="application", show_default=True,
              help="application: the applicant's part (the office's sections may be blank); office: before a "
                   "decision (the office's sections and pending items too); draft: unfilled fields are no findings.")
def validate_command(form: Form, paths: tuple[str, ...], as_json: bool, stage: str) -> None:
    """Check FILES (JSON applications) against the schema and rules of FORM_ID."""
    reports, unusable = [], 0
    for path in paths:
        try:
            reports.append(check(form, files.load_application(path), stage=stage, file=path))
        except UnusableInput as exc:
            unusable += 1
            click.echo(f"shenbao: {exc}", err=True)
    if as_json:
        payload = [r.as_dict() for r in reports]
        if len(paths) == 1 and reports:
            click.echo(_dump(payload[0]))
        elif reports or len(paths) > 1:
            click.echo(_dump(payload))
    else:
        for report in reports:
            click.echo(_report_text(report))
    sys.exit(2 if unusable else (1 if any(not r.ok for r in reports) else 0))


@cli.command("render")
@click.argument("form", type=FORM)
@click.argument("data_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .docx to write.")
@click.option("--pdf", is_flag=True, help="Also write OUTPUT.pdf beside it (LibreOffice headless).")
@click.option("--draft", is_flag=True, help="Render even an incomplete form; blanks are marked for hand filling.")
@click.option("--template", type=click.Path(exists=True, dir_okay=False),
              help="A template of your own (.docx); it renders in a sandbox.")
def render_command(form: Form, data_file: str, output: str, pdf: bool, draft: bool, template: str | None) -> None:
    """Render DATA_FILE (JSON) as the Word document of FORM_ID; refuses an invalid form unless --draft."""
    data = files.load_application(data_file)
    try:
        document = rendering.render(form, data, draft=draft, template=_template(template))
    except rendering.NotValid as refused:
        click.echo(_report_text(dataclasses.replace(refused.report, file=data_file)))
        click.echo(f"shenbao: {data_file}: {refused}", err=True)
        sys.exit(1)
    _written(_save_docx(Path(output), document, pdf))


def _template(path: str | None) -> bytes | None:
    return files.read_input(path) if path else None


@cli.command("decide")
@click.argument("form", type=FORM)
@click.argument("application", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The notice (.docx) to write.")
@click.option("--office", "office_file", type=click.Path(dir_okay=False),
              help="The office's profile (.toml or .json: issuer, signatory, 印发机关 …; `shenbao office init`).")
@click.option("--decision", "decision_file", type=click.Path(dir_okay=False),
              help="This decision's facts (.json or .toml: 文号, dates, scores …; any field of the notice).")
@click.option("--pdf", is_flag=True, help="Also write the notice as PDF beside it.")
def decide_command(form: Form, application: str, output: str, office_file: str | None, decision_file: str | None,
                   pdf: bool) -> None:
    """Decide APPLICATION: its approval notice, or the 不予通过通知 citing every failed rule.

    Nothing of the office's part is made up: what the notice needs comes from --office and --decision.
    Exit 0 when the approval was written, 1 when the rejection was written, 2 when nothing was written
    (something still pending, the office's part incomplete, or an unusable file)."""
    data = files.load_application(application)
    profile = files.load_data(office_file) if office_file else {}
    facts = files.load_data(decision_file) if decision_file else {}
    decided = decision.decide(form, data, profile, facts)
    click.echo(_report_text(dataclasses.replace(decided.report, file=application)))
    if decided.verdict == "pending":
        waiting = "；".join(f"{f.title}（{f.path}）：{f.message}" for f in decided.pending)
        click.echo(f"shenbao: {application}: 尚有待办事项，暂不能作出决定，未生成通知：{waiting}", err=True)
        sys.exit(2)
    assert decided.notice is not None and decided.notice_report is not None
    if decided.document is None:
        _refuse_notice(decided, office_file, decision_file)
    _written(_save_docx(Path(output), decided.document, pdf), f"（{decided.words}：{decided.notice.title}）")
    sys.exit(0 if decided.approved else 1)


def _refuse_notice(decided: decision.Decision, office_file: str | None, decision_file: str | None) -> None:
    """The notice could not be made: every item missing from the office's part, and every other problem."""
    assert decided.notice is not None and decided.notice_report is not None
    sources = "、".join(f for f in (office_file, decision_file) if f) or "（未提供 --office 和 --decision 文件）"
    lines = [f"shenbao: 未生成{decided.notice.title}（{decided.words}）：通知中本机关填写的部分不完整或有误，"
             f"请在 --office（发文机关信息）或 --decision（本次决定）文件中填写后重试。来源：{sources}"]
    if decided.missing:
        lines.append("  缺少：" + "、".join(f"{f.title}（{f.path}）" for f in decided.missing))
    others = [f for f in decided.notice_report.errors if f.rule != "schema.required"]
    lines += [f"  {f.path}（{f.title}）：{f.message}" for f in others]
    click.echo("\n".join(lines), err=True)
    sys.exit(2)


@cli.group("office")
def office_group() -> None:
    """The office's profile: who issues, signs and prints its notices."""


@office_group.command("init")
@click.option("-o", "--output", default="office.toml", show_default=True, type=click.Path(dir_okay=False),
              help="The profile to write (TOML, with a comment on every item).")
def office_init_command(output: str) -> None:
    """Write an empty office profile, every item explained, for the office to fill in."""
    if Path(output).exists():
        raise UnusableInput(output, "文件已存在，不会覆盖；请换一个文件名或先移走它 (exists)")
    files.write_bytes(output, office.profile_template().encode("utf-8"))
    click.echo(f"已生成 {output}：请逐项填写后用于 shenbao decide --office {output}")


@cli.command("extract")
@click.argument("form", type=FORM)
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the data (one file) as JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print data, findings and where each field was found.")
@click.option("-j", "--jobs", type=int, default=0, help="Processes to use (default: the cores).")
def extract_command(form: Form, paths: tuple[str, ...], output: str | None, as_json: bool, jobs: int) -> None:
    """Read submitted PDFs (or Word files) of FORM_ID back into its JSON, checked against the policy."""
    if output and len(paths) > 1:
        raise click.UsageError("-o takes one PDF; for several use --json")
    results = extraction.extract_many([(form, path) for path in paths], jobs or os.cpu_count() or 1)
    usable = [r for r in results if isinstance(r, extraction.Extraction)]
    for problem in (r for r in results if not isinstance(r, extraction.Extraction)):
        click.echo(f"shenbao: {problem}", err=True)
    if output and usable:
        files.write_json(output, usable[0].data)
    if as_json:
        payload = [r.as_dict() for r in usable]
        click.echo(_dump(payload[0] if len(paths) == 1 and usable else payload))
    elif not output:
        for result in usable:
            click.echo(_extraction_text(result))
    if len(paths) > 1:
        click.echo(_summary(paths, results), err=True)
    failed = any(not r.ok for r in usable)
    sys.exit(2 if len(usable) < len(results) else (1 if failed else 0))


def _extraction_text(result: extraction.Extraction) -> str:
    lines = [f"{'✓' if result.ok else '✗'} {result.file}：读出 {len(result.fields)} 个字段"
             + (f"，{len(result.missing)} 个未找到" if result.missing else "")]
    lines += [f"  未找到 {f.path}（{f.title}）" for f in result.findings if f.rule == "extract.missing"]
    if result.report is not None:
        lines += _report_text(result.report).splitlines()[1:]
    return "\n".join(lines)


def _summary(paths: tuple[str, ...], results: list) -> str:
    rows = [("文件", "结果", "说明")]
    for path, result in zip(paths, results, strict=True):
        if isinstance(result, extraction.Extraction):
            state = "通过" if result.ok else "有问题"
            note = f"{len(result.missing)} 个字段未找到，{len(result.report.errors) if result.report else 0} 项错误"
        else:
            state, note = "无法读取", result.reason
        rows.append((path, state, note))
    return "\n".join(_columns(rows))


@cli.command("batch")
@click.argument("form", type=FORM)
@click.argument("rows", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder of documents.")
@click.option("--name", default="{__row__}", show_default=True,
              help="File name pattern, e.g. '{enterprise.uscc}-{enterprise.name}' ({__row__}: the row number).")
@click.option("--defaults", type=click.Path(dir_okay=False), help="JSON shared by every row (发文机关, 文号, dates …).")
@click.option("-j", "--jobs", type=int, default=0, help="Processes (default: the cores).")
@click.option("--resume", is_flag=True, help="Keep documents already written; write the rest.")
@click.option("--one", is_flag=True, help="All rows in one document, as the rows of its table (公示名单).")
@click.option("--pdf", is_flag=True, help="Also convert every document to PDF (LibreOffice, many per run).")
@click.option("--merge", type=click.Path(dir_okay=False), help="Also one .docx of all documents, for printing.")
@click.option("--zip", "zip_path", type=click.Path(dir_okay=False), help="Also a .zip of the documents.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def batch_command(form: Form, rows: str, out_dir: str, name: str, defaults: str | None, jobs: int,
                  resume: bool, one: bool, pdf: bool, merge: str | None, zip_path: str | None, quiet: bool) -> None:
    """Render one FORM_ID document per row of ROWS (.xlsx, .csv, .jsonl); bad rows are named and skipped."""
    shared = files.load_application(defaults) if defaults else {}
    jobs = jobs or os.cpu_count() or 1
    sheet = Path(rows)
    sink = sinks.FolderSink(out_dir, resume=resume, pdf=pdf, merge=merge, zip_path=zip_path, jobs=jobs)
    if one:
        sheets.check_headers(form, sheet, f"{batching.the_list(form)}[]")
        result = batching.one_document(form, sheets.read_rows(sheet), sink, defaults=shared)
    else:
        sheets.check_headers(form, sheet)
        with _progress(quiet, sheet) as advance:
            result = batching.batch(form, sheets.read_rows(sheet), sink, defaults=shared, name=name, jobs=jobs,
                                    progress=advance)
    for outcome in result.failed:
        click.echo(f"shenbao: {rows} 第{outcome.row}行：{outcome.message}", err=True)
    click.echo(f"{out_dir}：生成 {result.count('written')} 份，跳过 {result.count('skipped')} 份（已存在），"
               f"{len(result.failed)} 行有错误")
    sys.exit(1 if result.failed else 0)


class _progress:
    """A rich progress bar with rate and ETA on a terminal; nothing when quiet or not on a terminal."""

    def __init__(self, quiet: bool, sheet: Path) -> None:
        self.sheet = sheet
        self.bar = None if quiet or not sys.stderr.isatty() else Progress(
            *Progress.get_default_columns(), TextColumn("{task.completed} 份"), transient=True)

    def __enter__(self) -> Any:
        if self.bar is None:
            return None
        self.bar.start()
        task = self.bar.add_task("生成", total=sheets.count_rows(self.sheet))
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@cli.command("convert")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--png", is_flag=True, help="Also write a PNG of each PDF's first page (70 dpi) to look at.")
def convert_command(paths: tuple[str, ...], png: bool) -> None:
    """Convert .docx FILES to PDF beside them, all in one LibreOffice run."""
    for pdf in convert.to_pdf([Path(p) for p in paths]):
        click.echo(f"已生成 {pdf}")
        if png:
            click.echo(f"已生成 {convert.to_png(pdf, pdf.with_suffix('.png'))}")


@cli.group("template")
def template_group() -> None:
    """Work with Word templates."""


@template_group.command("check")
@click.argument("template", type=click.Path(dir_okay=False))
@click.option("--form", "form", required=True, type=FORM, help="The form the template is for.")
def template_check_command(template: str, form: Form) -> None:
    """Lint TEMPLATE: Jinja syntax, tags that match no field, required fields never printed."""
    findings = template_check.check_template(template, form)
    for finding in findings:
        click.echo(f"{template}: {finding.kind} {finding.path}: {finding.message}")
    if not findings:
        click.echo(f"✓ {template}：模板与表单 {form.id} 一致")
    sys.exit(1 if findings else 0)


def _report_text(report: Report) -> str:
    title = catalogue.form(report.form).title
    errors, warnings = len(report.errors), len(report.warnings)
    if report.ok:
        verdict = "通过" + (f"，{warnings} 项警告" if warnings else "，无问题")
    else:
        verdict = f"未通过：{errors} 项错误" + (f"，{warnings} 项警告" if warnings else "")
    lines = [f"{'✓' if report.ok else '✗'} {report.file}（{title}）{verdict}"]
    for f in (*report.findings, *report.notes):
        lines.append(f"  {SEVERITY_WORDS[f.severity]} {f.path or '/'}（{f.title}）[{f.clause}] {f.message}  <{f.rule}>")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``shenbao``: library errors become one line on stderr and exit code 2."""
    try:
        cli.main(args=argv, prog_name="shenbao", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("shenbao: 已中止 (aborted)", err=True)
        sys.exit(130)
    except ShenbaoError as exc:
        click.echo(f"shenbao: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # never a traceback for the user; SHENBAO_DEBUG=1 shows it
        if os.environ.get("SHENBAO_DEBUG"):
            raise
        click.echo(f"shenbao: 内部错误 {type(exc).__name__}: {exc}（设置 SHENBAO_DEBUG=1 查看详情）", err=True)
        sys.exit(2)
    sys.exit(0)
