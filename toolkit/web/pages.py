"""The HTML of the pages: Jinja templates shipped in the package (autoescaped: every value a person typed is
escaped), with what every page needs — who is signed in, the CSRF token of their forms."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from . import security

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
TEMPLATES.env.globals["version"] = "0.1.0"


def page(request: Request, template: str, /, status_code: int = 200, headers: Mapping[str, str] | None = None,
         **context: Any) -> HTMLResponse:
    """The ``template`` filled with ``context``, the signed-in staff member and their CSRF token."""
    signed = security.signed(request)
    context = {"staff": signed, "csrf": signed.csrf if signed else "", **context}
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status_code,
                                          headers=dict(headers or {}))
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def message(request: Request, status: int, text: str, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """A page that says what went wrong (a 4xx, or the rare 500) in words."""
    titles = {400: "无法处理", 401: "请先登录", 403: "没有权限", 404: "找不到页面", 405: "不支持的操作",
              413: "文件过大", 415: "文件类型不支持", 422: "填写有误"}
    return page(request, "message.html", status_code=status, headers=headers, title=titles.get(status, "出错了"),
                text=text, code=status)
