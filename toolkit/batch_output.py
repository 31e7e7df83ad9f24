"""What a batch run also hands over: one merged .docx for printing, and a .zip of the documents."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.text import WD_BREAK

from .render import Payload, write_atomically


def merge(documents: list[Path], out: Path) -> Path:
    """All ``documents`` in one .docx (docxcompose), each starting on a new page; written atomically."""
    from docxcompose.composer import Composer

    master = Document(str(documents[0]))
    composer = Composer(master)
    for path in documents[1:]:
        master.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        composer.append(Document(str(path)))
    return write_atomically(composer, out)


def zip_documents(documents: list[Path], manifest: Path, out: Path) -> Path:
    """The documents (and their PDFs, where made) with the manifest, in one .zip; written atomically."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in documents:
            archive.write(path, path.name)
            if path.with_suffix(".pdf").exists():
                archive.write(path.with_suffix(".pdf"), path.with_suffix(".pdf").name)
        archive.write(manifest, manifest.name)
    return write_atomically(Payload(buffer.getvalue()), out)
