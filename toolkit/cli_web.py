"""The web application's commands: ``shenbao serve`` and ``shenbao user add|list``. A front end like ``cli``: it
parses and prints; the application is ``toolkit.web`` (FastAPI, imported only when ``serve`` runs).

Passwords are never taken on the command line (it shows in the process list and the shell's history): they are
asked for twice at the terminal, or read from a file or from standard input."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli import _Group, _load
from .cli_ledger import _db_option, _open


@click.command("serve", options_metavar="[选项]")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="地址",
              help="监听的地址；0.0.0.0 时局域网内可访问（请在前面配置 HTTPS 反向代理）。")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), metavar="端口",
              help="监听的端口。")
@_db_option
@click.option("--office", "office_file", metavar="机关.toml",
              help="签发通知所用的发文机关信息（shenbao office init 生成后填写）；不指定时不能在网页上签发。")
@click.option("--insecure-cookies", is_flag=True,
              help="允许经普通 HTTP（非本机）登录：仅用于内网测试；正式使用请配置 HTTPS。")
@click.option("--max-upload", default=20, show_default=True, type=click.IntRange(1, 500), metavar="MB",
              help="上传文件的大小上限（MB）。")
@click.option("--key", metavar="机关.p12", help="签发的通知同时生成 PDF 并加数字签名所用的本机关密钥（PKCS#12）。")
@click.option("--password-file", metavar="文件", help="与 --key 同用：从此文件的第一行读取密钥密码。")
@click.option("--office-workers", type=click.IntRange(1, 64), metavar="N",
              help="同时转换 PDF 的 LibreOffice 进程数（默认：CPU 核数，最多 4）。第一次转换时才启动，服务停止时关闭；"
                   "每个约占 250 MB 内存。")
def serve_command(host: str, port: int, db: str, office_file: str | None, insecure_cookies: bool,
                  max_upload: int, key: str | None, password_file: str | None, office_workers: int | None) -> None:
    """启动网页服务：申请人在线填写、检查、下载和提交表单；工作人员登录后处理台账、作出决定、签发通知。"""
    import uvicorn

    from .web import Settings, create_app

    if office_file:
        _load(office_file)  # unreadable: said now, not at the first issuing
    signer = None
    if key:
        from .cli_signing import signer as load_signer

        signer = load_signer(key, password_file)  # asked for once, at the start, never kept on disk
    _open(db, create=True).close()
    sized = {"office_workers": office_workers} if office_workers else {}
    app = create_app(Settings(db=db, office=Path(office_file) if office_file else None,
                              secure_cookies=not insecure_cookies, max_upload=max_upload * 2**20, signer=signer,
                              **sized))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"申报工具箱网页服务：http://{shown}:{port}/ （工作人员入口 /staff/，接口说明 /api/docs；Ctrl-C 停止）")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@click.group("user", cls=_Group)
def user_group() -> None:
    """网页服务的工作人员账号。"""


@user_group.command("add")
@click.argument("name", metavar="用户名")
@_db_option
@click.option("--password-file", metavar="文件", help="从此文件的第一行读取密码（不在命令行上写密码）。")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（供脚本使用）。")
@click.option("--reset", is_flag=True, help="用户已存在时改为设置新密码（其已登录的浏览器全部退出）。")
def user_add_command(name: str, db: str, password_file: str | None, password_stdin: bool, reset: bool) -> None:
    """添加工作人员账号（密码以 argon2 散列保存）。"""
    from .ledger.users import UserProblem, add_user

    password = _password(password_file, password_stdin)
    with _open(db, create=True) as ledger:
        try:
            add_user(ledger, name, password, replace=reset)
        except UserProblem as exc:
            click.echo(f"shenbao: {exc}", err=True)
            sys.exit(2)
    click.echo(f"已{'重设' if reset else '添加'}工作人员「{name.strip()}」：{ledger.name}")


@user_group.command("list")
@_db_option
def user_list_command(db: str) -> None:
    """列出工作人员账号。"""
    from .ledger.users import users

    with _open(db) as ledger:
        for name in users(ledger):
            click.echo(name)


def _password(path: str | None, stdin: bool) -> str:
    from .cli_signing import _read_password

    given = _read_password(path, stdin or not sys.stdin.isatty())
    if given is not None:
        return given.decode("utf-8")
    return str(click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次"))


def commands() -> list[click.Command]:
    """The commands ``cli`` adds."""
    return [serve_command, user_group]
