"""``pip install .`` gives a working ``shenbao`` anywhere: schemas, rules, templates and samples ship inside
the wheel. The wheel is built here and installed into a fresh virtual environment (its dependencies come from
the test environment through a ``.pth`` file, so nothing is downloaded but the build backend)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from importlib.metadata import packages_distributions
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


# What the project declares: pyproject.toml's requirements by normalised name, and constraints.txt's pins.

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _name(requirement: str) -> str:
    """``python-docx`` of ``"python_docx>=1.1 ; python_version < '4'"``: the normalised distribution name."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _declared(*extras: str) -> set[str]:
    requirements = PROJECT["dependencies"] + [r for extra in extras for r in PROJECT["optional-dependencies"][extra]]
    return {_name(r) for r in requirements}


def _third_party_imports(directory: Path) -> dict[str, set[str]]:
    """The top-level modules that the code under ``directory`` imports (lazily inside a function too) and that are
    neither the standard library nor the project's own, each with the files importing it."""
    local = {"toolkit"} | {p.stem for p in directory.glob("*.py")}  # tests' and benchmarks' sibling modules
    found: dict[str, set[str]] = {}
    for path in sorted(directory.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    return found


TOOL_EXTRAS = ("test", "dev")
# A module that is not installed here (an extra left out) cannot be looked up: its distribution is its own name, or
# one of these.
DISTRIBUTIONS = {"cv2": ["opencv-python", "opencv-python-headless", "opencv-contrib-python"], "PIL": ["pillow"],
                 "yaml": ["pyyaml"], "docx": ["python-docx"], "stdnum": ["python-stdnum"], "pdfminer": ["pdfminer.six"]}


@pytest.mark.parametrize(("directory", "tools"), [("toolkit", False), ("tests", True), ("bench", True)])
def test_every_imported_package_is_declared(directory: str, tools: bool) -> None:
    """An import that works only because another package happens to pull its distribution in (jinja2 through
    docxtpl, pdfminer.six through pdfplumber) breaks when that package changes: each is declared itself, the
    package's in ``dependencies`` or a feature's extra, the tests' and benchmarks' in any of them."""
    declared = _declared(*(e for e in PROJECT["optional-dependencies"] if tools or e not in TOOL_EXTRAS))
    providers = packages_distributions()
    undeclared = []
    for module, files in sorted(_third_party_imports(ROOT / directory).items()):
        distributions = {_name(d) for d in providers.get(module) or DISTRIBUTIONS.get(module) or [module]}
        if not distributions & declared:
            undeclared.append(f"{module} ({', '.join(sorted(distributions))}) in {sorted(files)}")
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_constraints_pin_every_declared_package() -> None:
    """``make install`` (and CI) takes its versions from constraints.txt: a requirement added to pyproject.toml
    without ``make constraints`` would be resolved afresh on every install."""
    pinned = {_name(line) for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
              if re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*==", line)}
    missing = sorted(_declared(*PROJECT["optional-dependencies"]) - pinned)
    assert not missing, f"not pinned in constraints.txt, run `make constraints`: {missing}"


def test_tools_are_pinned_to_a_minor_version() -> None:
    """A new release of the linter, the type checker, the test runner or uv changes nothing here until it is taken
    on purpose."""
    extras = PROJECT["optional-dependencies"]
    requirements = {_name(r): r.replace(" ", "") for extra in TOOL_EXTRAS for r in extras[extra]}
    for tool in ("ruff", "pytest", "uv", *({"mypy"} & set(requirements))):
        assert re.fullmatch(rf"{tool}(~=\d+\.\d+\.\d+|==[\d.]+)", requirements[tool]), requirements[tool]


def test_python_floor_is_the_linted_one() -> None:
    """``requires-python`` and ruff's ``target-version`` name the same oldest Python."""
    floor = re.fullmatch(r">=\s*3\.(\d+)", PROJECT["requires-python"])
    assert floor, PROJECT["requires-python"]
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    assert ruff["target-version"] == f"py3{floor.group(1)}"
