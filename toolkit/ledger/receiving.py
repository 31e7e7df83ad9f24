"""Receiving (intake): a folder of submitted files into the ledger. Each file is extracted and checked by the library
(``extraction.extract_many``) and recorded in its own transaction — 待补正 with error findings, 待审 when clean,
无法读取 with the reason — so a run killed midway leaves every file it finished recorded, and a rerun records the
rest. A file already in the ledger (the same SHA-256 for the same form) is not stored again; a new submission of an
applicant who submitted before is linked to the earlier one, which is marked 已重新提交 if still undecided.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import fields
from ..catalogue import Form, form
from ..errors import UnusableInput
from ..extraction import Extraction, extract_many
from .models import Finding, Submission, now
from .statuses import OPEN, RESUBMITTED, TO_CORRECT, TO_REVIEW, UNREADABLE
from .store import Ledger, log

SUFFIXES = (".pdf", ".docx")  # what a folder's files are taken for
DUPLICATE = "重复"  # a file the ledger has already: not stored again


@dataclass(frozen=True)
class Received:
    """What became of one file: its submission in the ledger and its status (or ``重复`` with the submission it
    repeats), the errors found, why it could not be read, and the earlier submission it corrects."""

    file: str
    submission: int
    status: str
    errors: int = 0
    reason: str = ""
    previous: int | None = None


def files_in(paths: Iterable[str | Path]) -> tuple[list[Path], list[UnusableInput]]:
    """The files to take in: each file named, and the PDF and Word files inside each folder named (all levels, in
    name order; hidden files and Word's ``~$`` lock files left out); a path that does not exist is a problem."""
    found: list[Path] = []
    problems: list[UnusableInput] = []
    for given in map(Path, paths):
        if given.is_dir():
            found += sorted(p for p in given.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                            and not any(part.startswith((".", "~$")) for part in p.relative_to(given).parts))
        elif given.exists():
            found.append(given)
        else:
            problems.append(UnusableInput(str(given), "文件或目录不存在 (no such file)"))
    return list(dict.fromkeys(found)), problems


def sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # extraction says why it cannot be read


def intake(ledger: Ledger, target: Form | str, files: Sequence[Path], *, jobs: int = 1,
           progress: Callable[[int], None] | None = None) -> list[Received]:
    """Extract, check and record each of ``files`` as a submission of ``target``; what became of each, in order.
    Files the ledger has already are not extracted again."""
    target = form(target)
    tick = progress or (lambda n: None)
    hashes = {path: sha256_of(path) for path in files}
    with ledger.reading() as session:
        known = _known(session, target, [h for h in hashes.values() if h])
    outcomes: dict[Path, Received] = {}
    fresh: list[Path] = []
    first: dict[str, Path] = {}
    for path in files:
        digest = hashes[path]
        if digest in known or (digest and digest in first):
            continue  # recorded below as a duplicate, without reading it again
        fresh.append(path)
        if digest:
            first[digest] = path
    chunk = max(4 * jobs, 8)
    for start in range(0, len(fresh), chunk):
        part = fresh[start:start + chunk]
        for path, result in zip(part, extract_many([(target, p) for p in part], jobs), strict=True):
            outcomes[path] = ledger.write(partial(_record, target=target, path=path, digest=hashes[path],
                                                  result=result))
            tick(1)
    for path in files:
        if path not in outcomes:
            outcomes[path] = ledger.write(partial(_record_duplicate, target=target, path=path, digest=hashes[path]))
            tick(1)
    return [outcomes[path] for path in files]


def record(ledger: Ledger, target: Form, path: Path, digest: str | None,
           result: Extraction | UnusableInput) -> Received:
    """One file already read elsewhere (the web's reading process) into the ledger, as ``intake`` records it."""
    return ledger.write(partial(_record, target=target, path=path, digest=digest, result=result))


def _known(session: Session, target: Form, digests: list[str]) -> set[str]:
    if not digests:
        return set()
    query = sa.select(Submission.sha256).where(Submission.form == target.id, Submission.sha256.in_(digests))
    return {digest for digest in session.scalars(query) if digest}


def _existing(session: Session, target: Form, digest: str | None) -> Submission | None:
    if digest is None:
        return None
    return session.scalar(sa.select(Submission).where(Submission.form == target.id, Submission.sha256 == digest))


def _record_duplicate(session: Session, target: Form, path: Path, digest: str | None) -> Received:
    existing = _existing(session, target, digest)
    assert existing is not None, path  # known by its hash before this run, or recorded earlier in it
    log(session, "duplicate", existing, file=str(path), sha256=digest)
    return Received(str(path), existing.id, DUPLICATE)


def _record(session: Session, target: Form, path: Path, digest: str | None,
            result: Extraction | UnusableInput) -> Received:
    """One file into the ledger, in the caller's transaction (a copy recorded meanwhile is a duplicate)."""
    if _existing(session, target, digest) is not None:
        return _record_duplicate(session, target, path, digest)
    moment = now()
    item = Submission(form=target.id, file_name=str(path), sha256=digest, received_at=moment, updated_at=moment)
    if isinstance(result, Extraction):
        _read_into(item, target, result)
    else:
        item.status, item.reason = UNREADABLE, result.reason
    earlier = _earlier(session, target, item) if item.status != UNREADABLE else None
    item.previous_id = earlier.id if earlier else None
    session.add(item)
    session.flush()
    errors = sum(f.severity == "error" for f in item.findings)
    log(session, "intake", item, file=str(path), sha256=digest, status=item.status, errors=errors,
        reason=item.reason, previous=item.previous_id)
    if earlier is not None and earlier.status in OPEN:
        earlier.status, earlier.updated_at = RESUBMITTED, moment
        log(session, "resubmitted", earlier, by=item.id, file=str(path))
    return Received(str(path), item.id, item.status, errors, item.reason or "", item.previous_id)


def _read_into(item: Submission, target: Form, result: Extraction) -> None:
    """The data, applicant, rules version, findings and status of an extracted submission."""
    applicant = fields.at(result.data, target.applicant, {}) if target.applicant else {}
    applicant = applicant if isinstance(applicant, dict) else {}
    item.data = result.data
    item.applicant_name = _text(applicant.get("name"))
    item.applicant_uscc = (_text(applicant.get("uscc")) or "").replace(" ", "").upper() or None
    item.rules_version = result.report.rules_version if result.report else None
    item.findings = [finding(f, "application") for f in result.findings]
    item.status = TO_CORRECT if any(f.severity == "error" for f in result.findings) else TO_REVIEW


def finding(found: Any, stage: str) -> Finding:
    """A finding of the library (``validation.Finding``) as a row of the ledger."""
    return Finding(rule=found.rule, clause=found.clause or "", path=found.path, title=found.title,
                   severity=found.severity, message=found.message, value=found.value, bound=found.bound,
                   unit=found.unit or "", pending=found.pending, stage=stage)


def _text(value: Any) -> str | None:
    return str(value).strip()[:500] or None if value not in (None, "") else None


def _earlier(session: Session, target: Form, item: Submission) -> Submission | None:
    """The latest earlier submission of the same applicant for the same form (by 统一社会信用代码, else name)."""
    if item.applicant_uscc:
        same = Submission.applicant_uscc == item.applicant_uscc
    elif item.applicant_name:
        same = sa.and_(Submission.applicant_uscc.is_(None), Submission.applicant_name == item.applicant_name)
    else:
        return None
    query = (sa.select(Submission).where(Submission.form == target.id, same, Submission.status != UNREADABLE)
             .order_by(Submission.id.desc()).limit(1))
    return session.scalar(query)
