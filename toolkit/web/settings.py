"""What the web application is started with (``shenbao serve`` options)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEGABYTE = 2**20


def default_office_workers() -> int:
    """One LibreOffice worker a core, at most four: each holds some 250 MB, and a conversion keeps a core busy."""
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass(frozen=True)
class Settings:
    """``db``: the ledger (a SQLite path or SQLAlchemy URL); ``office``: the office profile (``shenbao office
    init``) that notices are issued with, or None (issuing is then refused with a message); ``secure_cookies``:
    cookies only over HTTPS (browsers treat http://127.0.0.1 and localhost as secure too); ``max_upload``: the
    largest file taken, in bytes; ``workers``: background jobs run at once; ``signer``: the office's key, when
    the notices it issues are signed (``shenbao serve --key``); ``office_workers``: LibreOffice workers that
    convert to PDF at once (``shenbao serve --office-workers``; by default one a core, at most four)."""

    db: str | Path = "ledger.db"
    office: str | Path | None = None
    secure_cookies: bool = True
    max_upload: int = 20 * MEGABYTE
    workers: int = 1
    signer: Any = None  # the office's key (signing.Signer), loaded once: issued notices' PDFs are signed
    office_workers: int = field(default_factory=default_office_workers)
