"""300 certificates on an office's own template against the same 300 on the built-in one (issue 18's "done when").

The office's template is ``shenbao template new``'s starting template with ``证书编号：{{ certificate_number }}``
typed into its footer (python-docx standing in for Word), as ``docs/templates.md`` makes it. Both sides run
``shenbao batch -j 1`` on the same sheet (``bench/batch.py``'s rows), each a process of its own measured alone, the
order turned round each round, ``--reps`` rounds (3). Checked: every office document's footer carries its own
number, and the first rows read as a plain docxtpl render of the office's template does. The last line is
``ratio: X``: documents a second on the office's template over the built-in's (wall time, median of the rounds;
1.0 is as fast). Run: ``.venv/bin/python bench/office_template.py [--rows 300] [--reps 3]`` (about a minute).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from batch import FORM, SHENBAO, Run, alternate, manifest, ratios, run, sheet, side_line, spread, text
from docx import Document

import toolkit
from toolkit import sheets
from toolkit.reading import read
from toolkit.template_new import starting_template

FOOTER = "证书编号：{{ certificate_number }}"


def office_template(path: Path) -> Path:
    document = Document(io.BytesIO(starting_template(FORM)))
    footer = document.sections[0].footer
    footer.is_linked_to_previous = False
    footer.paragraphs[0].text = FOOTER
    document.save(str(path))
    return path


def shenbao_batch(rows_csv: Path, out: Path, *template: str) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    return run([str(SHENBAO), "batch", FORM, str(rows_csv), "-o", str(out), "--name", "{certificate_number}",
                "-j", "1", "--quiet", *template])


def checked(rows_csv: Path, out: Path, template: Path, rows: int, compared: int = 5) -> None:
    """Every row written with its number in the footer; the first ``compared`` as a plain docxtpl render."""
    lines = manifest(out)
    assert len(lines) == rows and all(line["status"] == "written" for line in lines), "not every row was written"
    target, known = toolkit.form(FORM), sheets.columns(toolkit.form(FORM))
    for line, row in zip(lines, sheets.read_rows(rows_csv), strict=True):
        made = out / line["file"]
        number = line["file"].removesuffix(".docx")
        assert Document(str(made)).sections[0].footer.paragraphs[0].text == f"证书编号：{number}", line
        if int(line["row"]) - 1 <= compared:
            plain = out.parent / "plain.docx"
            plain.write_bytes(toolkit.render(FORM, read(target, known.data(row))[0], template=template.read_bytes()))
            assert text(made) == text(plain), f"row {line['row']}: the text differs from a plain docxtpl render"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300, help="certificates in the batch")
    parser.add_argument("--reps", type=int, default=3, help="rounds")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-office-"))
    try:
        rows_csv = sheet(folder / "rows.csv", args.rows)
        template = office_template(folder / "我们的证书.docx")
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start", file=sys.stderr)
        runs = alternate(args.reps, {
            "built-in": lambda: shenbao_batch(rows_csv, folder / "built-in"),
            "office": lambda: shenbao_batch(rows_csv, folder / "office", "--template", str(template))})
        checked(rows_csv, folder / "office", template, args.rows)
        speed = ratios(runs["built-in"], runs["office"], "wall")
        print(f"{args.rows} certificates, shenbao batch -j 1, the same rows (each office document's footer carries "
              "its number; the first read as a plain docxtpl render of the office's template):")
        print(side_line("built-in template", runs["built-in"], args.rows))
        print(side_line("office's template, number in the footer", runs["office"], args.rows))
        print(f"  documents a second, office's template over built-in: {spread(speed)} wall, "
              f"{spread(ratios(runs['built-in'], runs['office'], 'cpu'))} CPU")
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        print(f"ratio: {statistics.median(speed):.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
