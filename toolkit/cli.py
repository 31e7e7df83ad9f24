"""The ``shenbao`` command: a thin shell over the library. It parses arguments, reads and writes files, prints
and sets the exit code; every workflow is a library call. Only this module prints or imports click.

Exit codes: 0 all well, 1 findings (an application fails a rule), 2 unusable input or usage error.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .errors import ShenbaoError, UnusableInput

if TYPE_CHECKING:
    from .catalogue import Form
    from .cluster import Cluster


class _Module:
    """A module of the toolkit imported when a command first uses it: `shenbao --help` loads none of them."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(f"{__package__}.{self._name}"), attribute)


if TYPE_CHECKING:  # the type checker sees the modules themselves
    from . import (
        batching,
        catalogue,
        convert,
        decision,
        extraction,
        fields,
        files,
        office,
        reading,
        rendering,
        sheets,
        sinks,
        template_check,
        template_new,
        terminal_text,
        validation,
    )
else:
    batching, catalogue, convert, decision, extraction, fields, files, office, reading, rendering, sheets, sinks = (
        _Module(name) for name in ("batching", "catalogue", "convert", "decision", "extraction", "fields", "files",
                                   "office", "reading", "rendering", "sheets", "sinks"))
    template_check, template_new, terminal_text, validation = (
        _Module(n) for n in ("template_check", "template_new", "terminal_text", "validation"))
STAGES = ("draft", "application", "office")  # validation.STAGES, named here so that --help imports nothing

_CLICK_WORDS = {  # click's own words, in Chinese: the command speaks to Chinese clerks
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Error: {message}": "错误：{message}",
    "Missing argument": "缺少参数",
    "required": "必填",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少命令。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Try '{command} {option}' for help.": "可用 '{command} {option}' 查看帮助。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Aborted!": "已中止。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "integer": "整数",
    "default: {default}": "默认：{default}",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不是 {choices} 之一。",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
}


def _chinese(message: str) -> str:
    return _CLICK_WORDS.get(message, message)


def _chinese_plural(singular: str, plural: str, n: int) -> str:
    return _CLICK_WORDS.get(singular if n == 1 else plural, singular if n == 1 else plural)


for _module in (click.core, click.exceptions, click.formatting, click.parser, click.types, click.decorators):
    if hasattr(_module, "_"):
        _module._ = _chinese  # type: ignore[attr-defined]
    if hasattr(_module, "ngettext"):
        _module.ngettext = _chinese_plural  # type: ignore[attr-defined]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


