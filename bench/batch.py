"""``shenbao batch`` against a plain docxtpl loop on the same rows, and how the command grows from 1,000 to 10,000 rows.

Rows: certificates (``tj-high-tech-certificate``), the sample with number and name varied, in a .csv (the first
1,000 rows of the 10,000-row sheet are the 1,000-row sheet). Every side runs as a process of its own, on one core,
and is measured alone: wall time, CPU time and peak memory (``ru_maxrss`` of that process, from ``wait4``).

1. Against the plain library, on ``--rows`` rows (300): the baseline reads the same sheet with the toolkit's column
   reading (so that it prints the same values), builds a ``DocxTemplate`` of the same template per row, renders the
   same context in the same sandboxed environment and saves each document — what one writes without the toolkit.
   ``shenbao batch -j 1`` reads the sheet, checks every row, renders from the template prepared once and writes
   each file atomically with a manifest. The text of every document is compared between the two sides.
2. Growth: ``shenbao batch -j 1`` on 1,000 and on 10,000 rows. The manifest's first 1,000 lines are checked equal
   (same files, same SHA-256): the same work per row.

The sides alternate (the first round starts with the baseline, the next with the toolkit …), ``--reps`` rounds
(3); printed are each side's median, the median of the ratios of the rounds and their spread (lowest–highest).
The machine is shared: the load average is printed, and so is what creating a file costs where the documents go
(each document is a new file; on a slow file system that alone is seconds for 10,000). CPU seconds (the process's
own, the kernel's work for it included) are what a run costs on one core: wall time shows that only on an idle
machine, so the 10-second aim is judged on them, the wall time printed beside. The last line is
``ratio: X``, documents a second of ``shenbao batch`` over the plain loop's, wall time, one core each.
Run: ``.venv/bin/python bench/batch.py [--rows 300] [--reps 3] [--dir DIR]`` (three to five minutes on two busy cores).
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import toolkit
from toolkit import sheets

FORM = "tj-high-tech-certificate"
ROOT = Path(__file__).resolve().parent.parent
SHENBAO = Path(sys.executable).with_name("shenbao")
GROWTH = (1_000, 10_000)
K = TypeVar("K")


def sheet(path: Path, rows: int) -> Path:
    """A .csv of ``rows`` certificates: the sample's values, each row with its own number and enterprise name."""
    data = toolkit.load_application(ROOT / "samples" / f"{FORM}.json")
    names = sheets.columns(toolkit.form(FORM)).names
    headers = sheets.headers(toolkit.form(FORM))

    def value(path_: str, i: int) -> object:
        if path_ == "certificate_number":
            return f"津滨高企 2016-{i:05d}"
        if path_ == "enterprise.name":
            return f"天津第{i}号科技有限公司"
        current: object = data
        for part in path_.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if isinstance(current, bool):
            return "是" if current else "否"
        return "、".join(current) if isinstance(current, list) else current

    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for i in range(rows):
            writer.writerow([value(names[h], i) for h in headers])
    return path


def plain_loop(rows_csv: Path, out: Path) -> None:
    """The baseline, run in a process of its own: a plain docxtpl render per row, saved as ``<row>.docx``."""
    from docxtpl import DocxTemplate

    from toolkit.reading import read
    from toolkit.rendering import context, environment, template_source

    target = toolkit.form(FORM)
    source, known, env = template_source(target), sheets.columns(target), environment(False, target)
    out.mkdir(parents=True, exist_ok=True)
    for row in sheets.read_rows(rows_csv):
        data = read(target, known.data(row))[0]
        document = DocxTemplate(io.BytesIO(source))
        document.render(context(data, target=target), jinja_env=env, autoescape=True)
        document.save(str(out / f"{row.number}.docx"))


@dataclass
class Run:
    """One process, measured alone."""

    wall: float
    cpu: float
    peak_mb: float


