"""``shenbao batch --cluster`` on a local Dask cluster of two worker processes, against local runs of the same sheet.

Rows: certificates (``bench/batch.py``'s sheet). Two parts: ``.docx`` only (``--rows``, 2,000) and with ``--pdf``
(``--pdf-rows``, 60). Three sides, each ``shenbao batch --name {certificate_number} --quiet`` as a process of its
own: ``-j 1``, ``-j 2``, and ``--cluster`` on a ``LocalCluster`` of 2 worker processes of 1 thread each, started by
this script and kept for every round (workers are long-lived: each keeps its LibreOffice pool; one run of every
side before the rounds, not counted, starts them and warms the caches). The sides alternate (the order turned
round each round), ``--reps`` rounds (3).

Checked: the cluster's folder is the ``-j 1`` folder — the same file names, the same ``.docx`` bytes, the same
``manifest.csv`` bytes; with ``--pdf`` the same PDF names, each PDF's text (``pdftotext``) the same.

Printed for each side: the median wall time with its spread (lowest–highest), documents/s, documents/s per core
it uses (``-j 1``: one; ``-j 2`` and the cluster: two), the CPU seconds of the command's process (LibreOffice
included, from ``wait4``) and, for the cluster, of the two workers (their LibreOffice included, from ``psutil``),
and documents per worker CPU second: what one free core would make. The machine is shared: the load average is
printed at the start and the end; the wall times are only what this load allowed. Last, the client's own cost: its
CPU seconds for a one-row sheet (start-up: imports, connecting, the template) and, beyond it, per document — the
rate no number of workers can take the client past.
Run: ``.venv/bin/python bench/cluster.py [--rows 2000] [--pdf-rows 60] [--reps 3] [--dir DIR]`` (about five
minutes on two busy cores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batch import FORM, SHENBAO, Run, alternate, manifest, run, sheet

WORKERS = 2


@dataclass
class ClusterRun:
    """A run of the command, and the CPU seconds the workers spent meanwhile."""

    command: Run
    workers_cpu: float


def cpu_of(pids: list[int]) -> float:
    """The CPU seconds so far of ``pids`` and of every process below them (each worker's LibreOffice)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            for one in [process, *process.children(recursive=True)]:
                times = one.cpu_times()
                total += times.user + times.system
        except psutil.Error:  # gone meanwhile
            continue
    return total


def batch_command(rows_csv: Path, out: Path, *more: str) -> list[str]:
    return [str(SHENBAO), "batch", FORM, str(rows_csv), "-o", str(out), "--name", "{certificate_number}", "--quiet",
            *more]


def measured(command: list[str], out: Path, pids: list[int]) -> ClusterRun:
    shutil.rmtree(out, ignore_errors=True)
    before = cpu_of(pids)
    done = run(command)
    return ClusterRun(done, cpu_of(pids) - before)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def same_output(ours: Path, theirs: Path, rows: int, pdf: bool) -> None:
    """``ours`` is what ``theirs`` (a local ``-j 1`` run) wrote: names, documents, manifest; PDFs by their text."""
    assert len(manifest(theirs)) == rows and all(m["status"] == "written" for m in manifest(theirs))
    assert (ours / "manifest.csv").read_bytes() == (theirs / "manifest.csv").read_bytes(), "manifests differ"
    names = sorted(p.name for p in theirs.iterdir())
    assert sorted(p.name for p in ours.iterdir()) == names, "the file names differ"
    for name in names:
        if name.endswith(".docx"):
            assert (ours / name).read_bytes() == (theirs / name).read_bytes(), f"{name} differs"
        elif name.endswith(".pdf"):
            text = pdf_text(ours / name)
            assert "天津第" in text and text == pdf_text(theirs / name), f"{name}: the PDFs' texts differ"
    assert sum(n.endswith(".pdf") for n in names) == (rows if pdf else 0)


def line(label: str, runs: list[ClusterRun], rows: int, cores: int, cluster: bool) -> str:
    walls = [r.command.wall for r in runs]
    wall = statistics.median(walls)
    rate = [rows / w for w in walls]
    text = (f"  {label}: {wall:.2f} s wall (spread {min(walls):.2f}–{max(walls):.2f}), "
            f"{rows / wall:.0f} documents/s (spread {min(rate):.0f}–{max(rate):.0f}), "
            f"{rows / wall / cores:.0f} per core; command {statistics.median(r.command.cpu for r in runs):.2f} s CPU")
    if cluster:
        workers = statistics.median(r.workers_cpu for r in runs)
        text += f", workers {workers:.2f} s CPU ({rows / workers:.0f} documents per worker CPU second)"
    else:
        text += f" ({rows / statistics.median(r.command.cpu for r in runs):.0f} documents per CPU second)"
    return text


def part(title: str, rows_csv: Path, rows: int, folder: Path, address: str, pids: list[int], reps: int,
         pdf: bool) -> tuple[list[str], float]:
    """The lines of one part, and the median of the cluster's documents/s over -j 1's."""
    more = ("--pdf",) if pdf else ()
    out = {side: folder / side for side in ("j1", "j2", "cluster")}
    sides: dict[str, Callable[[], ClusterRun]] = {
        "j1": lambda: measured(batch_command(rows_csv, out["j1"], "-j", "1", *more), out["j1"], []),
        "j2": lambda: measured(batch_command(rows_csv, out["j2"], "-j", "2", *more), out["j2"], []),
        "cluster": lambda: measured(batch_command(rows_csv, out["cluster"], "--cluster", address, *more),
                                    out["cluster"], pids),
    }
    for warm in sides.values():  # not counted: the workers' LibreOffice started, the caches warm
        warm()
    one = folder / "one"
    if not pdf:  # the client's start-up: the cluster side on a one-row sheet
        one_row = sheet(folder / "one.csv", 1)
        sides["one row"] = lambda: measured(batch_command(one_row, one, "--cluster", address), one, pids)
    runs = alternate(reps, sides)
    same_output(out["cluster"], out["j1"], rows, pdf)
    same_output(out["j2"], out["j1"], rows, pdf)
    lines = [f"{title}: {rows:,} certificates, {reps} rounds (the cluster's folder equal to -j 1's)",
             line("local -j 1", runs["j1"], rows, 1, False),
             line("local -j 2", runs["j2"], rows, 2, False),
             line(f"--cluster, {WORKERS} workers × 1 thread", runs["cluster"], rows, WORKERS, True),
             f"  cluster over -j 1: {ratio(runs['j1'], runs['cluster'])}; over -j 2: "
             f"{ratio(runs['j2'], runs['cluster'])} (documents/s)"]
    if not pdf:
        start = statistics.median(r.command.cpu for r in runs["one row"])
        per_document = (statistics.median(r.command.cpu for r in runs["cluster"]) - start) / rows
        ceiling = f"it takes at most {1 / per_document:,.0f} documents/s, however many workers" if (
            per_document > 0) else "too few rows to tell"
        lines.append(f"  the cluster's client: {start:.2f} s CPU for a one-row sheet (start-up), then "
                     f"{1000 * per_document:.2f} ms CPU a document: {ceiling}")
    return lines, statistics.median(speeds(runs["j1"], runs["cluster"]))


def speeds(local: list[ClusterRun], cluster: list[ClusterRun]) -> list[float]:
    """The cluster's documents/s over the local run's, round by round (the same rows on both sides)."""
    return [a.command.wall / b.command.wall for a, b in zip(local, cluster, strict=True)]


def ratio(local: list[ClusterRun], cluster: list[ClusterRun]) -> str:
    values = speeds(local, cluster)
    return f"{statistics.median(values):.2f}× (spread {min(values):.2f}–{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000, help="rows of the .docx-only part")
    parser.add_argument("--pdf-rows", type=int, default=60, help="rows of the --pdf part (0: none)")
    parser.add_argument("--reps", type=int, default=3, help="rounds of each part")
    parser.add_argument("--dir", help="where the documents are written (default: the system's temporary folder)")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-", dir=args.dir))
    try:
        with (LocalCluster(n_workers=WORKERS, processes=True, threads_per_worker=1, dashboard_address=None) as local,
              Client(local) as client):
            pids: list[int] = list(client.run(os.getpid).values())
            address: Any = local.scheduler_address
            print(f"{os.cpu_count()} cores, load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())} at the "
                  f"start; documents written in {folder.parent}; Python {sys.version.split()[0]}")
            lines, docx_ratio = part(".docx only", sheet(folder / "docx.csv", args.rows), args.rows, folder,
                                     address, pids, args.reps, False)
            if args.pdf_rows:
                lines += part("with --pdf", sheet(folder / "pdf.csv", args.pdf_rows), args.pdf_rows, folder,
                              address, pids, args.reps, True)[0]
        print("\n".join(lines))
        print(f"load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())} at the end")
        print(f"ratio: {docx_ratio:.2f}")  # the cluster's documents/s over -j 1's, .docx only
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
