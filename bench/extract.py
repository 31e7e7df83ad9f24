"""Pages per second of ``shenbao extract`` over a folder of submitted PDFs, against a plain pdfplumber loop.

The folder: 100 PDFs (by default) of the catalogue's forms, rendered from their samples with figures varied
and converted by LibreOffice in one run (not timed). The baseline opens each file with ``pdfplumber.open``
and calls ``extract_tables`` and ``extract_text`` on every page — and does nothing with the result.
``shenbao extract`` reads the same pages, finds every field of the form, types and validates it, on as many
processes as there are cores. Run: ``.venv/bin/python bench/extract.py [--files N] [--jobs J]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pdfplumber

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate import _variants  # noqa: E402

import toolkit  # noqa: E402
from toolkit import convert  # noqa: E402
from toolkit.extraction import extract_many  # noqa: E402
from toolkit.files import write_bytes  # noqa: E402
from toolkit.rendering import document  # noqa: E402


def submitted(folder: Path, count: int) -> list[tuple[str, Path]]:
    import random

    rng = random.Random(7)
    forms = [f.id for f in toolkit.forms() if not f.is_notice]
    documents = []
    for i in range(count):
        form_id = forms[i % len(forms)]
        data = _variants(toolkit.load_application(Path("samples") / f"{form_id}.json"), rng)
        documents.append((form_id, write_bytes(folder / f"{i:03d}-{form_id}.docx", document(form_id, data))))
    pdfs = convert.to_pdf([d for _, d in documents], timeout=900)
    return [(form_id, pdf) for (form_id, _), pdf in zip(documents, pdfs, strict=True)]


def plain_loop(paths: list[Path]) -> int:
    pages = 0
    for path in paths:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                page.extract_tables()
                page.extract_text()
                pages += 1
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    os.chdir(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        files = submitted(Path(folder), args.files)
        print(f"made {len(files)} PDFs in {time.perf_counter() - started:.1f} s (not timed below)")
        started = time.perf_counter()
        pages = plain_loop([p for _, p in files])
        baseline = pages / (time.perf_counter() - started)
        started = time.perf_counter()
        results = extract_many([(form_id, str(path)) for form_id, path in files], args.jobs)
        found = sum(not isinstance(r, toolkit.UnusableInput) for r in results)
        fields = sum(len(getattr(r, "fields", {})) for r in results)
        ours = pages / (time.perf_counter() - started)
    print(f"pages: {pages} in {len(files)} files; {found} read, {fields} fields found and typed")
    print(f"plain pdfplumber loop (open + extract_tables + extract_text): {baseline:.1f} pages/s")
    print(f"shenbao extract (-j {args.jobs}): {ours:.1f} pages/s")
    print(f"ratio: {ours / baseline:.2f}")


if __name__ == "__main__":
    main()
