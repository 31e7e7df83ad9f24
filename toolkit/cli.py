"""The ``shenbao`` command: a thin shell over the library. Only this module prints or imports click.

Exit codes: 0 all well, 1 findings (an application fails a rule), 2 unusable input or usage error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.cells import cell_len
from rich.progress import Progress, TextColumn

from . import batch as batching
from . import batch_output as batching_output
from . import catalogue, convert, extraction, template_check, validation
from . import decision as deciding
from . import render as rendering
from . import render as rendering_io
from .errors import ShenbaoError, UnusableInput

SEVERITY_WORDS = {"error": "错误", "warning": "警告", "note": "提示"}


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows aligned in columns, measuring Chinese characters as two cells wide."""
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]))]
    padded = [[cell + " " * (w - cell_len(cell)) for cell, w in zip(row, widths, strict=True)] for row in rows]
    return ["  ".join(cells).rstrip() for cells in padded]


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
@click.argument("form_id")
def schema_command(form_id: str) -> None:
    """Print the JSON Schema of FORM_ID."""
    click.echo(_dump(catalogue.schema(form_id)))


@cli.command("skeleton")
@click.argument("form_id")
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False), help="Write an empty sheet with the headers.")
def skeleton_command(form_id: str, xlsx: str | None) -> None:
    """Print a blank JSON of FORM_ID to fill in (or, with --xlsx, write an empty sheet for `batch`)."""
    if xlsx is None:
        click.echo(_dump(catalogue.skeleton(form_id)))
        return
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = catalogue.form(form_id).title[:31]
    sheet.append(batching.headers_for_sheet(form_id))
    sheet.freeze_panes = "A2"
    book.save(xlsx)
    click.echo(f"已生成 {xlsx}")


@cli.command("validate")
@click.argument("form_id")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def validate_command(form_id: str, files: tuple[str, ...], as_json: bool) -> None:
    """Check FILES (JSON applications) against the schema and rules of FORM_ID."""
    catalogue.form(form_id)
    reports, unusable = [], 0
    for path in files:
        try:
            reports.append(validation.validate_file(form_id, path))
        except UnusableInput as exc:
            unusable += 1
            click.echo(f"shenbao: {exc}", err=True)
    if as_json:
        payload = [r.as_dict() for r in reports]
        if len(files) == 1 and reports:
            click.echo(_dump(payload[0]))
        elif reports or len(files) > 1:
            click.echo(_dump(payload))
    else:
        for report in reports:
            click.echo(_report_text(report))
    sys.exit(2 if unusable else (1 if any(not r.ok for r in reports) else 0))


@cli.command("render")
@click.argument("form_id")
@click.argument("data_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .docx to write.")
@click.option("--pdf", is_flag=True, help="Also write OUTPUT.pdf beside it (LibreOffice headless).")
@click.option("--draft", is_flag=True, help="Render even an incomplete form; blanks are marked for hand filling.")
@click.option("--template", type=click.Path(exists=True, dir_okay=False),
              help="A template of your own (.docx); it renders in a sandbox.")
def render_command(form_id: str, data_file: str, output: str, pdf: bool, draft: bool, template: str | None) -> None:
    """Render DATA_FILE (JSON) as the Word document of FORM_ID; refuses an invalid form unless --draft."""
    catalogue.form(form_id)
    report = validation.validate_file(form_id, data_file)
    if not report.ok and not draft:
        click.echo(_report_text(report))
        click.echo(f"shenbao: {data_file}: 有错误，未生成文档；修正后重试，或用 --draft 生成草稿", err=True)
        sys.exit(1)
    data = validation.load_application(data_file)
    written = [rendering.render(form_id, data, output, draft=draft, template=template)]
    if pdf:
        written += convert.to_pdf(written)
    for path in written:
        click.echo(f"已生成 {path}")