class _Command(click.Command):
    """A command whose usage line is in Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)


class _Group(click.Group):
    """A group of such commands."""

    command_class = _Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)


_Group.group_class = _Group
SUFFIXES = {".docx": "Word 文档（.docx）", ".json": "JSON 文件（.json）", ".zip": "压缩包（.zip）",
            ".xlsx": "Excel 文件（.xlsx）", ".toml": "TOML 文件（.toml）"}


if TYPE_CHECKING:
    _FormType = click.ParamType[Form]
else:
    _FormType = click.ParamType  # generic only in recent click releases: the older cannot be subscripted


class FormId(_FormType):
    """A form id on the command line, looked up once: the command receives the ``Form``."""

    name = "表单ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Form:
        return catalogue.form(value)  # a Form is returned as it is; UnknownForm: exit 2, one line


FORM = FormId()


def _output(path: str, suffix: str, *inputs: str | None) -> Path:
    """An output path the command may write: its extension says what it is, and it is none of the inputs."""
    out = Path(path)
    if out.suffix.lower() != suffix:
        raise UnusableInput(path, f"输出文件应以 {suffix} 结尾：这里写入的是{SUFFIXES[suffix]}")
    for given in (i for i in inputs if i):
        if out.resolve() == Path(given).resolve() or (out.exists() and Path(given).exists()
                                                       and os.path.samefile(out, given)):
            raise UnusableInput(path, "输出文件与输入文件相同，会覆盖您的输入；请另选一个输出文件名")
    if out.is_dir():
        raise UnusableInput(path, "这是一个目录，不能作为输出文件")
    return out


def _load(path: str) -> dict[str, Any]:
    """A JSON (or, for office files, TOML) file; says so when it was not UTF-8."""
    data, encoding = files.load_data_with_encoding(path)
    if encoding != files.UTF8:
        click.echo(f"shenbao: {path}: 按 {encoding} 编码读取", err=True)
    return data


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _written(paths: list[Path], note: str = "") -> None:
    for path in paths:
        click.echo(f"已生成 {path}{note}")


def _save_docx(out: Path, document: bytes, pdf: bool, signer: Any = None) -> list[Path]:
    """Write the .docx (and, with ``pdf``, its PDF beside it, signed by ``signer`` if given) atomically; the paths
    written."""
    written = [files.write_bytes(out, document)]
    if pdf:
        made = convert.pdf_of(document)
        written.append(files.write_bytes(out.parent / f"{out.stem}.pdf", signer.sign(made) if signer else made))
    return written


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(package_name="shenbao-toolkit", message="%(prog)s，版本 %(version)s")
def cli() -> None:
    """申报工具箱：科技计划项目的申报表、政策条件审查、正式通知与证书。

    每个命令的用法：shenbao 命令 --help。退出码：0 正常；1 有审查问题（申请不符合条件）；2 输入无法使用或用法错误。"""


@cli.command("forms")
def forms_command() -> None:
    """列出全部表单、建设方案和通知：ID、名称、类别及所依据的政策条款。"""
    rows = [("ID", "名称", "类别", "依据")]
    rows += [(f.id, f.title, f.kind, f"{f.policy} {f.clause}".strip()) for f in catalogue.forms()]
    click.echo("\n".join(terminal_text.columns(rows)))


@cli.command("schema")
@click.argument("form", type=FORM, metavar="表单ID")
def schema_command(form: Form) -> None:
    """打印表单的 JSON Schema（字段、中文名称、说明和约束）。"""
    click.echo(_dump(form.schema))


@cli.command("skeleton")
@click.argument("form", type=FORM, metavar="表单ID")
@click.option("--xlsx", "xlsx", metavar="表格.xlsx", help="改为写出只有表头的空白 Excel 表（供 batch 批量生成使用）。")
def skeleton_command(form: Form, xlsx: str | None) -> None:
    """打印表单的空白 JSON，供填写；并说明哪些部分由审核部门填写。"""
    if xlsx is None:
        click.echo(_dump(catalogue.skeleton(form)))
        if form.office_sections:
            sections = "、".join(f"{fields.title(form, p)}（{p}）" for p in form.office_sections)
            click.echo(f"shenbao: 以下部分由审核部门填写，申请人留空即可：{sections}", err=True)
        return
    files.write_bytes(_output(xlsx, ".xlsx"), sheets.empty_sheet(form))
    click.echo(f"已生成 {xlsx}")


@cli.command("validate")
@click.argument("form", type=FORM, metavar="表单ID")
@click.argument("paths", nargs=-1, required=True, metavar="文件...")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出审查结果。")
@click.option("--stage", type=click.Choice(STAGES), default="application", show_default=True, metavar="阶段",
              help="application：申请人填写的部分（审核部门的部分可空）；office：作出决定前，审核部门的部分"
                   "和待办事项也须齐备；draft：草稿，未填的字段不算问题。")
@click.option("--strict", is_flag=True, help="日期、数字等未按标准写法填写时算作错误，而不是按理解的值提示。")
def validate_command(form: Form, paths: tuple[str, ...], as_json: bool, stage: str, strict: bool) -> None:
    """按表单的 schema 和政策条件审查申请（JSON 文件），逐项指出字段、条款和数字。"""
    reports, unusable = [], 0
    for path in paths:
        try:
            reports.append(validation.check(form, _load(path), stage=stage, file=path, strict=strict))
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
            click.echo(terminal_text.report_text(report))
    sys.exit(2 if unusable else (1 if any(not r.ok for r in reports) else 0))


@cli.command("normalize")
@click.argument("form", type=FORM, metavar="表单ID")
@click.argument("path", metavar="文件")
@click.option("-o", "--output", metavar="输出.json", help="写入此 JSON 文件（默认打印出来）。")
def normalize_command(form: Form, path: str, output: str | None) -> None:
    """把申请中按习惯写法填写的值（2016年3月1日、1,008.2万元、是……）改为标准写法，输出规范的 JSON。"""
    data, readings = reading.read(form, _load(path))
    for r in readings:
        click.echo(f"  提示 {r.path}（{fields.title(form, r.path)}）{r.message}", err=True)
    if output:
        files.write_json(_output(output, ".json", path), data)
        click.echo(f"已生成 {output}")
    else:
        click.echo(files.json_text(data), nl=False)
    sys.exit(1 if not validation.check(form, data).ok else 0)


@cli.command("render")
@click.argument("form", type=FORM, metavar="表单ID")
@click.argument("data_file", metavar="申请.json")
@click.option("-o", "--output", required=True, metavar="输出.docx", help="要生成的 Word 文档（.docx）。")
@click.option("--pdf", is_flag=True, help="同时在旁边生成 PDF（LibreOffice）。")
@click.option("--draft", is_flag=True, help="生成草稿：未填或有误也生成，空白处留出填写横线。")
@click.option("--template", metavar="模板.docx",
              help="使用自己的 Word 模板（.docx）：先按 template check 检查，有问题时不生成；在沙箱中渲染。")
def render_command(form: Form, data_file: str, output: str, pdf: bool, draft: bool, template: str | None) -> None:
    """把申请数据生成为表单的 Word 文档；有错误时不生成（除非 --draft）。"""
    out = _output(output, ".docx", data_file, template)
    own = _own_template(template, form)  # before the data is read: a template with problems writes nothing
    data = _load(data_file)
    try:
        document = rendering.render(form, data, draft=draft, template=own)
    except rendering.NotValid as refused:
        click.echo(terminal_text.report_text(dataclasses.replace(refused.report, file=data_file)))
        click.echo(f"shenbao: {data_file}: {refused}", err=True)
        sys.exit(1)
    _written(_save_docx(out, document, pdf))


def _template(path: str | None) -> bytes | None:
    return files.read_input(path) if path else None


def _own_template(path: str | None, target: Form) -> bytes | None:
    """A user's own template for ``target`` (``--template``), linted first as ``template check`` lints it: a
    problem stops the command before anything is written (exit 2, each finding named)."""
    content = _template(path)
    if content is not None and path is not None:
        template_check.require_clean(content, target, path)
    return content


_TEMPLATE_HELP = ("本机关自己的通知或证书模板（.docx，可由 shenbao template new 生成后在 Word 中修改）；"
                  "先按 template check 检查，有问题时不生成任何文件；在沙箱中渲染，页眉、页脚、脚注中的标记也会填写。")


@cli.command("decide")
@click.argument("form", type=FORM, metavar="表单ID")
@click.argument("application", metavar="申请.json")
@click.option("-o", "--output", required=True, metavar="通知.docx", help="要生成的通知（.docx）。")
@click.option("--office", "office_file", metavar="发文机关.toml",
              help="发文机关信息（.toml 或 .json：发文机关、署名、印发机关……；用 shenbao office init 生成后填写）。")
@click.option("--decision", "decision_file", metavar="决定.json",
              help="本次决定的事项（.json 或 .toml：文号、日期、证书编号等，通知中的任何字段；"
                   "一份完整的通知 JSON 也可单独使用）。")
@click.option("--pdf", is_flag=True, help="同时在旁边生成 PDF。")
@click.option("--sign", is_flag=True, help="给生成的 PDF 加数字签名（须 --key；隐含 --pdf）。")
@click.option("--key", metavar="机关.p12", help="与 --sign 同用：本机关的签名密钥（PKCS#12）。")
@click.option("--password-file", metavar="文件", help="与 --sign 同用：从此文件的第一行读取密钥密码。")
@click.option("--template", metavar="模板.docx", help=_TEMPLATE_HELP)
def decide_command(form: Form, application: str, output: str, office_file: str | None, decision_file: str | None,
                   pdf: bool, sign: bool, key: str | None, password_file: str | None, template: str | None) -> None:
    """对申请作出决定：符合条件时生成批准通知，不符合时生成列明每项未通过条款的不予通过通知。

    本机关填写的部分只取自 --office 和 --decision，本工具不会编造任何一项。有 --office 时通知印有验证码和二维码
    （文号和通知数据的 SHA-256 前几位）；--sign 给 PDF 加数字签名。
    退出码：0 已生成批准通知；1 已生成不予通过通知；2 未生成任何文件（尚有待办事项、本机关填写的部分不完整，
    或文件无法使用）。"""
    out = _output(output, ".docx", application, office_file, decision_file, template)
    signer = _signer(sign, key, password_file)
    data = _load(application)
    profile = _load(office_file) if office_file else {}
    facts = _load(decision_file) if decision_file else {}
    own = _template(template)  # linted in decide against the notice the decision sends
    decided = decision.decide(form, data, profile, facts, template=own, template_name=template or "模板")
    click.echo(terminal_text.report_text(dataclasses.replace(decided.report, file=application)))
    if decided.verdict == "pending":
        waiting = "；".join(f"{f.title}（{f.path}）：{f.message}" for f in decided.pending)
        click.echo(f"shenbao: {application}: 尚有待办事项，暂不能作出决定，未生成通知：{waiting}", err=True)
        sys.exit(2)
    assert decided.notice is not None and decided.notice_report is not None
    if decided.document is None:
        _refuse_notice(decided, office_file, decision_file)
    document = decided.document
    if office_file:  # an issued notice: its verification code beside the signatory
        from .verification_code import issued

        document = issued(decided.notice, decided.data, document, profile)
    _written(_save_docx(out, document, pdf or sign, signer), f"（{decided.words}：{decided.notice.title}）")
    sys.exit(0 if decided.approved else 1)


def _refuse_notice(decided: decision.Decision, office_file: str | None, decision_file: str | None) -> NoReturn:
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


@cli.group("office", context_settings=CONTEXT)
def office_group() -> None:
    """发文机关信息：由谁发文、署名、印发、联系。"""


@office_group.command("init")
@click.option("-o", "--output", default="office.toml", show_default=True, metavar="文件.toml",
              help="要写出的发文机关信息文件（.toml）。")
def office_init_command(output: str) -> None:
    """写出一份空白的发文机关信息文件，每项都有说明，由本机关逐项填写。"""
    out = _output(output, ".toml")
    if out.exists():
        raise UnusableInput(output, "文件已存在，不会覆盖；请换一个文件名或先移走它 (exists)")
    files.write_bytes(out, office.profile_template().encode("utf-8"))
    click.echo(f"已生成 {output}：请逐项填写后用于 shenbao decide --office {output}")


@cli.command("extract")
@click.argument("form", type=FORM, metavar="表单ID")
@click.argument("paths", nargs=-1, required=True, metavar="文件...")
@click.option("-o", "--output", metavar="输出.json", help="把读出的数据写入此 JSON 文件（只读一个文件时）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出数据、审查结果和每个字段的位置。")
@click.option("-j", "--jobs", type=int, default=0, metavar="进程数", help="使用的进程数（默认：CPU 核数）。")
def extract_command(form: Form, paths: tuple[str, ...], output: str | None, as_json: bool, jobs: int) -> None:
    """从提交的 PDF 或 Word 文件中读回表单数据，并按政策条件审查。"""
    if output and len(paths) > 1:
        raise click.UsageError("-o 只用于一个文件；多个文件请用 --json")
    out = _output(output, ".json", *paths) if output else None
    results = extraction.extract_many([(form, path) for path in paths], jobs or os.cpu_count() or 1)
    usable = [r for r in results if isinstance(r, extraction.Extraction)]
    for problem in (r for r in results if not isinstance(r, extraction.Extraction)):
        click.echo(f"shenbao: {problem}", err=True)
    if out and usable:
        files.write_json(out, usable[0].data)
    if as_json:
        payload = [r.as_dict() for r in usable]
        click.echo(files.json_text(payload[0] if len(paths) == 1 and usable else payload), nl=False)
    elif not out:
        for result in usable:
            click.echo(terminal_text.extraction_text(result))
    if len(paths) > 1:
        click.echo(terminal_text.extraction_summary(paths, results), err=True)
    failed = any(not r.ok for r in usable)
    sys.exit(2 if len(usable) < len(results) else (1 if failed else 0))


@cli.command("batch")
@click.argument("form", type=FORM, metavar="表单ID")
@click.argument("rows", metavar="表格", required=False)
@click.option("-o", "--out", "out_dir", metavar="目录", help="存放生成文档的目录（--check 时不需要）。")
@click.option("--name", default="{__row__}", show_default=True, metavar="格式",
              help="文件名格式，如 '{enterprise.uscc}-{enterprise.name}'（{__row__} 为行号）。")
@click.option("--defaults", metavar="共用.json", help="各行共用的数据（JSON：发文机关、文号、日期……）。")
@click.option("-j", "--jobs", type=int, default=0, metavar="进程数", help="使用的进程数（默认：CPU 核数）。")
@click.option("--resume", is_flag=True, help="保留已生成的完整文档，只生成其余的。")
@click.option("--one", is_flag=True, help="所有行合为一份文档，作为其中表格的各行（公示名单）。")
@click.option("--pdf", is_flag=True, help="同时把每份文档转为 PDF（LibreOffice，多份一次转换）。")
@click.option("--merge", metavar="合并.docx", help="同时合并为一份 .docx，便于打印。")
@click.option("--zip", "zip_path", metavar="文档.zip", help="同时打包为一个 .zip。")
@click.option("--check", "check_only", is_flag=True, help="只读取并审查每一行，报告有误和重复的行，不生成任何文件。")
@click.option("--quiet", is_flag=True, help="不显示进度条。")
@click.option("--from-ledger", is_flag=True,
              help="不用表格，从台账生成：台账中已作出决定的申请的通知，发文字号、证书编号由台账分配并记录。")
@click.option("--status", type=click.Choice(["通过", "不予通过"]), default="通过", show_default=True, metavar="状态",
              help="与 --from-ledger 同用：为此状态（通过、不予通过）的申请生成通知。")
@click.option("--db", envvar="SHENBAO_DB", default="ledger.db", show_default=True, metavar="台账",
              help="与 --from-ledger 同用：台账数据库（文件路径或 SQLAlchemy 地址；也可用环境变量 SHENBAO_DB）。")
@click.option("--office", "office_file", metavar="发文机关.toml",
              help="与 --from-ledger 同用：发文机关信息，含编号规则 [numbering]（shenbao office init）。")
@click.option("--decision", "decision_file", metavar="决定.json",
              help="与 --from-ledger 同用：本次发文的事项（成文日期等；编号由台账分配，不写）。")
@click.option("--sign", is_flag=True, help="给每份 PDF 加数字签名（须 --key；隐含 --pdf）。")
@click.option("--key", metavar="机关.p12", help="与 --sign 同用：本机关的签名密钥（PKCS#12）。")
@click.option("--password-file", metavar="文件", help="与 --sign 同用：从此文件的第一行读取密钥密码。")
@click.option("--template", metavar="模板.docx", help=_TEMPLATE_HELP)
@click.option("--cluster", metavar="tcp://主机:8786",
              help="在 Dask 分布式集群上生成（调度器地址）：各 worker 检查、生成文档并转换 PDF，本机按行序写出文档、"
                   "PDF 和 manifest.csv，与本机运行相同。"
                   "须安装 shenbao-toolkit[cluster]，见 docs/scale.md。")
def batch_command(form: Form, rows: str | None, out_dir: str | None, name: str, defaults: str | None, jobs: int,
                  resume: bool, one: bool, pdf: bool, merge: str | None, zip_path: str | None, check_only: bool,
                  quiet: bool, from_ledger: bool, status: str, db: str, office_file: str | None,
                  decision_file: str | None, sign: bool, key: str | None, password_file: str | None,
                  template: str | None, cluster: str | None) -> None:
    """按表格（.xlsx、.xls、.ods、.csv、.jsonl）每行生成一份通知或证书；有误的行指明行号和原因后跳过。

    --from-ledger：不用表格，为台账中已作出决定的申请生成通知，编号由台账分配，并记录发给谁、哪一份（SHA-256）；
    再次运行不会重复发出。--sign：每份 PDF 加数字签名（密钥只读一次）。"""
    signer = _signer(sign, key, password_file)
    own = _own_template(template, form)  # before anything is written
    if from_ledger:
        from .cli_ledger import batch_from_ledger

        refused = [flag for flag, given in (("--resume", resume), ("--one", one), ("--check", check_only),
                                            ("--defaults", defaults), ("--cluster", cluster)) if given]
        batch_from_ledger(form, rows, out_dir, name=name, jobs=jobs, pdf=pdf, merge=merge, zip_path=zip_path,
                          quiet=quiet, status=status, db=db, office_file=office_file, decision_file=decision_file,
                          refused=refused, signer=signer, template=own)
    if rows is None:
        raise click.UsageError("缺少参数 表格（或用 --from-ledger 从台账生成）")
    merge_out = _output(merge, ".docx", rows, defaults) if merge else None
    zip_out = _output(zip_path, ".zip", rows, defaults) if zip_path else None
    shared = _load(defaults) if defaults else {}
    sheet = Path(rows)
    encoding = sheets.sheet_encoding(sheet) if sheet.is_file() else ""
    if encoding not in ("", files.UTF8):
        click.echo(f"shenbao: {rows}: 按 {encoding} 编码读取", err=True)
    batching.check_name(form, name)
    if check_only:
        sheets.check_headers(form, sheet)
        result = batching.check_rows(form, sheets.read_rows(sheet), defaults=shared)
        _print_failures(rows, result)
        click.echo(f"{rows}：共 {len(result.outcomes)} 行，{result.count('ok')} 行可生成，"
                   f"{len(result.failed)} 行有错误或重复（未生成任何文件）")
        sys.exit(1 if result.failed else 0)
    if not out_dir:
        raise click.UsageError("缺少 -o/--out（存放生成文档的目录）")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise UnusableInput(out_dir, "这是一个文件，不是目录；-o 应为存放文档的目录")
    jobs = jobs or os.cpu_count() or 1
    if cluster and one:
        raise click.UsageError("--cluster 不能与 --one 同用（--one 只生成一份文档）")
    remote = _cluster(cluster) if cluster else None  # reached (or refused) before anything is written
    # on a cluster the workers make the PDFs, and the client signs them: the sink makes none
    sink = sinks.FolderSink(out_dir, resume=resume, pdf=pdf and not remote, merge=merge_out, zip_path=zip_out,
                            jobs=jobs, signer=None if remote else signer)
    if one:
        sheets.check_headers(form, sheet, f"{batching.the_list(form)}[]")
        result = batching.one_document(form, sheets.read_rows(sheet), sink, defaults=shared, template=own)
    elif remote:
        sheets.check_headers(form, sheet)
        with _progress(quiet, sheet) as advance, remote:
            result = remote.batch(form, sheets.read_rows(sheet), sink, defaults=shared, name=name, progress=advance,
                                  template=own, pdf=pdf, signer=signer)
    else:
        sheets.check_headers(form, sheet)
        with _progress(quiet, sheet) as advance:
            result = batching.batch(form, sheets.read_rows(sheet), sink, defaults=shared, name=name, jobs=jobs,
                                    progress=advance, template=own)
    _say_plain(template, result)
    _print_failures(rows, result)
    click.echo(f"{out_dir}：生成 {result.count('written')} 份，跳过 {result.count('skipped')} 份（已存在），"
               f"{len(result.failed)} 行有错误")
    sys.exit(1 if result.failed else 0)


def _cluster(address: str) -> Cluster:
    """A client of the Dask scheduler at ``address`` (``cluster.Cluster``): ``distributed`` imported only now."""
    from .cluster import Cluster

    return Cluster(address)


def _signer(sign: bool, key: str | None, password_file: str | None) -> Any:
    """The office's key (``signing.Signer``) for ``--sign --key``, loaded once; None without ``--sign``."""
    if sign != bool(key):
        raise click.UsageError("--sign 与 --key 须同用：--sign --key 机关.p12")
    if not sign or not key:
        return None
    from .cli_signing import signer

    return signer(key, password_file)


