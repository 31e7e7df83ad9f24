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
    """The share of the sample's values read back exactly, and the wrong values no finding points at (a finding
    at the value's JSON pointer, above it or inside it)."""
    want = leaves(sample(FORM))
    got = leaves(result.data)
    wrong = [p for p, v in want.items() if got.get(p) != v]
    flagged = {f.path for f in result.findings}
    unflagged = [p for p in wrong
                 if not any(p == f or p.startswith(f + "/") or f.startswith(p + "/") for f in flagged)]
    return 1 - len(wrong) / len(want), unflagged


@pytest.fixture(scope="module")
def clean(pages: dict[int, list[Path]]) -> toolkit.Extraction:
    """The form printed and scanned at 200 dpi, as an image-only PDF (read once for the module)."""
    pdf, _ = scanned(pages[200], 200)
    return toolkit.extract(FORM, pdf, "scan.pdf")


@pytest.fixture(scope="module", params=[1.5, -1.5], ids=["skew+1.5", "skew-1.5"])
def rough(request: pytest.FixtureRequest, pages: dict[int, list[Path]]) -> toolkit.Extraction:
    """The form scanned at 150 dpi, turned 1.5° either way, grey noise and specks of dirt on it."""
    pdf, _ = scanned(pages[150], 150, skew=request.param, noise=12)
    return toolkit.extract(FORM, pdf, "scan.pdf")


def test_a_clean_200_dpi_scan_is_read_back(clean: toolkit.Extraction) -> None:
    assert clean.kind == "scan"
    accuracy, unflagged = score(clean)
    assert accuracy >= 0.95
    assert unflagged == []
    assert all("confidence" in where for where in clean.fields.values())


def test_a_skewed_noisy_150_dpi_scan_is_read_and_each_wrong_value_flagged(rough: toolkit.Extraction) -> None:
    accuracy, unflagged = score(rough)
    assert accuracy >= 0.85
    assert unflagged == []  # a value is either right or a finding says to check it


def test_a_photo_of_the_first_page_is_read(pages: dict[int, list[Path]]) -> None:
    _, (png, _) = scanned(pages[200], 200, skew=-1.0)
    result = toolkit.extract(FORM, png, "page1.png")
    assert result.kind == "scan"
    assert result.data["enterprise"] == sample(FORM)["enterprise"]
    assert result.data["request"]["type"] == sample(FORM)["request"]["type"]  # a tick box


@pytest.mark.parametrize("skew", [1.5, -0.7, 3.0])
def test_a_turned_page_is_measured_straight(pages: dict[int, list[Path]], skew: float) -> None:
    import numpy as np
    from PIL import Image

    page = Image.open(pages[150][0]).convert("L").rotate(skew, resample=Image.BICUBIC, fillcolor=255)
    assert abs(scan_reading._skew(np.asarray(page)) + skew) < 0.1


def test_a_cells_items_are_numbered_as_printed() -> None:
    numbered = scan_reading._numbered
    assert numbered(["1厦门产业技术研究院", "2.资源配置处"]) == ["1．厦门产业技术研究院", "2．资源配置处"]
    assert numbered(["1.2019年第三季度纪要", "2．答复函"]) == ["1．2019年第三季度纪要", "2．答复函"]
    assert numbered(["1.5万元"]) == ["1.5万元"]  # a figure
    assert numbered(["2019年9月30日联系", "10月9日组织"]) == ["2019年9月30日联系", "10月9日组织"]
    assert numbered(["1厦门产业技术研究院"]) == ["1厦门产业技术研究院"]  # no stop anywhere: not surely a list


def test_low_confidence_is_a_finding() -> None:
    result = toolkit.extraction.Extraction(FORM, "scan.png", {"registrar": "苏丽华限"},
                                           {"/registrar": {"page": 2, "bbox": None, "confidence": 0.62}},
                                           kind="scan")
    (finding,) = result.findings
    assert finding.rule == "extract.low-confidence" and "62%" in finding.message
