"""The intake ledger (台账): every submission a programme receives — who applied, what they claimed, what the check
found, what was decided, which notice went out under which number — kept in a database (SQLite by default, any
SQLAlchemy URL such as a shared PostgreSQL server) and logged event by event.

The ledger is one more user of the library's workflows: ``intake`` extracts and checks with them,
``decide_submission`` decides with them, ``issue`` renders with their batch; it adds what they never do —
remembering, and numbering. Each name is imported from its module when first used (SQLAlchemy only then).

>>> from toolkit import ledger
>>> with ledger.Ledger("ledger.db") as book:                                            # doctest: +SKIP
...     files, missing = ledger.files_in(["收件/"])
...     received = ledger.intake(book, "tj-high-tech-enterprise-application", files)
...     ruling = ledger.decide_submission(book, received[0].submission, "通过", by="张三")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .statuses import APPROVED, REJECTED, STATUSES, TO_CORRECT, TO_REVIEW, UNREADABLE

if TYPE_CHECKING:
    from .deciding import NotDecidable, Ruling, decide_submission
    from .issuing import LedgerSink, NothingToIssue, issue
    from .receiving import Received, files_in, intake
    from .store import Ledger, UnknownSubmission
    from .verifying import NotRevocable, Record, record_of, revoke, verify_document

_WHERE = {"NotDecidable": "deciding", "Ruling": "deciding", "decide_submission": "deciding",
          "Received": "receiving", "files_in": "receiving", "intake": "receiving",
          "LedgerSink": "issuing", "NothingToIssue": "issuing", "issue": "issuing",
          "Ledger": "store", "UnknownSubmission": "store", "NotRevocable": "verifying", "Record": "verifying",
          "record_of": "verifying", "revoke": "verifying", "verify_document": "verifying"}
__all__ = ["APPROVED", "REJECTED", "STATUSES", "TO_CORRECT", "TO_REVIEW", "UNREADABLE", "Ledger", "LedgerSink",
           "NotDecidable", "NotRevocable", "NothingToIssue", "Received", "Record", "Ruling", "UnknownSubmission",
           "decide_submission", "files_in", "intake", "issue", "record_of", "revoke", "verify_document"]


def __getattr__(name: str) -> Any:
    """The public names, imported from their modules on first use (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'toolkit.ledger' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value
