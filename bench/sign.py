"""A signed batch against the same batch unsigned: ``shenbao batch --pdf --sign --key`` and ``shenbao batch --pdf``
on the same certificates, the aim being that signing every document costs at most as much again (≤ 2× the time).

Both sides run the whole command as a process of their own on the same .csv (``bench/batch.py``'s sheet), one
process each (``-j 1``), writing .docx and PDF; the signed side also signs every PDF (PAdES, the seal's appearance,
a test key loaded once). The unsigned side's PDFs are the signed side's before signing: checked by the page count
and the words of each (``pdftotext``; the seal's appearance adds its own), and every signed PDF is verified with
the key's certificate. Sides alternate over
``--reps`` rounds; printed are the medians of wall time, the median ratio and its spread.
Run: ``.venv/bin/python bench/sign.py [--documents 500] [--reps 3]`` (LibreOffice's conversion is most of both; five
minutes on two cores at the default 500 documents).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from batch import FORM, SHENBAO, Run, aim, alternate, median, ratios, run, sheet, side_line, spread

from toolkit import signing


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shenbao-bench-sign-") as folder:
        work = Path(folder)
        rows = sheet(work / "rows.csv", args.documents)
        key = work / "office.p12"
        key.write_bytes(signing.keygen("测试发文机关"))
        trust = signing.certificates(signing.certificate_pem(key.read_bytes()))
        common = [str(SHENBAO), "batch", FORM, str(rows), "--name", "{certificate_number}", "-j", "1", "--quiet",
                  "--pdf"]

        def unsigned() -> Run:
            shutil.rmtree(work / "plain", ignore_errors=True)
            return run([*common, "-o", str(work / "plain")])

        def signed() -> Run:
            shutil.rmtree(work / "signed", ignore_errors=True)
            return run([*common, "-o", str(work / "signed"), "--sign", "--key", str(key)])

        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.documents} certificates, "
              "each side one process with its LibreOffice")
        runs = alternate(args.reps, {"unsigned": unsigned, "signed": signed})
        for pdf in sorted((work / "signed").glob("*.pdf")):
            assert signing.verify(pdf.read_bytes(), trust).genuine, f"{pdf.name}: not a valid signature"
            signed_text, plain_text = pdf_text(pdf), pdf_text(work / "plain" / pdf.name)
            assert signed_text.count("\f") == plain_text.count("\f"), f"{pdf.name}: the pages differ"
            missing = set(plain_text.split()) - set(signed_text.split())  # the seal adds its own words only
            assert not missing, f"{pdf.name}: the text differs: {sorted(missing)[:5]}"
        print(side_line("shenbao batch --pdf", runs["unsigned"], args.documents))
        print(side_line("shenbao batch --pdf --sign", runs["signed"], args.documents))
        times = ratios(runs["signed"], runs["unsigned"], "wall")
        print(f"  signed over unsigned, wall: {spread(times)}")
        extra = (median(runs["signed"], "wall") - median(runs["unsigned"], "wall")) / args.documents
        print(f"  signing a document: {extra * 1000:.0f} ms")
        print(aim("a signed batch within 2× the time of the unsigned batch", sorted(times)[len(times) // 2] <= 2))
        print(f"ratio: {sorted(times)[len(times) // 2]:.2f}")


if __name__ == "__main__":
    main()
