"""``pip install .`` gives a working ``shenbao`` anywhere: schemas, rules, templates and samples ship inside
the wheel. The wheel is built here and installed into a fresh virtual environment (its dependencies come from
the test environment through a ``.pth`` file, so nothing is downloaded but the build backend)."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, form_ids


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True)
    return next(out.glob("shenbao_toolkit-*.whl"))


def test_wheel_carries_schemas_rules_and_samples(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for form_id in form_ids():
        assert f"toolkit/schemas/{form_id}.schema.json" in names
        assert f"toolkit/samples/{form_id}.json" in names
        if (ROOT / "schemas" / f"{form_id}.rules.toml").exists():
            assert f"toolkit/schemas/{form_id}.rules.toml" in names
    assert "toolkit/py.typed" in names
    assert "toolkit/fonts/fonts.conf" in names
    for template in (ROOT / "templates").glob("*.docx"):
        assert f"toolkit/templates/{template.name}" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_wheel_validates_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # dependencies from the test environment, but not the project itself
    deps = sysconfig.get_paths()["purelib"]
    Path(site, "deps.pth").write_text(deps + "\n", encoding="utf-8")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    form_id = "tj-productivity-center-application"
    application = tmp_path / "application.json"
    application.write_text((ROOT / "samples" / f"{form_id}.json").read_text(encoding="utf-8"), encoding="utf-8")
    script = ("import sys, toolkit, toolkit.cli; assert 'site-packages' in toolkit.__file__, toolkit.__file__; "
              "sys.argv = ['shenbao'] + sys.argv[1:]; toolkit.cli.main()")
    result = subprocess.run([str(python), "-I", "-c", script, "validate", "--json", form_id, str(application)],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
