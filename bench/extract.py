"""Pages per second of ``shenbao extract`` over a folder of submitted PDFs, against a plain pdfplumber loop.

The folder: 100 PDFs (by default) of the catalogue's forms, rendered from their samples with figures varied
and converted by LibreOffice in one run (not timed). The baseline opens each file with ``pdfplumber.open``
and calls ``extract_tables`` and ``extract_text`` on every page — and does nothing with the result.
``extract_many`` reads the same pages, finds every field of the form, types and validates it. Like is compared
with like: both sides run on the same number of processes (``--jobs``, 1 by default), after one untimed pass over
one file of each form (imports, compiled checks); the two are run in pairs, ``--repeat`` times, in alternating
order, and the median of the pairs' ratios is printed — of the wall-clock time and of the CPU time the work took
(this process's, or its workers'), which a machine shared with other work disturbs far less. On one process the
two sides take turns file by file within a pair (in alternating order), so a burst of other work falls on both.
Run: ``.venv/bin/python bench/extract.py [--files N] [--jobs J] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def plain_file(path: Path) -> int:
    pages = 0
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_tables()
            page.extract_text()
            pages += 1
    return pages


def plain_loop(paths: list[Path], jobs: int = 1) -> int:
    if jobs <= 1:
        return sum(plain_file(path) for path in paths)
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return sum(pool.map(plain_file, paths, chunksize=max(1, len(paths) // (jobs * 4))))


class Clock:
    """Wall-clock and CPU seconds (of this process and of its finished workers) spent in the runs it timed."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def time(self, run: Any, *args: Any) -> Any:
        wall, cpu = time.perf_counter(), _cpu()
        result = run(*args)
        self.wall += time.perf_counter() - wall
        self.cpu += _cpu() - cpu
        return result


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def one_round(files: list[tuple[str, str]], jobs: int, plain_first: bool) -> tuple[Clock, Clock, int, list[Any]]:
    """One pair of runs over ``files``: the plain loop's clock, ours, the pages and our results. On one process
    the sides alternate file by file; on several, each side runs over all files in turn."""
    plain, ours = Clock(), Clock()
    if jobs > 1:
        sides = [(plain, plain_loop, [Path(p) for _, p in files]), (ours, extract_many, files)]
        made = [clock.time(run, work, jobs) for clock, run, work in (sides if plain_first else sides[::-1])]
        return plain, ours, *(made if plain_first else made[::-1])
    pages, results = 0, []
    for i, (form_id, path) in enumerate(files):
        first = plain_first == (i % 2 == 0)
        if first:
            pages += plain.time(plain_file, Path(path))
        results += ours.time(extract_many, [(form_id, path)], 1)
        if not first:
            pages += plain.time(plain_file, Path(path))
    return plain, ours, pages, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=1, help="processes, the same on both sides (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs (default 3)")
    args = parser.parse_args()
    os.chdir(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        files = submitted(Path(folder), args.files)
        print(f"made {len(files)} PDFs in {time.perf_counter() - started:.1f} s (not timed below)")
        pairs = [(form_id, str(path)) for form_id, path in files]
        warm = list({form_id: (form_id, path) for form_id, path in pairs}.values())  # each form's checks compiled
        extract_many(warm, 1), plain_loop([Path(path) for _, path in warm], 1)  # once, before any run is timed
        walls, cpus = [], []
        for round_ in range(args.repeat):
            plain, ours, pages, results = one_round(pairs, args.jobs, plain_first=round_ % 2 == 0)
            walls.append(plain.wall / ours.wall)
            cpus.append(plain.cpu / ours.cpu)
            print(f"round {round_ + 1}: plain {pages / plain.wall:.1f} pages/s, extract {pages / ours.wall:.1f} "
                  f"pages/s, ratio {walls[-1]:.2f}; CPU: plain {pages / plain.cpu:.1f} pages/s, extract "
                  f"{pages / ours.cpu:.1f} pages/s, ratio {cpus[-1]:.2f}")
    found = sum(not isinstance(r, toolkit.UnusableInput) for r in results)
    fields = sum(len(getattr(r, "fields", {})) for r in results)
    print(f"pages: {pages} in {len(files)} files; {found} read, {fields} fields found and typed")
    print(f"both sides on {args.jobs} process(es); plain = open + extract_tables + extract_text per page")
    print(f"median ratio (extract / plain, {args.repeat} pairs): {statistics.median(walls):.2f} wall-clock, "
          f"{statistics.median(cpus):.2f} CPU")
    print(f"ratio: {statistics.median(walls):.2f}")


if __name__ == "__main__":
    main()