def _say_plain(template: str | None, result: batching.BatchResult) -> None:
    """Once: the template was rendered a document at a time (a construct the fast path does not prepare)."""
    if result.plain:
        click.echo(f"shenbao: {template or '模板'}: {result.plain}", err=True)


def _print_failures(rows: str, result: batching.BatchResult) -> None:
    for outcome in result.failed:
        click.echo(f"shenbao: {rows} 第{outcome.row}行：{outcome.message}", err=True)


class _progress:
    """A rich progress bar with rate and ETA on a terminal; nothing when quiet or not on a terminal."""

    def __init__(self, quiet: bool, sheet: Path) -> None:
        from rich.progress import Progress, TextColumn

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
@click.argument("paths", nargs=-1, required=True, metavar="文档.docx...")
@click.option("--png", is_flag=True, help="同时把每个 PDF 的第 1 页存为 PNG 图片（70 dpi），便于查看。")
def convert_command(paths: tuple[str, ...], png: bool) -> None:
    """把 Word 文档转为 PDF，放在原文件旁边（多个文档一次转换）。"""
    for path in paths:
        files.read_input(path, head=4)  # missing, a folder, unreadable: one Chinese line
    for pdf in convert.to_pdf([Path(p) for p in paths]):
        click.echo(f"已生成 {pdf}")
        if png:
            click.echo(f"已生成 {convert.to_png(pdf, pdf.with_suffix('.png'))}")


