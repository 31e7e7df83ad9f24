"""The ledger's schema kept current: the Alembic migrations shipped in ``migrations/`` (so an installed wheel can
migrate), run in code — on first use, and by ``shenbao ledger upgrade``. Two commands starting on a new ledger at
once migrate it once: the migration runs inside a transaction holding SQLite's write lock or a PostgreSQL
advisory lock, and reads the version only once it holds it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..errors import ShenbaoError
from .database import WRITE

MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK = 7_317_253_261  # the PostgreSQL advisory lock taken while migrating ("shenbao" on a phone keypad)


class LedgerTooNew(ShenbaoError):
    """The ledger was migrated by a newer release of the toolkit than this one."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head() -> str:
    """The revision the migrations shipped with this release end at."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


@cache
def _known() -> frozenset[str]:
    return frozenset(s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions())


def current(connection: sa.Connection) -> str | None:
    """The revision the ledger's database is at (None: no ledger yet)."""
    return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        return current(connection) == head()


def upgrade(engine: sa.Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the ledger to ``revision`` (every row kept); the revisions before and after."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:  # a table rebuilt by a migration must not cascade or be refused by its own foreign keys
            _pragma(connection, "foreign_keys = OFF")
        try:
            with connection.execution_options(**{WRITE: True}).begin():
                if engine.dialect.name == "postgresql":
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
                before = current(connection)
                _refuse_unknown(before)
                config = _config()
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                after = current(connection)
                if sqlite:
                    _check_foreign_keys(connection)
        finally:
            if sqlite:
                _pragma(connection, "foreign_keys = ON")
    return before, after


def _pragma(connection: sa.Connection, pragma: str) -> None:
    """A SQLite pragma outside any transaction (inside one, ``foreign_keys`` is silently ignored)."""
    connection.connection.driver_connection.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]


def ensure_current(engine: sa.Engine) -> None:
    """Migrate the ledger if it is behind (or new); a ledger of a newer release is refused."""
    with engine.connect() as connection:
        revision = current(connection)
    _refuse_unknown(revision)
    if revision != head():
        upgrade(engine)


def _refuse_unknown(revision: str | None) -> None:
    if revision is not None and revision not in _known():
        raise LedgerTooNew(f"台账数据库的版本 {revision} 比本工具新（本工具为 {head()}），请先升级 shenbao-toolkit")


def _check_foreign_keys(connection: sa.Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise ShenbaoError(f"迁移后台账的外键不一致（{len(broken)} 处），已回滚，台账保持原样")
