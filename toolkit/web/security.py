"""Who may do what: staff sign in (a session cookie: random, HTTP-only, Secure, SameSite=Lax; the ledger keeps only
its SHA-256), every state-changing staff request carries the CSRF token of its session — a form's hidden ``csrf``
field or the ``X-CSRF-Token`` header — and the sign-in form itself a double-submit token. Applicants need no
sign-in: their receipt's unguessable link opens their one submission and nothing else."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import Request
from starlette.exceptions import HTTPException

from ..ledger.users import Signed, signed_in

SESSION = "shenbao_session"
PRE_LOGIN = "shenbao_login_csrf"  # the sign-in form's double-submit token


def signed(request: Request) -> Signed | None:
    """The staff member signed in on this browser, once per request."""
    if not hasattr(request.state, "signed"):
        request.state.signed = signed_in(request.app.state.ledger, request.cookies.get(SESSION))
    found: Signed | None = request.state.signed
    return found


def staff_page(request: Request) -> Signed:
    """A staff page: the signed-in member, else off to the sign-in page (and back here after it)."""
    who = signed(request)
    if who is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, headers={"Location": f"/staff/login?next={quote(target)}"})
    return who


def staff_api(request: Request) -> Signed:
    """A staff API call: the signed-in member, else 401; a state change must carry the session's CSRF token."""
    who = signed(request)
    if who is None:
        raise HTTPException(401, "请先登录工作人员账号（/staff/login）")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        same(request.headers.get("x-csrf-token"), who.csrf)
    return who


def same(given: str | None, expected: str) -> None:
    """Refuse a request whose CSRF token is missing or not this session's."""
    if not given or not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(403, "请求缺少有效的安全令牌（CSRF），请刷新页面后重试")


def cookie(request: Request, name: str, value: str, max_age: int | None = None) -> dict[str, object]:
    """The settings of one of our cookies: HTTP-only, SameSite=Lax, Secure unless the server was told otherwise."""
    secure = bool(request.app.state.settings.secure_cookies)
    return {"key": name, "value": value, "max_age": max_age, "httponly": True, "samesite": "lax",
            "secure": secure, "path": "/"}
