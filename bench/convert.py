""".docx → PDF through the toolkit (its pool of long-lived LibreOffice workers) against plain
``soffice --headless --convert-to pdf`` calls of the same documents.

The documents: the certificate notice ``tj-high-tech-certificate`` rendered with ``toolkit.render`` from its sample,
50 of them with different certificate numbers. The plain call runs as a user would type it, at its best: the same
fontconfig file as the toolkit (so the same fonts), a LibreOffice profile of its own that is set up (warm) before
anything is timed. Every PDF is checked on both sides: the same page count (``pdfinfo``) and the same text
(``pdftotext``). The two sides alternate, ``REPS`` times each; the median of each side is printed with the median
of the ratios of the pairs and their spread (lowest–highest).

1. One document, cold: ``shenbao convert X.docx`` in a fresh process (start-up, imports, a worker and its
   LibreOffice started, the conversion, everything stopped at exit) against one plain call. The toolkit starts
   the worker before it imports the rest of the command, and runs LibreOffice with glibc's allocator told to keep
   the large blocks it frees (``convert.office_env``: a third less CPU); the plain call runs as typed. For
   reference (not an aim), the toolkit is then set against the plain call given the same allocator settings.
2. One document, warm: ``toolkit.convert.pdf_of`` in a process whose pool has converted before (the web
   application, a long batch) against one plain call.
3. A batch of 50: ``to_pdf_many(paths, jobs=1)`` — what ``shenbao batch --pdf`` calls — in a fresh process against
   ONE plain call converting all 50 (what the toolkit did before the pool). Time is wall time and CPU time of every
   process of the side (LibreOffice included); CPU seconds a document is the cost per document per core, which
   wall time shows only on an idle machine (this one is shared: the load average is printed). Then the same 50 on
   a warm pool (a long batch, a server).

The aims: cold, the toolkit's ratio ≤ 1.00; warm, "far less" taken as ≤ 0.25 — each judged on the higher of the
median of the pairs' ratios and the ratio of the medians; the batch ≤ 0.1 s of CPU a document. The last line,
``ratio: X``, is the cold one's. The toolkit converts lean copies of the documents (``toolkit.lean_docx``) and the
plain call the documents as rendered: the page and text checks hold across that too.

Run: ``.venv/bin/python bench/convert.py`` (one and a half minutes on two quiet cores, four to five on busy ones).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from toolkit import convert, render

ROOT = Path(__file__).resolve().parent.parent

FORM = "tj-high-tech-certificate"
BATCH = 50
REPS = {"cold": 7, "warm": 7, "batch": 3}
SHENBAO = Path(sys.executable).with_name("shenbao")


def documents(folder: Path, count: int) -> list[Path]:
    """``count`` certificates, each with its own number, rendered through the gate."""
    data = json.loads((ROOT / "samples" / f"{FORM}.json").read_text(encoding="utf-8"), parse_float=Decimal)
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for serial in range(1, count + 1):
        data["number"]["serial"] = serial
        data["certificate_number"] = f"{data['issuer']['code']}{data['number']['year']}-{serial:03d}"
        path = folder / f"证书{serial:03d}.docx"
        path.write_bytes(render(FORM, data))
        made.append(path)
    return made


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of ``command`` and every process it waited for."""
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[:3]} failed: {done.stderr or done.stdout}")
    return wall, children_cpu() - cpu


