"""Where the data that ships with the toolkit lives: schemas, rule files, templates, samples.

In an installed wheel they sit inside the package (``toolkit/schemas``); in a source checkout they sit
beside it at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder ``name`` (``schemas``, ``templates``, ``samples``) of the installed toolkit."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"toolkit data folder {name!r} not found beside {_PACKAGE}")
