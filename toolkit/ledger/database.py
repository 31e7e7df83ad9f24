"""Where the ledger lives: a SQLite file by default — write-ahead log, a busy timeout, and writes that take the
lock when they begin, so that two commands at once wait for each other instead of failing — or any SQLAlchemy URL,
such as a PostgreSQL server an office shares.

``--db`` (or ``SHENBAO_DB``) is either a path (``ledger.db``) or a URL (``postgresql://user@host/ledger``).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from ..errors import UnusableInput

DEFAULT = "ledger.db"
ENVIRONMENT = "SHENBAO_DB"
BUSY_SECONDS = 60  # how long a SQLite writer waits for another one to finish
WRITE = "ledger_write"  # the execution option of a transaction that will write (SQLite: BEGIN IMMEDIATE)


def url_of(db: str | Path) -> sa.URL:
    """The SQLAlchemy URL of ``--db``: a URL as given (``postgresql://`` meaning psycopg 3), a path as SQLite."""
    text = str(db)
    if "://" not in text:
        return sa.URL.create("sqlite+pysqlite", database=str(Path(text).expanduser()))
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError:
        raise UnusableInput(_hidden(text), "不是有效的数据库地址（应为文件路径或 SQLAlchemy URL，"
                                           "如 postgresql://用户@主机/库名）") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def is_sqlite_file(url: sa.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


def describe(url: sa.URL) -> str:
    """The ledger as messages name it: the file, or the URL without its password."""
    return url.database if is_sqlite_file(url) and url.database else url.render_as_string(hide_password=True)


def _hidden(text: str) -> str:
    try:
        return sa.make_url(text).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return text.split("@")[-1]


def engine(db: str | Path | sa.URL) -> sa.Engine:
    """An engine on the ledger; SQLite files set up for many writers at once."""
    url = db if isinstance(db, sa.URL) else url_of(db)
    options: dict[str, Any] = {"json_serializer": dumps, "json_deserializer": loads}
    try:
        if url.get_backend_name() == "sqlite":
            created = sa.create_engine(url, connect_args={"timeout": BUSY_SECONDS}, **options)
            _sqlite_setup(created)
            return created
        return sa.create_engine(url, pool_pre_ping=True, **options)
    except ModuleNotFoundError as missing:
        raise UnusableInput(describe(url), f"缺少数据库驱动 {missing.name}：连接 PostgreSQL 请先安装 "
                                           "pip install 'shenbao-toolkit[postgres]'（psycopg 3）") from None
    except sa.exc.NoSuchModuleError:
        raise UnusableInput(describe(url), f"不支持的数据库类型 {url.drivername}（可用 SQLite 文件或 "
                                           "postgresql://…）") from None


def _sqlite_setup(created: sa.Engine) -> None:
    """WAL (readers never block the writer), a busy timeout, foreign keys enforced; SQLAlchemy, not the driver,
    begins transactions — a writing one with BEGIN IMMEDIATE, so it waits for the lock up front instead of failing
    midway when another writer got there first."""

    @event.listens_for(created, "connect")
    def _connect(connection: Any, record: Any) -> None:
        connection.isolation_level = None
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(created, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(WRITE) else "BEGIN")


def dumps(value: Any) -> str:
    """JSON as the ledger stores it: exact decimals as numbers, dates as ISO text."""
    return json.dumps(value, ensure_ascii=False, default=_plain)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def _plain(value: Any) -> Any:
    if isinstance(value, (Decimal, Fraction)):
        exact = Decimal(value) if isinstance(value, Decimal) else Decimal(value.numerator) / value.denominator
        return int(exact) if exact == exact.to_integral_value() else float(str(exact))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)