class Plain:
    """``soffice --headless --convert-to pdf`` with its own warm profile and the toolkit's fontconfig file."""

    def __init__(self, folder: Path, env: dict[str, str] | None = None) -> None:
        self.profile = (folder / "plain-profile").as_uri()
        self.env = {**os.environ, "FONTCONFIG_FILE": str(convert.font_config()), **(env or {})}
        self.soffice = str(convert.soffice_path())

    def __call__(self, docs: list[Path], out: Path) -> tuple[float, float]:
        out.mkdir(parents=True, exist_ok=True)
        return run([self.soffice, f"-env:UserInstallation={self.profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out), *map(str, docs)], self.env)


def pages_and_text(pdf: Path) -> tuple[str, str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return pages, text


def same(toolkit_pdfs: list[Path], plain_pdfs: list[Path]) -> None:
    assert len(toolkit_pdfs) == len(plain_pdfs)
    for mine, theirs in zip(toolkit_pdfs, plain_pdfs, strict=True):
        assert pages_and_text(mine) == pages_and_text(theirs), f"{mine} and {theirs} differ"


def alternate(reps: int, toolkit_side: Callable[[], tuple[float, float]],
              plain_side: Callable[[], tuple[float, float]]) -> dict[str, list[float]]:
    """The two sides in turn (the first pair starts with the plain call, the next with the toolkit …)."""
    times: dict[str, list[float]] = {"toolkit wall": [], "toolkit cpu": [], "plain wall": [], "plain cpu": []}
    for rep in range(reps):
        order = [("plain", plain_side), ("toolkit", toolkit_side)]
        for name, side in order if rep % 2 == 0 else order[::-1]:
            wall, cpu = side()
            times[f"{name} wall"].append(wall)
            times[f"{name} cpu"].append(cpu)
    return times


def ratio(mine: list[float], theirs: list[float]) -> tuple[float, float, float, float]:
    """The median of the pairs' ratios, their lowest and highest, and the ratio of the two medians."""
    ratios = [m / t for m, t in zip(mine, theirs, strict=True)]
    return (statistics.median(ratios), min(ratios), max(ratios),
            statistics.median(mine) / statistics.median(theirs))


def ratio_line(label: str, mine: list[float], theirs: list[float], unit: float = 1.0, what: str = "s") -> str:
    middle, low, high, of_medians = ratio(mine, theirs)
    return (f"{label}: toolkit {statistics.median(mine) / unit:.3f} {what}, plain soffice "
            f"{statistics.median(theirs) / unit:.3f} {what}; ratio {middle:.2f} (spread {low:.2f}–{high:.2f}, "
            f"{len(mine)} pairs; ratio of the medians {of_medians:.2f})")


def worse(mine: list[float], theirs: list[float]) -> float:
    """The ratio an aim is judged on: the median of the pairs' ratios or the ratio of the medians, the higher."""
    middle, _, _, of_medians = ratio(mine, theirs)
    return max(middle, of_medians)


def aim(text: str, met: bool) -> str:
    return f"  AIM {'met' if met else 'NOT met'}: {text}"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-convert-"))
    try:
        docs = documents(folder / "docs", BATCH)
        plain = Plain(folder)
        plain(docs[:1], folder / "warm-up")  # the plain call's profile set up, untimed
        version = subprocess.run([str(convert.soffice_path()), "--version"], capture_output=True, text=True).stdout
        print(f"{' '.join(version.split()[:2])}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
              f"at the start")
        lines: list[str] = []

        # 1. one document, cold
        one = docs[0]
        cold_out = folder / "cold"

        def toolkit_cold() -> tuple[float, float]:
            (one.with_suffix(".pdf")).unlink(missing_ok=True)
            measured = run([str(SHENBAO), "convert", str(one)])
            shutil.copy(one.with_suffix(".pdf"), cold_out / "toolkit.pdf")
            return measured

        cold_out.mkdir()
        cold = alternate(REPS["cold"], toolkit_cold, lambda: plain([one], cold_out / "plain"))
        same([cold_out / "toolkit.pdf"], [cold_out / "plain" / f"{one.stem}.pdf"])
        lines.append(ratio_line("one document, cold (`shenbao convert` in a new process)", cold["toolkit wall"],
                                cold["plain wall"]))
        lines.append(ratio_line("one document, cold, CPU (every process of the side)", cold["toolkit cpu"],
                                cold["plain cpu"], what="s CPU"))
        lines.append(aim("a single conversion costs no more than a plain soffice call (both ratios ≤ 1.00)",
                         worse(cold["toolkit wall"], cold["plain wall"]) <= 1.0))
        tuned = Plain(folder, {"GLIBC_TUNABLES": convert.office_env()["GLIBC_TUNABLES"]})
        cold_tuned = alternate(REPS["cold"], toolkit_cold, lambda: tuned([one], cold_out / "plain-tuned"))
        same([cold_out / "toolkit.pdf"], [cold_out / "plain-tuned" / f"{one.stem}.pdf"])
        lines.append(ratio_line("  for reference: against a plain call with the toolkit's allocator settings",
                                cold_tuned["toolkit wall"], cold_tuned["plain wall"]))

        # 2. one document, warm pool
        data = one.read_bytes()
        convert.pdf_of(data)  # the pool's worker started, untimed
        warm_out = folder / "warm"
        warm_out.mkdir()

        def toolkit_warm() -> tuple[float, float]:
            cpu, started = tree_cpu() + time.process_time(), time.perf_counter()
            pdf = convert.pdf_of(data)
            wall = time.perf_counter() - started
            (warm_out / "toolkit.pdf").write_bytes(pdf)
            return wall, time.process_time() + tree_cpu() - cpu

        warm = alternate(REPS["warm"], toolkit_warm, lambda: plain([one], warm_out / "plain"))
        same([warm_out / "toolkit.pdf"], [warm_out / "plain" / f"{one.stem}.pdf"])
        lines.append(ratio_line("one document, warm pool (`pdf_of` in a process that converted before)",
                                warm["toolkit wall"], warm["plain wall"]))
        lines.append(aim("with a warm pool far less (both ratios ≤ 0.25)",
                         worse(warm["toolkit wall"], warm["plain wall"]) <= 0.25))
        convert.close_pool()

        # 3. a batch of 50
        batch_out = folder / "batch"
        script = ("import sys; from pathlib import Path; from toolkit.convert import to_pdf_many; "
                  "to_pdf_many([Path(p) for p in sys.argv[1:]], jobs=1)")

        def toolkit_batch() -> tuple[float, float]:
            for doc in docs:
                doc.with_suffix(".pdf").unlink(missing_ok=True)
            return run([sys.executable, "-c", script, *map(str, docs)])

        batch = alternate(REPS["batch"], toolkit_batch, lambda: plain(docs, batch_out))
        same([d.with_suffix(".pdf") for d in docs], [batch_out / f"{d.stem}.pdf" for d in docs])
        lines.append(ratio_line(f"a batch of {BATCH}, wall a document (`to_pdf_many`, jobs=1, new process)",
                                batch["toolkit wall"], batch["plain wall"], BATCH))
        lines.append(ratio_line(f"a batch of {BATCH}, CPU a document (every process of the side)",
                                batch["toolkit cpu"], batch["plain cpu"], BATCH, "s CPU"))
        per_document = statistics.median(batch["toolkit cpu"]) / BATCH
        lines.append(aim(f"batch PDF ≤ 0.1 s a document a core ({per_document:.3f} s CPU a document, "
                         "LibreOffice's start-up included)", per_document <= 0.1))

        # steady state: the same 50 on a warm pool, in this process
        convert.pdf_of(data)
        cpu, started = tree_cpu() + time.process_time(), time.perf_counter()
        convert.to_pdf_many(docs, jobs=1)
        wall, cpu = time.perf_counter() - started, time.process_time() + tree_cpu() - cpu
        same([d.with_suffix(".pdf") for d in docs], [batch_out / f"{d.stem}.pdf" for d in docs])
        lines.append(f"a batch of {BATCH} on a warm pool (one worker): {wall / BATCH:.3f} s wall, "
                     f"{cpu / BATCH:.3f} s CPU a document")
        lines.append(aim("batch PDF ≤ 0.1 s a document a core, warm", cpu / BATCH <= 0.1))
        convert.close_pool()

        print("\n".join(lines))
        print(f"outputs checked: page count and text of every PDF equal on both sides; "
              f"load average {os.getloadavg()[0]:.1f} at the end")
        print(f"ratio: {worse(cold['toolkit wall'], cold['plain wall']):.2f}")  # one document, cold
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def tree_cpu() -> float:
    """CPU seconds of this process's live descendants (the pool's workers and their LibreOffice)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parent_of: dict[int, int] = {}
    cpu_of: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent_of[int(entry)] = int(fields[1])
            cpu_of[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    mine, frontier = set(), [os.getpid()]
    while frontier:
        pid = frontier.pop()
        for child, parent in parent_of.items():
            if parent == pid and child not in mine:
                mine.add(child)
                frontier.append(child)
    return sum(cpu_of[p] for p in mine)


if __name__ == "__main__":
    main()
