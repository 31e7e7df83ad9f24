"""Where the documents of a batch go: a folder (with its manifest, and on request PDFs, one merged .docx and a
.zip), a .zip archive, or memory. The ledger will be one more sink.

A sink takes each document as bytes under a file name and answers whether a whole document of that name is
already there (for ``resume``). Every file is written atomically, so a run killed midway — even by SIGKILL —
leaves whole documents and at most stray temporary files, which the next run removes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .files import write_bytes, write_with

MANIFEST = "manifest.csv"


@dataclass
class Outcome:
    """What became of one row: the manifest's line."""

    row: int
    file: str
    status: str  # written | skipped | failed
    message: str = ""
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Sink(Protocol):
    """What a batch hands its documents to."""

    def existing(self, name: str) -> str | None:
        """The SHA-256 of a whole document ``name`` already there (kept on resume), or None."""

    def put(self, name: str, document: bytes) -> None:
        """Keep ``document`` under the file name ``name``."""

    def close(self, outcomes: Sequence[Outcome], complete: bool = True) -> None:
        """Everything is in (or, not ``complete``, the batch stopped midway): write what goes with the documents
        (a manifest, an archive …)."""


class MemorySink:
    """Documents kept in memory, by file name (for tests, the web and the ledger); with a ``signer`` (a
    ``signing.Signer``) each document's PDF is made and signed when the batch ends, and kept beside it."""

    def __init__(self, signer: Any = None) -> None:
        self.documents: dict[str, bytes] = {}
        self.outcomes: list[Outcome] = []
        self.signer = signer
        self.signed: dict[str, str] = {}  # document name → SHA-256 of its signed PDF

    def existing(self, name: str) -> str | None:
        return None

    def put(self, name: str, document: bytes) -> None:
        self.documents[name] = document

    def close(self, outcomes: Sequence[Outcome], complete: bool = True) -> None:
        self.outcomes = list(outcomes)
        names = [o.file for o in outcomes if o.status == "written" and o.file in self.documents]
        if self.signer is None or not names or not complete:
            return
        from .convert import pdfs_of

        for name, pdf in zip(names, pdfs_of([self.documents[n] for n in names]), strict=True):
            signed = self.signer.sign(pdf, reason="签发")
            self.documents[f"{name.rsplit('.', 1)[0]}.pdf"] = signed
            self.signed[name] = sha256(signed)


class FolderSink:
    """Documents written into ``folder``, listed in ``manifest.csv`` with their SHA-256; on request also their
    PDFs (``pdf``, many per LibreOffice run, on ``jobs`` processes), all of them in one .docx for printing
    (``merge``) and in one .zip with the manifest (``zip_path``). With ``resume``, documents already whole are
    kept."""

    def __init__(self, folder: str | Path, *, resume: bool = False, pdf: bool = False, merge: str | Path | None = None,
                 zip_path: str | Path | None = None, jobs: int = 1, signer: Any = None) -> None:
        self.folder, self.resume, self.pdf, self.jobs = Path(folder), resume, pdf or signer is not None, jobs
        self.signer = signer  # a signing.Signer: every PDF signed (PAdES) once made
        self.signed: dict[str, str] = {}  # document name → SHA-256 of its signed PDF
        self.merge = Path(merge) if merge else None
        self.zip_path = Path(zip_path) if zip_path else None
        self.folder.mkdir(parents=True, exist_ok=True)
        for stray in self.folder.glob(".*.tmp"):  # temporary files a killed run left behind
            stray.unlink(missing_ok=True)

    def existing(self, name: str) -> str | None:
        path = self.folder / name
        return sha256(path.read_bytes()) if self.resume and path.is_file() else None

    def put(self, name: str, document: bytes) -> None:
        _write_document(self.folder / name, document)

    def close(self, outcomes: Sequence[Outcome], complete: bool = True) -> None:
        manifest = write_manifest(self.folder / MANIFEST, outcomes)
        documents = [self.folder / name for name in dict.fromkeys(o.file for o in outcomes if o.ok and o.file)]
        if not documents or not complete:
            return
        if self.pdf:
            from .convert import to_pdf_many

            pdfs = to_pdf_many(documents, self.jobs)
            if self.signer is not None:
                self.signed = sign_pdfs(dict(zip((d.name for d in documents), pdfs, strict=True)), self.signer)
        if self.merge:
            merge(documents, self.merge)
        if self.zip_path:
            zip_documents(documents, manifest, self.zip_path)


def sign_pdfs(pdfs: Mapping[str, Path], signer: Any) -> dict[str, str]:
    """Sign each PDF in place (``signer``: a ``signing.Signer``, the key loaded once), each written atomically; the
    SHA-256 of each signed PDF by its document's name."""
    signed = {}
    for name, path in pdfs.items():
        document = signer.sign(path.read_bytes(), reason="签发")
        write_bytes(path, document)
        signed[name] = sha256(document)
    return signed


def _write_document(out: Path, document: bytes) -> None:
    """``files.write_bytes`` for the many documents of a batch, in half the system calls: the folder is there,
    and the temporary file beside ``out`` is made with the permissions ``out`` gets (``open`` under the umask),
    named ``.<name>.<process>.tmp`` — a stray a killed run leaves behind is removed by the next. When that name is
    taken (a second writer of this very name in this process), ``write_bytes`` writes it."""
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except FileExistsError:
        write_bytes(out, document)
        return
    try:
        with open(descriptor, "wb") as handle:
            handle.write(document)
        os.replace(temporary, out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class ZipSink:
    """Documents (and the manifest) in one .zip archive, written atomically when the batch ends."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.buffer = io.BytesIO()
        self.archive = zipfile.ZipFile(self.buffer, "w", zipfile.ZIP_DEFLATED)

    def existing(self, name: str) -> str | None:
        return None

    def put(self, name: str, document: bytes) -> None:
        self.archive.writestr(name, document)

    def close(self, outcomes: Sequence[Outcome], complete: bool = True) -> None:
        self.archive.writestr(MANIFEST, manifest_bytes(outcomes))
        self.archive.close()
        write_bytes(self.path, self.buffer.getvalue())


def manifest_bytes(outcomes: Sequence[Outcome]) -> bytes:
    """``manifest.csv``: row, file, status, message, sha256 — readable by Excel (a BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "file", "status", "message", "sha256"])
    for outcome in outcomes:
        writer.writerow([outcome.row, outcome.file, outcome.status, outcome.message, outcome.sha256])
    return buffer.getvalue().encode("utf-8-sig")


def write_manifest(out: Path, outcomes: Sequence[Outcome]) -> Path:
    return write_bytes(out, manifest_bytes(outcomes))


def merge(documents: list[Path], out: Path) -> Path:
    """All ``documents`` in one .docx (docxcompose), each starting on a new page; written atomically."""
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docxcompose.composer import Composer

    master = Document(str(documents[0]))
    composer = Composer(master)
    for path in documents[1:]:
        master.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        composer.append(Document(str(path)))
    return write_with(out, composer.save)


def zip_documents(documents: list[Path], manifest: Path, out: Path) -> Path:
    """The documents (and their PDFs, where made) with the manifest, in one .zip; written atomically."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in documents:
            archive.write(path, path.name)
            if path.with_suffix(".pdf").exists():
                archive.write(path.with_suffix(".pdf"), path.with_suffix(".pdf").name)
        archive.write(manifest, manifest.name)
    return write_bytes(out, buffer.getvalue())
