"""The signing commands: ``shenbao sign``, ``shenbao verify`` and ``shenbao office keygen`` (and the key of
``shenbao decide --sign``). A front end like ``cli`` (which registers them): it reads the files, asks for the
password, prints and sets the exit code; the work is ``signing``, ``verification_code`` and the ledger's
``verifying``, with pyHanko imported only when a command runs.

A key's password is never taken on the command line (it shows in the process list and the shell's history) and
never printed or logged: it is asked for at the terminal, or read from a file's first line or from standard input.

Exit codes of ``verify``: 0 genuine, 1 not genuine (each reason said), 2 a file that cannot be used.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli import CONTEXT, _Command, _load, _output
from .errors import UnusableInput

if TYPE_CHECKING:
    from cryptography import x509

    from .signing import Signer, Verdict

KINDS = {"unsigned": "没有签名", "altered": "已被改动", "added": "签名后有追加", "untrusted": "签名人不受信任",
         "copied": "验证码不属于本文件", "unknown": "台账中没有", "mismatch": "验证码与台账不符", "revoked": "已撤销"}


def _password_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--password-stdin", is_flag=True, help="从标准输入读取密钥密码（供脚本使用）。")(function)
    return click.option("--password-file", metavar="文件",
                        help="从此文件的第一行读取密钥密码（不在命令行上写密码）。")(function)


def _read_password(path: str | None, stdin: bool) -> bytes | None:
    """The password from ``path``'s first line or standard input's; None when neither was given."""
    if path and stdin:
        raise click.UsageError("--password-file 与 --password-stdin 只能用一个")
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UnusableInput(path, f"无法读取密码文件（{type(exc).__name__}）") from None
        return lines[0].encode("utf-8") if lines and lines[0] else b""
    if stdin:
        return sys.stdin.readline().rstrip("\r\n").encode("utf-8")
    return None


def signer(key: str, password_file: str | None = None, password_stdin: bool = False) -> Signer:
    """The office's key loaded from ``key``: with the password given, else without one, else asked for at the
    terminal (``UnusableInput`` when it cannot be asked for)."""
    from .files import read_input
    from .signing import Signer, SigningError

    data = read_input(key)
    given = _read_password(password_file, password_stdin)
    try:
        return Signer(data, given or None, name=key)
    except SigningError as exc:
        if given is not None:
            raise UnusableInput(key, "无法打开密钥：密码不对，或不是 PKCS#12（.p12/.pfx）文件") from None
        if not sys.stdin.isatty():
            raise UnusableInput(key, f"{exc}；密钥有密码时请用 --password-file 或 --password-stdin 提供") from None
    for _ in range(3):
        typed = click.prompt(f"{key} 的密码", hide_input=True, default="", show_default=False)
        try:
            return Signer(data, typed.encode("utf-8") or None, name=key)
        except SigningError:
            click.echo("密码不对，请再试一次", err=True)
    raise UnusableInput(key, "无法打开密钥：密码不对")


# --- shenbao sign -------------------------------------------------------------------------------------------


@click.command("sign", cls=_Command, context_settings=CONTEXT)
@click.argument("pdf", metavar="通知.pdf")
@click.option("--key", required=True, metavar="机关.p12", help="本机关的签名密钥（PKCS#12：.p12 或 .pfx）。")
@_password_options
@click.option("-o", "--output", metavar="输出.pdf", help="签名后的 PDF（默认：原文件名加 -signed）。")
@click.option("--reason", default="发文机关签发", show_default=True, metavar="事由", help="签名的事由。")
@click.option("--location", default="", metavar="地点", help="签名的地点（可选）。")
def sign_command(pdf: str, key: str, password_file: str | None, password_stdin: bool, output: str | None,
                 reason: str, location: str) -> None:
    """给 PDF 通知或证书加数字签名（PAdES）：签名外观为印章，盖在署名和成文日期上。"""
    from .files import read_input, write_bytes
    from .signing import SigningError, UnusablePdf

    source = Path(pdf)
    out = _output(output or str(source.with_name(f"{source.stem}-signed.pdf")), ".pdf", pdf, key)
    document = read_input(pdf)
    if not document.lstrip()[:5] == b"%PDF-":
        raise UnusableInput(pdf, "不是 PDF 文件")
    loaded = signer(key, password_file, password_stdin)
    try:
        signed = loaded.sign(document, reason=reason, location=location)
    except (SigningError, UnusablePdf) as exc:
        raise UnusableInput(pdf, str(exc)) from None
    write_bytes(out, signed)
    note = "（测试证书签名，不具效力）" if loaded.test_key else ""
    click.echo(f"已签名：{out}（签名人 {loaded.name}，证书 SHA-256 {loaded.fingerprint[:16]}…）{note}")


# --- shenbao office keygen ----------------------------------------------------------------------------------


@click.command("keygen", cls=_Command, context_settings=CONTEXT)
@click.option("-o", "--output", required=True, metavar="测试.p12", help="要生成的测试密钥（PKCS#12）。")
@click.option("--name", "name", default="测试发文机关", show_default=True, metavar="名称",
              help="证书上的机关名称（印章上的文字）。")
@_password_options
def keygen_command(output: str, name: str, password_file: str | None, password_stdin: bool) -> None:
    """生成一把自签名的测试密钥（.p12）和它的证书（.pem）：用它签名的文件都注明“测试证书，不具效力”。

    正式签发请使用 CA 签发给本机关的证书（见 docs/signing.md）。"""
    from .files import write_bytes
    from .signing import certificate_pem, keygen

    out = _output(output, ".p12")
    pem = out.with_suffix(".pem")
    for path in (out, pem):
        if path.exists():
            raise UnusableInput(str(path), "文件已存在，不会覆盖；请换一个文件名或先移走它 (exists)")
    password = _read_password(password_file, password_stdin)
    if password is None and sys.stdin.isatty():
        typed = click.prompt("为测试密钥设置密码（直接回车则不设）", hide_input=True, default="", show_default=False,
                             confirmation_prompt="再输入一次")
        password = typed.encode("utf-8")
    p12 = keygen(name, password or None)
    write_bytes(out, p12)
    write_bytes(pem, certificate_pem(p12, password or None))
    click.echo(f"已生成测试密钥 {out}（{'有' if password else '无'}密码）和证书 {pem}：用它签名的文件均注明"
               f"“测试证书，不具效力”。查验时：shenbao verify 文件.pdf --trust {pem}")


# --- shenbao verify -----------------------------------------------------------------------------------------


@click.command("verify", cls=_Command, context_settings=CONTEXT)
@click.argument("pdf", metavar="文件.pdf")
@click.option("--trust", multiple=True, metavar="证书",
              help="信任的签名证书（.pem、.cer 或无密码的 .p12），可多次指定。")
@click.option("--office", "office_file", metavar="机关.toml",
              help="发文机关信息：信任其中 certificates 所列的证书（路径相对于此文件）。")
@click.option("--db", metavar="台账", help="台账数据库：同时核对文件是否由台账发出、未被改动、未被撤销。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出查验结果。")
def verify_command(pdf: str, trust: tuple[str, ...], office_file: str | None, db: str | None, as_json: bool) -> None:
    """查验一份 PDF 通知或证书：签名是否完好、是否覆盖整个文件、签名人是否可信。

    有台账（--db）时还核对验证码、台账记录和撤销情况。
    退出码：0 真实有效；1 不能确认为真（列明原因）；2 文件无法使用。"""
    from .files import read_input
    from .signing import UnusablePdf

    document = read_input(pdf)
    certificates = _trusted(trust, office_file)
    ledger = None
    if db:
        from .cli_ledger import _open

        ledger = _open(db)
    try:
        from .ledger.verifying import verify_document

        verdict = verify_document(document, certificates, ledger)
    except UnusablePdf as exc:
        raise UnusableInput(pdf, str(exc)) from None
    finally:
        if ledger is not None:
            ledger.close()
    if as_json:
        from .files import json_text

        click.echo(json_text(_as_dict(verdict)), nl=False)
    else:
        click.echo(verdict_text(pdf, verdict))
    sys.exit(0 if verdict.genuine else 1)


def _trusted(paths: Sequence[str], office_file: str | None) -> list[x509.Certificate]:
    from .files import read_input
    from .office import ProfileError, certificate_files
    from .signing import SigningError, certificates

    files = [Path(p) for p in paths]
    if office_file:
        try:
            listed = certificate_files(_load(office_file))
        except ProfileError as exc:
            raise UnusableInput(office_file, str(exc)) from None
        files += [Path(office_file).parent / p for p in listed]
    found: list[x509.Certificate] = []
    for path in files:
        try:
            found += certificates(read_input(path), name=str(path))
        except SigningError as exc:
            raise UnusableInput(str(path), f"{exc}（有密码的 .p12 请改用其证书 .pem）") from None
    return found


def verdict_text(name: str, verdict: Verdict) -> str:
    """The verdict in words, as ``verify`` prints it."""
    lines = [f"{'✓ 真实有效' if verdict.genuine else '✗ 不能确认为真'}：{name}"]
    if verdict.signed:
        when = verdict.signed_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if verdict.signed_at else "未注明"
        lines.append(f"  签名人：{verdict.signer}（证书 SHA-256 {verdict.key}）")
        state = "，".join(text for ok, text in ((verdict.intact, "签名完好"), (verdict.whole, "覆盖整个文件"),
                                                (verdict.trusted, "签名人受信任")) if ok) or "—"
        lines.append(f"  签名时间：{when}；{state}")
        if verdict.reason:
            lines.append(f"  签名事由：{verdict.reason}")
        if verdict.test_key:
            lines.append("  注意：这是测试证书的签名，不具效力")
    lines.append(f"  验证码：{verdict.code or '（无）'}")
    record = verdict.record
    if record is not None:
        valid = f"，有效期至{record.valid_until}" if record.valid_until else ""
        lines.append(f"  台账记录：{record.title} {record.number}，发给{record.to or '（未记）'}，成文日期 "
                     f"{record.date or '（未记）'}{valid}；状态：{record.status}")
        if record.revoked_at is not None:
            lines.append(f"  撤销：{record.revoked_at.astimezone():%Y-%m-%d}，理由：{record.revoked_reason}")
    for note in verdict.notes:
        lines.append(f"  说明：{note}")
    for problem in verdict.problems:
        lines.append(f"  ✗ {KINDS.get(problem.kind, problem.kind)}（{problem.kind}）：{problem.message}")
    return "\n".join(lines)


def _as_dict(verdict: Verdict) -> dict[str, Any]:
    record = verdict.record
    return {"genuine": verdict.genuine, "problems": [{"kind": p.kind, "message": p.message} for p in verdict.problems],
            "signed": verdict.signed, "intact": verdict.intact, "whole": verdict.whole, "trusted": verdict.trusted,
            "signer": verdict.signer, "key_sha256": verdict.key, "test_key": verdict.test_key,
            "signed_at": verdict.signed_at.isoformat() if verdict.signed_at else None, "reason": verdict.reason,
            "code": verdict.code, "notes": list(verdict.notes),
            "record": None if record is None else {**record.public(), "code": record.code,
                                                   "revoked_reason": record.revoked_reason,
                                                   "document_sha256": record.document_sha256}}


def commands() -> list[click.Command]:
    """The commands ``cli`` adds at the top level (``keygen`` goes into ``shenbao office``: ``office_commands``)."""
    return [sign_command, verify_command]


def office_commands() -> list[click.Command]:
    """The commands ``cli`` adds to ``shenbao office``."""
    return [keygen_command]
