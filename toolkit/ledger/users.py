"""The office's staff who use the web application: users with argon2-hashed passwords (``shenbao user add``) and
their sign-ins — a random session token whose SHA-256 alone the ledger keeps, with the CSRF token of that session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from ..errors import ShenbaoError
from .models import Login, User, now
from .store import Ledger, log

SESSION_HOURS = 12  # a sign-in lasts a working day
MIN_PASSWORD = 8
_HASHER = PasswordHasher()


class UserProblem(ShenbaoError):
    """A user cannot be added or changed as asked."""


@dataclass(frozen=True)
class Signed:
    """Who is signed in on a browser, and the CSRF token its forms must carry."""

    user: str
    csrf: str


def add_user(ledger: Ledger, name: str, password: str, *, replace: bool = False) -> None:
    """Add the user ``name`` (or, with ``replace``, set a new password for it)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise UserProblem("用户名不能为空，且不超过200个字符")
    if len(password) < MIN_PASSWORD:
        raise UserProblem(f"密码至少{MIN_PASSWORD}个字符")
    hashed = _HASHER.hash(password)

    def write(session: Session) -> None:
        existing = session.scalar(sa.select(User).where(User.name == name))
        if existing is not None and not replace:
            raise UserProblem(f"用户「{name}」已存在；要改密码请加 --reset")
        if existing is None:
            session.add(User(name=name, password_hash=hashed, active=True, created_at=now()))
        else:
            existing.password_hash, existing.active = hashed, True
            session.execute(sa.delete(Login).where(Login.user_id == existing.id))  # signed out everywhere
        log(session, "user", None, None, name=name, action="reset" if existing else "add")

    ledger.write(write)


def users(ledger: Ledger) -> list[str]:
    with ledger.reading() as session:
        return list(session.scalars(sa.select(User.name).where(User.active).order_by(User.name)))


def sign_in(ledger: Ledger, name: str, password: str) -> tuple[str, Signed] | None:
    """A new session token for ``name`` when ``password`` is right, else None (the same time either way)."""
    with ledger.reading() as session:
        user = session.scalar(sa.select(User).where(User.name == name.strip(), User.active))
    stored = user.password_hash if user else _DUMMY
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    user_id = user.id

    def write(session: Session) -> None:
        moment = now()
        session.add(Login(user_id=user_id, token_sha256=_digest(token), csrf=csrf, created_at=moment,
                          expires_at=moment + dt.timedelta(hours=SESSION_HOURS)))
        session.execute(sa.delete(Login).where(Login.expires_at < moment))

    ledger.write(write)
    return token, Signed(user.name, csrf)


def signed_in(ledger: Ledger, token: str | None) -> Signed | None:
    """Who a session token belongs to while it holds, else None."""
    if not token:
        return None
    with ledger.reading() as session:
        login = session.scalar(sa.select(Login).where(Login.token_sha256 == _digest(token))
                               .options(sa.orm.joinedload(Login.user)))
        if login is None or login.expires_at < now() or not login.user.active:
            return None
        return Signed(login.user.name, login.csrf)


def sign_out(ledger: Ledger, token: str | None) -> None:
    if token:
        ledger.write(lambda session: session.execute(sa.delete(Login).where(Login.token_sha256 == _digest(token))))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))  # verified against when no such user: no timing difference