def run(command: list[str]) -> Run:
    """Wall and CPU seconds and peak memory of ``command``'s process (its own ``rusage``, from ``wait4``)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command[:3])} … failed ({process.returncode}): "
                             f"{errors.read().decode('utf-8', 'replace')}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def shenbao_batch(rows_csv: Path, out: Path) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    return run([str(SHENBAO), "batch", FORM, str(rows_csv), "-o", str(out), "--name", "{certificate_number}",
                "-j", "1", "--quiet"])


def plain(rows_csv: Path, out: Path) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    return run([sys.executable, str(Path(__file__).resolve()), "--plain", str(rows_csv), str(out)])


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


_TEXT = re.compile(r"<w:t(?: [^>]*)?>([^<]*)</w:t>|(<w:br\b[^>]*/>|</w:p>)|<w:tab/>")


def text(path: Path) -> str:
    """A document's text as a reader sees it: runs joined, a line break or a paragraph's end a newline."""
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("word/document.xml").decode("utf-8")
    return "".join(html.unescape(m[1]) if m[1] is not None else "\n" if m[2] else "\t" for m in _TEXT.finditer(xml))


def same_documents(ours: Path, theirs: Path, rows: int) -> None:
    """Every row written on both sides, with the same text."""
    lines = manifest(ours)
    assert len(lines) == rows and all(line["status"] == "written" for line in lines), "not every row was written"
    for line in lines:
        mine, plain_one = text(ours / line["file"]), text(theirs / f"{line['row']}.docx")
        assert mine == plain_one, f"row {line['row']}: the documents' texts differ"


def same_rows(small: Path, large: Path) -> None:
    """The large run's first rows are the small run's, written alike (same file, same SHA-256)."""
    first, second = manifest(small), manifest(large)
    assert all(line["status"] == "written" for line in second), "not every row of the large run was written"
    assert second[: len(first)] == first, "the large run wrote its first rows differently"


def alternate(reps: int, sides: dict[K, Callable[[], Run]]) -> dict[K, list[Run]]:
    """Every side once a round, the order turned round each round."""
    runs: dict[K, list[Run]] = {name: [] for name in sides}
    order = list(sides.items())
    for rep in range(reps):
        for name, side in order if rep % 2 == 0 else order[::-1]:
            runs[name].append(side())
    return runs


def ratios(over: list[Run], under: list[Run], what: str) -> list[float]:
    return [float(getattr(a, what)) / getattr(b, what) for a, b in zip(over, under, strict=True)]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} (spread {min(values):.2f}–{max(values):.2f}, {len(values)} rounds)"


def median(runs: list[Run], what: str) -> float:
    return statistics.median(float(getattr(r, what)) for r in runs)


def side_line(label: str, runs: list[Run], rows: int) -> str:
    return (f"  {label}: {median(runs, 'wall'):.2f} s wall ({rows / median(runs, 'wall'):.0f} documents/s), "
            f"{median(runs, 'cpu'):.2f} s CPU, peak {median(runs, 'peak_mb'):.0f} MB")


def aim(text_: str, met: bool) -> str:
    return f"  AIM {'met' if met else 'NOT met'}: {text_}"


def creating_files(folder: Path, count: int = 1_000) -> float:
    """Seconds to create ``count`` empty files in ``folder`` (then removed): the file system's share of a batch."""
    probe = folder / "probe"
    probe.mkdir()
    started = time.perf_counter()
    for i in range(count):
        (probe / f"{i}.docx").touch()
    seconds = time.perf_counter() - started
    shutil.rmtree(probe)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300, help="rows of the comparison with the plain loop")
    parser.add_argument("--reps", type=int, default=3, help="rounds of each comparison")
    parser.add_argument("--dir", help="where the documents are written (default: the system's temporary folder)")
    parser.add_argument("--plain", nargs=2, metavar=("CSV", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        plain_loop(Path(args.plain[0]), Path(args.plain[1]))
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-", dir=args.dir))
    try:
        small, large = GROWTH
        sheets_ = {rows: sheet(folder / f"{rows}.csv", rows) for rows in {args.rows, small, large}}
        created = creating_files(folder)
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; documents written in "
              f"{folder.parent} (creating 1,000 empty files there: {created:.2f} s)")
        lines: list[str] = []

        # 1. the same rows, the plain loop and shenbao batch
        rows = args.rows
        versus = alternate(args.reps, {"plain": lambda: plain(sheets_[rows], folder / "plain"),
                                       "toolkit": lambda: shenbao_batch(sheets_[rows], folder / "toolkit")})
        same_documents(folder / "toolkit", folder / "plain", rows)
        speed = ratios(versus["plain"], versus["toolkit"], "wall")
        lines.append(f"{rows} certificates, one process each (the text of every document equal on both sides):")
        lines.append(side_line("plain docxtpl loop (a DocxTemplate per row)", versus["plain"], rows))
        lines.append(side_line("shenbao batch -j 1", versus["toolkit"], rows))
        lines.append(f"  documents a second, shenbao batch over the plain loop: {spread(speed)} wall, "
                     f"{spread(ratios(versus['plain'], versus['toolkit'], 'cpu'))} CPU")

        # 2. growth: 1,000 and 10,000 rows
        growth = alternate(args.reps, {small: lambda: shenbao_batch(sheets_[small], folder / "small"),
                                       large: lambda: shenbao_batch(sheets_[large], folder / "large")})
        same_rows(folder / "small", folder / "large")
        wall, cpu = ratios(growth[large], growth[small], "wall"), ratios(growth[large], growth[small], "cpu")
        lines.append(f"shenbao batch -j 1, {small:,} and {large:,} rows (the first {small:,} written alike):")
        lines.append(side_line(f"{small:,} rows", growth[small], small))
        lines.append(side_line(f"{large:,} rows", growth[large], large))
        lines.append(f"  {large:,} rows over {small:,}: {spread(wall)} wall, {spread(cpu)} CPU, peak memory "
                     f"{median(growth[large], 'peak_mb') / median(growth[small], 'peak_mb'):.2f}×")
        lines.append(aim(f"linear: {large:,} rows ≤ 10.5× the time of {small:,}",
                         statistics.median(wall) <= 10.5 and statistics.median(cpu) <= 10.5))
        cpu_large, wall_large = median(growth[large], "cpu"), median(growth[large], "wall")
        lines.append(aim(f"{large:,} notices in under 10 s on one core ({cpu_large:.1f} s CPU, {wall_large:.1f} s wall "
                         "at this load)", cpu_large < 10))
        print("\n".join(lines))
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        print(f"ratio: {statistics.median(speed):.1f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
