"""Scans: a form printed, scanned and submitted as an image-only PDF or a photo is read back by OCR, cell by cell;
a value OCR is not sure of is a finding. The scans are made here from the toolkit's own rendered forms."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import sample

import toolkit
from toolkit import scan_reading

# Skipped on a developer's machine without the [ocr] extra; in CI (CI=true) the extra is installed, never skipped.
pytestmark = pytest.mark.skipif(not scan_reading.available() and not os.environ.get("CI"),
                                reason="the [ocr] extra is not installed (make install puts it in .venv)")

FORM = "xm-enterprise-request"  # two pages: tables, tick boxes, lists, narratives; OCR is slow on 2 cores


def leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    """Every value of ``data`` by JSON pointer (a list of objects item by item)."""
    if isinstance(data, dict):
        return {p: v for k, item in data.items() for p, v in leaves(item, f"{prefix}/{k}").items()}
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return {p: v for i, item in enumerate(data) for p, v in leaves(item, f"{prefix}/{i}").items()}
    return {prefix: data}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[Path]]:
    folder = tmp_path_factory.mktemp("scans")
    pdf = folder / f"{FORM}.pdf"
    pdf.write_bytes(toolkit.to_pdf(toolkit.render(FORM, sample(FORM))))
    scans = {}
    for dpi in (200, 150):
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(pdf), str(folder / f"r{dpi}")], check=True)
        scans[dpi] = sorted(folder.glob(f"r{dpi}-*.png"))
    return scans


def scanned(paths: list[Path], dpi: int, skew: float = 0.0, noise: float = 0.0) -> tuple[bytes, list[bytes]]:
    """The pages as an image-only PDF, and each page as a PNG: turned by ``skew`` degrees, with grey noise and
    specks of dirt."""
    import numpy as np
    from PIL import Image

    random = np.random.default_rng(7)
    images = []
    for path in paths:
        image = Image.open(path).convert("L")
        if skew:
            image = image.rotate(skew, resample=Image.BICUBIC, fillcolor=255)
        grey = np.asarray(image).astype(float)
        if noise:
            grey += random.normal(0, noise, grey.shape)
            specks = random.random(grey.shape)
            grey[specks < 0.002], grey[specks > 0.998] = 0, 255
        images.append(Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)))
    pdf = io.BytesIO()
    images[0].save(pdf, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    pngs = []
    for image in images:
        png = io.BytesIO()
        image.save(png, "PNG")
        pngs.append(png.getvalue())
    return pdf.getvalue(), pngs


def score(result: toolkit.Extraction) -> tuple[float, list[str]]:
    """The share of the sample's values read back exactly, and the wrong values no finding points at."""
    want = leaves(sample(FORM))
    got = leaves(result.data)
    wrong = [p for p, v in want.items() if got.get(p) != v]
    flagged = {f.path for f in result.findings}
    unflagged = [p for p in wrong if not any(p.startswith(f) or f.startswith(p) for f in flagged)]
    return 1 - len(wrong) / len(want), unflagged


def test_a_clean_200_dpi_scan_is_read_back(pages: dict[int, list[Path]]) -> None:
    pdf, _ = scanned(pages[200], 200)
    result = toolkit.extract(FORM, pdf, "scan.pdf")
    assert result.kind == "scan"
    accuracy, _ = score(result)
    assert accuracy >= 0.95
    assert all("confidence" in where for where in result.fields.values())


def test_a_photo_of_the_first_page_is_read(pages: dict[int, list[Path]]) -> None:
    _, (png, _) = scanned(pages[200], 200, skew=-1.0)
    result = toolkit.extract(FORM, png, "page1.png")
    assert result.kind == "scan"
    assert result.data["enterprise"] == sample(FORM)["enterprise"]
    assert result.data["request"]["type"] == sample(FORM)["request"]["type"]  # a tick box


def test_low_confidence_is_a_finding() -> None:
    result = toolkit.extraction.Extraction(FORM, "scan.png", {"registrar": "苏丽华限"},
                                           {"/registrar": {"page": 2, "bbox": None, "confidence": 0.62}},
                                           kind="scan")
    (finding,) = result.findings
    assert finding.rule == "extract.low-confidence" and "62%" in finding.message
