"""A PostgreSQL server of the tests' own — a throwaway cluster in a temporary folder, never the system's and never
a mock — and a new empty database on it for each test that asks (``pg_url``). ``conftest.py`` imports the fixtures."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa


def _postgres_bin() -> Path | None:
    """Debian keeps the server's programs in /usr/lib/postgresql/<version>/bin (the newest is taken)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]), reverse=True)
    if versions:
        return versions[0].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def postgres() -> Iterator[sa.URL]:
    """A PostgreSQL server on a unix socket in a temporary folder, for this test session only; stopped and removed
    afterwards. initdb and postgres refuse to run as root: as root they run as the ``postgres`` user."""
    programs = _postgres_bin()
    if programs is None:
        message = "PostgreSQL is not installed (apt-get install postgresql): the ledger is tested on a real server"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = os.geteuid() == 0  # /tmp: a folder the postgres user can reach, with a short socket path
    folder = Path(tempfile.mkdtemp(prefix="shenbao-pg-", dir="/tmp" if root else None))
    run_as: list[str] = []
    if root:
        shutil.chown(folder, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run([*run_as, str(programs / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                    "--no-locale", "--no-sync"], check=True, capture_output=True)
    options = f"-k {folder} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    pg_ctl = [*run_as, str(programs / "pg_ctl"), "-D", str(data)]
    subprocess.run([*pg_ctl, "-o", options, "-l", str(folder / "log"), "-w", "-t", "60", "start"], check=True,
                   capture_output=True)
    try:
        yield sa.URL.create("postgresql+psycopg", username="postgres", database="postgres",
                            query={"host": str(folder)})
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: sa.URL) -> Iterator[str]:
    """A new, empty database on the session's server."""
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield postgres.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()
