"""The typed errors of the toolkit. Each carries a one-line message meant for the user."""

from __future__ import annotations

import difflib


class ShenbaoError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class SourceError(ShenbaoError):
    """A problem with one named file or input (``source``), for a ``reason`` told to the user."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

    def __reduce__(self) -> tuple[type[SourceError], tuple[str, str]]:  # crosses processes (extraction on many cores)
        return (type(self), (self.source, self.reason))


class UnusableInput(SourceError):
    """An input that cannot be processed at all: missing file, not JSON, not an object, not a PDF."""


class UnknownForm(ShenbaoError):
    """A form id that the catalogue does not know."""

    def __init__(self, form_id: str, known: list[str]) -> None:
        near = difflib.get_close_matches(form_id, known, n=3, cutoff=0.5)
        hint = f"；您是否想输入：{'、'.join(near)}" if near else ("；可用的表单：" + "、".join(known) if known else "")
        super().__init__(f"未知的表单 {form_id!r}{hint}（unknown form; run `shenbao forms`）")
        self.form_id = form_id


class RuleError(ShenbaoError):
    """A rule file that is malformed: an unknown function, bad syntax, a missing key."""


class ConversionError(SourceError):
    """A document that could not be turned into PDF or PNG: converter missing, timed out, or the file rejected."""
