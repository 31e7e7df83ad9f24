"""What the web application is started with (``shenbao serve`` options)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEGABYTE = 2**20


@dataclass(frozen=True)
class Settings:
    """``db``: the ledger (a SQLite path or SQLAlchemy URL); ``office``: the office profile (``shenbao office
    init``) that notices are issued with, or None (issuing is then refused with a message); ``secure_cookies``:
    cookies only over HTTPS (browsers treat http://127.0.0.1 and localhost as secure too); ``max_upload``: the
    largest file taken, in bytes; ``workers``: background jobs run at once; ``signer``: the office's key, when
    the notices it issues are signed (``shenbao serve --key``)."""

    db: str | Path = "ledger.db"
    office: str | Path | None = None
    secure_cookies: bool = True
    max_upload: int = 20 * MEGABYTE
    workers: int = 1
    signer: Any = None  # the office's key (signing.Signer), loaded once: issued notices' PDFs are signed
