"""The certificate is a certificate, not a letter: A4 landscape in a double border, its red title on one line, no
page number, its fields as label and value, the award, 署名 and date at the lower right — on one page, also for a
company name of 40 characters."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from conftest import changed, sample
from conftest import render_file as render
from PIL import Image

from toolkit import convert

CERTIFICATE = "tj-high-tech-certificate"
NAME_40 = "天津滨海新区中新生态城海泰中科光电技术研究院股份有限公司第一分公司及其附属研究所"
TWIPS_PER_MM = 1440 / 25.4


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """The sample and the sample with a 40-character company name: (docx, pdf) each."""
    folder = tmp_path_factory.mktemp("certificates")
    documents = {"sample": render(CERTIFICATE, sample(CERTIFICATE), folder / "sample.docx"),
                 "long": render(CERTIFICATE, changed(sample(CERTIFICATE), {"enterprise.name": NAME_40}),
                                folder / "long.docx")}
    pdfs = convert.to_pdf(list(documents.values()))
    return {key: (docx, pdf) for (key, docx), pdf in zip(documents.items(), pdfs, strict=True)}


def _part(docx: Path, name: str = "word/document.xml") -> str:
    with zipfile.ZipFile(docx) as archive:
        return archive.read(name).decode("utf-8")


def _lines(pdf: Path) -> list[list[str]]:
    import pdfplumber

    with pdfplumber.open(pdf) as document:
        return [[re.sub(r"\s+", "", line["text"]) for line in page.extract_text_lines()] for page in document.pages]


def test_a4_landscape_in_a_double_border(made: dict) -> None:
    xml = _part(made["sample"][0])
    size = re.search(r'<w:pgSz w:w="(\d+)" w:h="(\d+)" w:orient="landscape"', xml)
    assert size and (round(int(size[1]) / TWIPS_PER_MM), round(int(size[2]) / TWIPS_PER_MM)) == (297, 210)
    borders = re.search(r"<w:pgBorders[^>]*>(.*?)</w:pgBorders>", xml)
    assert borders and len(re.findall(r'w:val="double"', borders[1])) == 4
    assert xml.index("<w:pgMar") < xml.index("<w:pgBorders") < xml.index("<w:cols")  # the order Word requires


def test_no_page_number_and_none_of_a_letters_parts(made: dict) -> None:
    docx = made["sample"][0]
    with zipfile.ZipFile(docx) as archive:
        assert not [n for n in archive.namelist() if n.startswith("word/footer")]
    text = _part(docx)
    data = sample(CERTIFICATE)
    assert "PAGE" not in text and data["addressee"] + "：" not in text and "印发" not in text


def test_the_red_title_on_one_line(made: dict) -> None:
    xml = _part(made["sample"][0])
    title = re.search(r"<w:p>(?:(?!</w:p>).)*天津市市级高新技术企业证书(?:(?!</w:p>).)*</w:p>", xml)
    assert title and 'w:color w:val="FF0000"' in title[0] and "<w:br/>" not in title[0]
    for key in ("sample", "long"):
        assert _lines(made[key][1])[0][0] == "天津市市级高新技术企业证书"


@pytest.mark.parametrize("key", ["sample", "long"])
def test_one_page_with_every_field_and_the_issuer_last(made: dict, key: str) -> None:
    pages = _lines(made[key][1])
    assert len(pages) == 1, pages[1:]
    text = "".join(pages[0])
    data = sample(CERTIFICATE)
    name = NAME_40 if key == "long" else data["enterprise"]["name"]
    for value in (data["certificate_number"], name, data["enterprise"]["uscc"], data["enterprise"]["address"],
                  data["tech_field"], "2016年6月15日至2019年6月14日", "特发此证"):
        assert value in text, value
    assert pages[0][-2:] == [data["signatory"], "2016年6月15日"]


def test_fields_as_label_and_value_without_rules(made: dict) -> None:
    import docx

    [table, signature] = docx.Document(str(made["sample"][0])).tables
    labels = ["证书编号", "企业名称", "统一社会信用代码", "注册地址", "技术领域", "有效期"]
    assert [row.cells[0].text for row in table.rows] == labels
    assert {row.cells[1].text for row in table.rows} == {"："}
    assert table.style is None or table.style.name != "Table Grid"
    assert [row.cells[1].text for row in signature.rows] == [sample(CERTIFICATE)["signatory"], "2016年6月15日"]


def test_the_issuer_stands_at_the_lower_right(made: dict) -> None:
    import pdfplumber

    with pdfplumber.open(made["long"][1]) as document:
        page = document.pages[0]
        lines = page.extract_text_lines()
        issuer, date = lines[-2], lines[-1]
        assert issuer["x0"] > page.width / 2 and date["x0"] > page.width / 2
        assert issuer["top"] > page.height * 0.6


def test_the_border_shows_in_the_picture(made: dict, tmp_path: Path) -> None:
    png = convert.to_png(made["sample"][1], tmp_path / "page.png", dpi=40)
    with Image.open(png) as image:
        width, height = image.size
        pixels = image.convert("RGB").load()
        reddish = [(x, y) for x in range(width) for y in (height // 2,) if _red(pixels[x, y])]
        reddish += [(x, y) for y in range(height) for x in (width // 4,) if _red(pixels[x, y])]
    assert width > height
    assert any(x < width * 0.06 for x, _ in reddish) and any(x > width * 0.94 for x, _ in reddish)
    assert any(y < height * 0.06 for _, y in reddish) and any(y > height * 0.94 for _, y in reddish)


def _red(pixel: tuple[int, int, int]) -> bool:
    red, green, blue = pixel
    return red > 150 and green < 110 and blue < 110

