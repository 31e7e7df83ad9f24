"""The ``shenbao`` command's entry point. For ``shenbao convert`` the first LibreOffice worker is started here,
before the command's modules (click and the rest of ``toolkit.cli``) are imported, so that the office's start-up
and those imports overlap; every other command goes straight to ``toolkit.cli``. Importing a module of the
toolkit never starts anything."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["convert"]:
        from .convert import start_early

        start_early(arguments[1:])
    from .cli import main as command

    command(argv)
