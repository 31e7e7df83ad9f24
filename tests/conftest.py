"""Shared helpers of the test suite: the samples, and applying a case's changes to one."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pgserver import pg_url, postgres  # noqa: F401  (a PostgreSQL server of the tests' own, for every test)
from webapp import browser, client, server  # noqa: F401  (the web application's fixtures, for every test)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SCHEMAS = ROOT / "schemas"
CASES = Path(__file__).resolve().parent / "cases"


def sample(form_id: str) -> dict[str, Any]:
    """The committed sample of ``form_id``, numbers as exact decimals (as the CLI reads them)."""
    return json.loads((SAMPLES / f"{form_id}.json").read_text(encoding="utf-8"), parse_float=Decimal)


def changed(data: dict[str, Any], set_: dict[str, Any] | None = None, delete: list[str] | None = None) -> dict:
    """A copy of ``data`` with dotted paths set (``staff.total``, ``ip.0.acquired_date``) or deleted."""
    result = copy.deepcopy(data)
    for path, value in (set_ or {}).items():
        parent, key = _walk(result, path)
        if isinstance(parent, list):
            parent[int(key)] = value
        else:
            parent[key] = value
    for path in delete or []:
        parent, key = _walk(result, path)
        del parent[int(key) if isinstance(parent, list) else key]
    return result


def _walk(data: Any, path: str) -> tuple[Any, str]:
    *parents, last = path.split(".")
    for part in parents:
        data = data[int(part)] if isinstance(data, list) else data.setdefault(part, {})
    return data, last


def form_ids() -> list[str]:
    return sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))


@pytest.fixture(params=form_ids())
def form_id(request: pytest.FixtureRequest) -> str:
    return request.param


def render_file(form_id: str, data: dict[str, Any], out: Path, draft: bool = False,
                template: Path | None = None) -> Path:
    """Render ``data`` without the gate (tests render hostile and incomplete data on purpose) and write ``out``."""
    from toolkit.files import write_bytes
    from toolkit.rendering import document

    return write_bytes(out, document(form_id, data, draft=draft, template=template.read_bytes() if template else None))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``shenbao ARGS`` in this process: the exit code, standard output and standard error."""
    from toolkit.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture
def shenbao(capsys: pytest.CaptureFixture[str]):
    """``shenbao(*args)`` → (exit code, stdout, stderr)."""
    return lambda *args: run_cli(capsys, *args)


def write_json(folder: Path, name: str, data: Any) -> str:
    """``data`` written as ``folder/name`` the way a person's JSON file is (numbers as numbers); its path."""
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False, default=float), encoding="utf-8")
    return str(path)