@cli.group("template", context_settings=CONTEXT)
def template_group() -> None:
    """Word 模板。"""


@template_group.command("check")
@click.argument("template", metavar="模板.docx")
@click.option("--form", "form", required=True, type=FORM, metavar="表单ID", help="模板对应的表单 ID。")
def template_check_command(template: str, form: Form) -> None:
    """检查模板：Jinja 语法、与表单字段不符的标记、未打印的必填字段。"""
    findings = template_check.check_template(template, form)
    for finding in findings:
        click.echo(f"{template}: {finding.kind} {finding.path}: {finding.message}")
    if not findings:
        click.echo(f"✓ {template}：模板与表单 {form.id} 一致")
    sys.exit(1 if findings else 0)


@template_group.command("new")
@click.argument("notice", type=FORM, metavar="通知ID")
@click.option("-o", "--output", required=True, metavar="模板.docx", help="要生成的模板文件（.docx）。")
def template_new_command(notice: Form, output: str) -> None:
    """生成本机关自己的通知或证书模板的起点：内置版式，首行批注列出全部字段的标记，供在 Word 中修改。"""
    out = _output(output, ".docx")
    if out.exists():
        raise UnusableInput(output, "文件已存在，不会覆盖；请换一个文件名或先移走它 (exists)")
    files.write_bytes(out, template_new.starting_template(notice))
    click.echo(f"已生成 {output}：在 Word 中修改版式和措辞（标记见首行批注），然后用 shenbao template check {output} "
               f"--form {notice.id} 检查，用 --template {output} 批量生成")


