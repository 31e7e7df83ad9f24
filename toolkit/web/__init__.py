"""The web application (``shenbao serve``): applicants fill in, check, download and submit forms in a browser;
staff sign in to work the ledger — intake, decisions, notices, export. It is one more front end on the library's
workflows and the ledger: it parses requests, stores through the ledger and shows results, and never
re-implements a workflow.

>>> from toolkit.web import create_app, Settings                                   # doctest: +SKIP
>>> app = create_app(Settings(db="ledger.db", office="office.toml"))                # doctest: +SKIP
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
