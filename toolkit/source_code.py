"""Python source written line by line, as the rule files (``expression.Program``) and the forms' schemas
(``schema_check``) are turned into functions compiled once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class Source:
    """Lines of Python at an indentation ``depth``, and fresh names for the locals they use (``t1``, ``k2`` …)."""

    def __init__(self, depth: int = 0) -> None:
        self.lines: list[str] = []
        self.depth = depth
        self.count = 0

    def local(self, prefix: str = "t") -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """Lines indented under ``header`` (an ``if``, ``else``, ``for``, ``try`` …); ``pass`` when none is written."""
        self.line(header)
        self.depth += 1
        written = len(self.lines)
        try:
            yield
        finally:
            if len(self.lines) == written:
                self.line("pass")
            self.depth -= 1