# The ledger's commands (toolkit.ledger, SQLAlchemy, imported when they run), shenbao sign, verify and office keygen
# (pyHanko imported when they run), and shenbao serve and shenbao user (FastAPI imported when serve runs).
from . import cli_ledger, cli_signing, cli_web  # noqa: E402

for _command in [*cli_ledger.commands(), *cli_signing.commands(), *cli_web.commands()]:  # intake, ledger, sign …
    cli.add_command(_command)
for _command in cli_signing.office_commands():  # shenbao office keygen
    office_group.add_command(_command)


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
    except KeyboardInterrupt:
        click.echo("shenbao: 已中止 (interrupted)；已完成的部分已保存", err=True)
        sys.exit(130)
    except OSError as exc:  # a read-only folder, a full disk …: one line naming the file
        where = exc.filename or ""
        reason = {13: "没有权限", 28: "磁盘空间不足", 30: "只读文件系统", 21: "这是一个目录", 20: "不是目录"}.get(
            exc.errno or 0, exc.strerror or type(exc).__name__)
        click.echo(f"shenbao: {where}: 无法写入或读取：{reason} ({exc.strerror})", err=True)
        sys.exit(2)
    except RecursionError:
        click.echo("shenbao: 输入的嵌套层数过多，无法处理 (nested too deeply)", err=True)
        sys.exit(2)
    except MemoryError:
        click.echo("shenbao: 输入过大，内存不足，无法处理 (too large)", err=True)
        sys.exit(2)
    except Exception as exc:  # never a traceback for the user; SHENBAO_DEBUG=1 shows it
        if os.environ.get("SHENBAO_DEBUG"):
            raise
        click.echo(f"shenbao: 内部错误 {type(exc).__name__}: {exc}（设置 SHENBAO_DEBUG=1 查看详情）", err=True)
        sys.exit(2)
    sys.exit(0)
