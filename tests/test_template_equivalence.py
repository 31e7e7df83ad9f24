"""The fast path renders what docxtpl renders: the templates of docxtpl's own test suite whose contexts are plain
data (nested loops, tables with row and column loops, merged cells, paragraph merging, preserved spaces, headers
and footers, footnotes, comments) — fetched into ``tests/fixtures/docxtpl`` with their licence — rendered by the
toolkit's prepared template and by plain docxtpl with the context of docxtpl's own test script, every part's text
compared paragraph by paragraph. Values are escaped on both sides (docxtpl's ``autoescape=True``), and one run
puts XML's special characters in every value."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docxtpl import DocxTemplate
from lxml import etree

from toolkit.prepared_template import PreparedTemplate

FIXTURES = Path(__file__).parent / "fixtures" / "docxtpl"
FORM = "tj-assistance-record"  # any form: these templates name none of its fields
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ITEMS = [{"desc": "Python interpreters", "qty": 2, "price": "FREE"},
         {"desc": "Django projects", "qty": 5403, "price": "FREE"},
         {"desc": "Guido", "qty": 1, "price": "100,000,000.00"}]
CONTEXTS: dict[str, dict[str, Any]] = {  # as docxtpl's tests/<name>.py give them
    "nested_for_tpl": {
        "dishes": [{"name": "Pizza", "ingredients": ["bread", "tomato", "ham", "cheese"]},
                   {"name": "Hamburger", "ingredients": ["bread", "chopped steak", "cheese", "sauce"]},
                   {"name": "Apple pie", "ingredients": ["flour", "apples", "suggar", "quince jelly"]}],
        "authors": [{"name": "Saint-Exupery", "books": [{"title": "Le petit prince"}, {"title": "L'aviateur"},
                                                        {"title": "Vol de nuit"}]},
                    {"name": "Barjavel", "books": [{"title": "Ravage"}, {"title": "La nuit des temps"},
                                                   {"title": "Le grand secret"}]}]},
    "dynamic_table_tpl": {
        "col_labels": ["fruit", "vegetable", "stone", "thing"],
        "tbl_contents": [{"label": "yellow", "cols": ["banana", "capsicum", "pyrite", "taxi"]},
                         {"label": "red", "cols": ["apple", "tomato", "cinnabar", "doubledecker"]},
                         {"label": "green", "cols": ["guava", "cucumber", "aventurine", "card"]}]},
    "horizontal_merge_tpl": {},
    "vertical_merge_tpl": {"items": ITEMS, "total_price": "100,000,000.00", "category": "Book"},
    "vertical_merge_nested_tpl": {},
    "merge_paragraph_tpl": {"living_in_town": True},
    "preserve_spaces_tpl": {"tag_1": "looking", "tag_2": "too"},
    "header_footer_entities_tpl": {"title": "Header and footer test"},
    "order_tpl": {"customer_name": "Eric", "items": ITEMS, "in_europe": True, "is_paid": False,
                  "company_name": "The World Wide company", "total_price": "100,000,000.00"},
    "less_cells_after_loop_tpl": {},
    "footnotes_tpl": {"a_jinja_variable": "A Jinja variable!"},
    "comments_tpl": {},
}
SPECIAL = '<&>"\' 天津 & <甲>'


def hostile(value: Any) -> Any:
    """``value`` with XML's special characters added to every text (numbers and booleans kept)."""
    if isinstance(value, dict):
        return {k: hostile(v) for k, v in value.items()}
    if isinstance(value, list):
        return [hostile(v) for v in value]
    return f"{value}{SPECIAL}" if isinstance(value, str) else value


def paragraphs(docx: bytes) -> dict[str, list[str]]:
    """The text of every paragraph of every part that holds text (body, headers, footers, notes, comments)."""
    found: dict[str, list[str]] = {}
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        for name in sorted(archive.namelist()):
            if not name.startswith("word/") or not name.endswith(".xml"):
                continue
            root = etree.fromstring(archive.read(name))
            texts = ["".join(node.text or "" if node.tag == f"{W}t" else "\t" if node.tag == f"{W}tab" else "\n"
                             for node in p.iter(f"{W}t", f"{W}tab", f"{W}br"))
                     for p in root.iter(f"{W}p")]
            if texts:
                found[name] = texts
    return found


def plain_docxtpl(template: bytes, context: dict[str, Any]) -> bytes:
    document = DocxTemplate(io.BytesIO(template))
    document.render(context, autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("escaped", [False, True], ids=["data", "special-characters"])
@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_the_fast_path_renders_what_docxtpl_renders(name: str, escaped: bool) -> None:
    template = (FIXTURES / f"{name}.docx").read_bytes()
    context = hostile(CONTEXTS[name]) if escaped else CONTEXTS[name]
    expected = paragraphs(plain_docxtpl(template, context))
    got = paragraphs(PreparedTemplate(FORM, template).render_bytes(context))
    assert got == expected
    assert any("".join(texts).strip() for texts in got.values())  # not an empty document on both sides


def test_the_templates_carry_their_licence() -> None:
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in (FIXTURES / "LICENSE.txt").read_text(encoding="utf-8")
    assert sorted(p.stem for p in FIXTURES.glob("*.docx")) == sorted(CONTEXTS)
