"""Documents per second of ``shenbao batch`` against a plain docxtpl loop, and what 10,000 rows cost.

Rows: certificates (``tj-high-tech-certificate``), the sample with number and name varied, in a .csv.
The baseline builds a new ``DocxTemplate`` per row and renders the same context with the same sandboxed,
escaping environment, then saves it — what one writes without the toolkit. ``shenbao batch`` reads the
sheet, validates every row, renders from the template prepared once and writes each file atomically with a
manifest. Also: peak memory of a 10,000-row run, and ``--pdf``-style conversion (many documents per
LibreOffice run, two runs side by side) against one ``soffice --convert-to`` per document (timed on a
quarter of the documents, at least five). The last line is ``ratio: X`` (one core).
Run: ``.venv/bin/python bench/batch.py [--rows 500] [--memory-rows 10000] [--pdf-docs 40]``.
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docxtpl import DocxTemplate

import toolkit
from toolkit import convert, sheets
from toolkit.rendering import context, environment

FORM = "tj-high-tech-certificate"
ROOT = Path(__file__).resolve().parent.parent


def sheet(path: Path, rows: int) -> Path:
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


def plain_loop(rows: list[dict], out: Path) -> float:
    started = time.perf_counter()
    for i, data in enumerate(rows):
        document = DocxTemplate(str(toolkit.form(FORM).template_path))
        document.render(context(data, target=FORM), jinja_env=environment(False, FORM), autoescape=True)
        document.save(str(out / f"plain-{i}.docx"))
    return len(rows) / (time.perf_counter() - started)


def ours(csv_path: Path, out: Path, jobs: int) -> float:
    started = time.perf_counter()
    outcomes = toolkit.batch(FORM, sheets.read_rows(csv_path), toolkit.FolderSink(out), name="{certificate_number}",
                             jobs=jobs).outcomes
    assert all(o.status == "written" for o in outcomes), [o.message for o in outcomes if o.message][:3]
    return len(outcomes) / (time.perf_counter() - started)


def peak_memory(csv_path: Path, out: Path) -> float:
    command = [sys.executable, "-c", "import sys; from toolkit.cli import main; main(sys.argv[1:])", "batch",
               FORM, str(csv_path), "-o", str(out), "--name", "{certificate_number}", "-j", "1", "--quiet"]
    subprocess.run(command, check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB → MB


def pdf_rates(documents: list[Path], folder: Path) -> tuple[float, float]:
    batched_folder = folder / "batched"
    batched_folder.mkdir()
    copies = [Path(shutil.copy(d, batched_folder / d.name)) for d in documents]
    started = time.perf_counter()
    convert.to_pdf_many(copies, jobs=2)  # as `shenbao batch --pdf -j 2`: two LibreOffice runs side by side
    batched = len(documents) / (time.perf_counter() - started)
    soffice = str(convert.soffice_path())
    started = time.perf_counter()
    for index, document in enumerate(documents[: max(len(documents) // 4, 5)]):  # the slow way, on a quarter
        profile = folder / f"profile-{index}"
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(folder / "single"), str(document)], check=True, capture_output=True)
        shutil.rmtree(profile, ignore_errors=True)
    single = max(len(documents) // 4, 5) / (time.perf_counter() - started)
    return batched, single


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--memory-rows", type=int, default=10000)
    parser.add_argument("--pdf-docs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        rows_csv = sheet(folder / "rows.csv", args.rows)
        known = sheets.columns(toolkit.form(FORM))
        contexts = [known.data(row) for row in sheets.read_rows(rows_csv)]
        (folder / "plain").mkdir()
        # best of three runs each: a shared machine's disk makes single runs noisy
        baseline = max(plain_loop(contexts[: min(len(contexts), 100)], folder / "plain") for _ in range(3))
        one_core = max(ours(rows_csv, folder / f"ours-1-{i}", 1) for i in range(3))
        two_cores = max(ours(rows_csv, folder / f"ours-2-{i}", 2) for i in range(3))
        memory = peak_memory(sheet(folder / "big.csv", args.memory_rows), folder / "big")
        documents = sorted((folder / "ours-1-0").glob("*.docx"))[: args.pdf_docs]
        batched, single = pdf_rates(documents, folder)
    print(f"rows: {args.rows} certificates")
    print(f"plain docxtpl loop (new DocxTemplate per row): {baseline:.1f} documents/s")
    print(f"shenbao batch -j 1: {one_core:.1f} documents/s; -j 2: {two_cores:.1f} documents/s "
          f"(ratio with -j 2: {two_cores / baseline:.1f})")
    print(f"peak memory of {args.memory_rows} rows (-j 1): {memory:.0f} MB")
    print(f"PDF, {len(documents)} documents: {batched:.2f} documents/s in one LibreOffice run, "
          f"{single:.2f} with one soffice per document (ratio {batched / single:.1f})")
    print(f"ratio: {one_core / baseline:.1f}")


if __name__ == "__main__":
    main()
