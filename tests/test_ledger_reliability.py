"""The ledger under stress, on one SQLite file: two intakes at once lose nothing and store nothing twice, and an
intake killed with SIGKILL leaves the ledger consistent — every file it finished recorded whole, nothing half —
so that a rerun completes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, render_file, sample
from test_ledger import FORM, variant

SHENBAO = [sys.executable, "-c", "import sys; from toolkit.cli import main; main(sys.argv[1:])"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve applications of twelve enterprises, as Word files."""
    out = tmp_path_factory.mktemp("many")
    rendered = render_file(FORM, sample(FORM), out / "template.docx").read_bytes()
    (out / "template.docx").unlink()
    for n in range(12):
        (out / f"{n:02d}.docx").write_bytes(variant(rendered, n))
    return out


def _intake(db: Path, *paths: Path) -> subprocess.Popen[str]:
    command = [*SHENBAO, "intake", FORM, *map(str, paths), "--db", str(db), "-j", "1", "--quiet"]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _rows(db: Path, query: str) -> list[tuple]:
    connection = sqlite3.connect(db, timeout=30)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def _consistent(db: Path) -> None:
    """Nothing half-written: the database is whole, every submission has its intake event and the findings it
    counted, every foreign key holds, and no file is stored twice."""
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert _rows(db, "PRAGMA foreign_key_check") == []
    assert _rows(db, "SELECT id FROM submissions WHERE id NOT IN "
                     "(SELECT submission_id FROM events WHERE kind = 'intake')") == []
    counted = _rows(db, "SELECT s.id, json_extract(e.detail, '$.errors'), (SELECT count(*) FROM findings f "
                        "WHERE f.submission_id = s.id AND f.severity = 'error') FROM submissions s "
                        "JOIN events e ON e.submission_id = s.id AND e.kind = 'intake'")
    assert all(logged == stored for _, logged, stored in counted)
    assert _rows(db, "SELECT sha256 FROM submissions GROUP BY form, sha256 HAVING count(*) > 1") == []


def test_two_intakes_at_once_lose_nothing(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    files = sorted(folder.glob("*.docx"))
    first, second = _intake(db, *files[:8]), _intake(db, *files[4:])  # four files in both
    for run in (first, second):
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    _consistent(db)
    stored = _rows(db, "SELECT file_name FROM submissions ORDER BY id")
    assert sorted(Path(name).name for (name,) in stored) == [f.name for f in files]
    assert len(_rows(db, "SELECT id FROM events WHERE kind = 'duplicate'")) == 4


def test_an_intake_killed_midway_is_completed_by_a_rerun(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    run = _intake(db, folder)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and run.poll() is None:
        if db.exists() and _count(db) >= 3:
            break
        time.sleep(0.02)
    os.kill(run.pid, signal.SIGKILL)
    run.communicate()
    done = _count(db)
    assert 3 <= done < 12, "the kill did not land midway"
    _consistent(db)
    rerun = _intake(db, folder)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    _consistent(db)
    assert _count(db) == 12
    assert sum(" 重复 " in line for line in out.splitlines()) == done and f"新登记 {12 - done} 份" in out


def _count(db: Path) -> int:
    try:
        return _rows(db, "SELECT count(*) FROM submissions")[0][0]
    except sqlite3.OperationalError:  # not created yet
        return 0