@cli.command("decide")
@click.argument("form_id")
@click.argument("application", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The notice (.docx) to write.")
@click.option("--decision", type=click.Path(dir_okay=False),
              help="The office's part of the notice (JSON: issuer, number, dates …); default: the notice's sample.")
@click.option("--pdf", is_flag=True, help="Also write the notice as PDF beside it.")
def decide_command(form_id: str, application: str, output: str, decision: str | None, pdf: bool) -> None:
    """Validate APPLICATION and render its approval notice, or the 不予通过通知 citing every failed rule.

    Exit 0 when approved, 1 when the rejection notice was written, 2 when no notice could be made."""
    catalogue.form(form_id)
    data = validation.load_application(application)
    report, notice_id, notice = deciding.decide(form_id, data, deciding.load_decision(decision))
    click.echo(_report_text(validation.Report(report.form, application, report.findings, report.notes)))
    notice_report = validation.validate(notice_id, notice, decision or f"{notice_id} sample")
    if not notice_report.ok:
        click.echo(_report_text(notice_report))
        click.echo(f"shenbao: 通知 {notice_id} 的数据不完整，未生成；请在 --decision 文件中补全", err=True)
        sys.exit(1)
    written = [rendering.render(notice_id, notice, output)]
    if pdf:
        written += convert.to_pdf(written)
    verdict = "通过" if report.ok else "不予通过"
    for path in written:
        click.echo(f"已生成 {path}（{verdict}：{catalogue.form(notice_id).title}）")
    sys.exit(0 if report.ok else 1)


@cli.command("extract")
@click.argument("form_id")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the data (one file) as JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print data, findings and where each field was found.")
@click.option("-j", "--jobs", type=int, default=0, help="Processes to use (default: the cores).")
def extract_command(form_id: str, files: tuple[str, ...], output: str | None, as_json: bool, jobs: int) -> None:
    """Read submitted PDFs of FORM_ID back into its JSON, checked against the policy."""
    catalogue.form(form_id)
    if output and len(files) > 1:
        raise click.UsageError("-o takes one PDF; for several use --json")
    results = extraction.extract_many(form_id, list(files), jobs or os.cpu_count() or 1)
    usable = [r for r in results if isinstance(r, extraction.Extraction)]
    for problem in (r for r in results if not isinstance(r, extraction.Extraction)):
        click.echo(f"shenbao: {problem}", err=True)
    if output and usable:
        rendering_io.write_json(Path(output), usable[0].data)
    if as_json:
        payload = [r.as_dict() for r in usable]
        click.echo(_dump(payload[0] if len(files) == 1 and usable else payload))
    elif not output:
        for result in usable:
            click.echo(_extraction_text(result))
    if len(files) > 1:
        click.echo(_summary(files, results), err=True)
    failed = any(not r.ok for r in usable)
    sys.exit(2 if len(usable) < len(results) else (1 if failed else 0))


def _extraction_text(result: extraction.Extraction) -> str:
    lines = [f"{'✓' if result.ok else '✗'} {result.file}：读出 {len(result.fields)} 个字段"
             + (f"，{len(result.missing)} 个未找到" if result.missing else "")]
    lines += [f"  未找到 {path}" for path in result.missing]
    if result.report is not None:
        lines += _report_text(result.report).splitlines()[1:]
    return "\n".join(lines)


def _summary(files: tuple[str, ...], results: list) -> str:
    rows = [("文件", "结果", "说明")]
    for path, result in zip(files, results, strict=True):
        if isinstance(result, extraction.Extraction):
            state = "通过" if result.ok else "有问题"
            note = f"{len(result.missing)} 个字段未找到，{len(result.report.errors) if result.report else 0} 项错误"
        else:
            state, note = "无法读取", result.reason
        rows.append((path, state, note))
    return "\n".join(_columns(rows))


@cli.command("batch")
@click.argument("form_id")
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
def batch_command(form_id: str, rows: str, out_dir: str, name: str, defaults: str | None, jobs: int,
                  resume: bool, one: bool, pdf: bool, merge: str | None, zip_path: str | None, quiet: bool) -> None:
    """Render one FORM_ID document per row of ROWS (.xlsx, .csv, .jsonl); bad rows are named and skipped."""
    catalogue.form(form_id)
    shared = validation.load_application(defaults) if defaults else {}
    folder, sheet = Path(out_dir), Path(rows)
    if one:
        written, outcomes = batching.one_document(form_id, sheet, folder / f"{form_id}.docx", shared)
    else:
        with _progress(quiet, sheet) as advance:
            outcomes = batching.run(form_id, sheet, folder, name, jobs or os.cpu_count() or 1, resume, shared,
                                    advance)
    failed = [o for o in outcomes if o.status == "failed"]
    for outcome in failed:
        click.echo(f"shenbao: {rows} 第{outcome.row}行：{outcome.message}", err=True)
    documents = [folder / o.file for o in outcomes if o.status != "failed" and o.file]
    documents = sorted(set(documents), key=documents.index)
    if pdf and documents:
        convert.to_pdf_many(documents, jobs or os.cpu_count() or 1)
    if merge and documents:
        batching_output.merge(documents, Path(merge))
    if zip_path and documents:
        batching_output.zip_documents(documents, folder / batching.MANIFEST, Path(zip_path))
    written = sum(o.status == "written" for o in outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    click.echo(f"{folder}：生成 {written} 份，跳过 {skipped} 份（已存在），{len(failed)} 行有错误")
    sys.exit(1 if failed else 0)


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
        task = self.bar.add_task("生成", total=batching.count_rows(self.sheet) if self.sheet.exists() else None)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@cli.command("convert")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--png", is_flag=True, help="Also write a PNG of each PDF's first page (70 dpi) to look at.")
def convert_command(files: tuple[str, ...], png: bool) -> None:
    """Convert .docx FILES to PDF beside them, all in one LibreOffice run."""
    for pdf in convert.to_pdf([Path(f) for f in files]):
        click.echo(f"已生成 {pdf}")
        if png:
            click.echo(f"已生成 {convert.to_png(pdf, pdf.with_suffix('.png'))}")


@cli.group("template")
def template_group() -> None:
    """Work with Word templates."""


@template_group.command("check")
@click.argument("template", type=click.Path(dir_okay=False))
@click.option("--form", "form_id", required=True, help="The form the template is for.")
def template_check_command(template: str, form_id: str) -> None:
    """Lint TEMPLATE: Jinja syntax, tags that match no field, required fields never printed."""
    catalogue.form(form_id)
    findings = template_check.check_template(template, form_id)
    for finding in findings:
        click.echo(f"{template}: {finding.kind} {finding.path}: {finding.message}")
    if not findings:
        click.echo(f"✓ {template}：模板与表单 {form_id} 一致")
    sys.exit(1 if findings else 0)


def _report_text(report: validation.Report) -> str:
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
