"""The committed templates: up to date with their sources, one run per tag, clean under `template check`,
and the lint catches what a user's edit can break."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, form_ids, sample
from docx import Document

import toolkit
from toolkit.template_build import build
from toolkit.template_check import check_template

TEMPLATES = ROOT / "templates"


def _xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("word/document.xml").decode("utf-8")


def test_every_form_and_notice_has_a_template() -> None:
    assert sorted(p.stem for p in TEMPLATES.glob("*.docx")) == form_ids()


@pytest.mark.parametrize("form_id", form_ids())
def test_template_is_up_to_date_with_its_sources(form_id: str, tmp_path: Path) -> None:
    fresh = build(toolkit.form(form_id), tmp_path)
    assert _xml(fresh) == _xml(TEMPLATES / f"{form_id}.docx"), "run `python -m toolkit.template_build`"
    assert [p.name for p in tmp_path.iterdir()] == [fresh.name]  # the template alone: extraction reads the plan


@pytest.mark.parametrize("form_id", form_ids())
def test_every_tag_sits_inside_one_run_and_no_content_controls(form_id: str) -> None:
    xml = _xml(TEMPLATES / f"{form_id}.docx")
    assert "<w:sdt" not in xml
    for text in re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml):
        assert text.count("{{") == text.count("}}") and text.count("{%") == text.count("%}"), text


@pytest.mark.parametrize("form_id", form_ids())
def test_own_templates_pass_the_lint(form_id: str) -> None:
    assert check_template(TEMPLATES / f"{form_id}.docx", form_id) == []


def _edited(tmp_path: Path, form_id: str, old: str, new: str) -> Path:
    document = Document(str(TEMPLATES / f"{form_id}.docx"))
    for paragraph in [p for t in document.tables for r in t.rows for c in r.cells for p in c.paragraphs] + list(
            document.paragraphs):
        for run in paragraph.runs:
            if old in run.text:
                run.text = run.text.replace(old, new)
    out = tmp_path / "edited.docx"
    document.save(str(out))
    return out


def test_lint_finds_an_unknown_tag_and_a_required_field_left_out(tmp_path: Path) -> None:
    form_id = "tj-productivity-center-application"
    path = _edited(tmp_path, form_id, "{{ center.uscc }}", "{{ center.usc }}")
    findings = {(f.kind, f.path) for f in check_template(path, form_id)}
    assert findings == {("unknown-field", "center.usc"), ("required-not-printed", "center.uscc")}


def test_lint_shows_a_syntax_error_with_the_text_around_it(tmp_path: Path) -> None:
    form_id = "tj-productivity-center-application"
    path = _edited(tmp_path, form_id, "{{ center.uscc }}", "{{ center.uscc }")
    [finding] = check_template(path, form_id)
    assert finding.kind == "syntax" and "统一社会信用代码" in finding.message


def test_lint_refuses_a_file_that_is_not_a_docx(tmp_path: Path) -> None:
    path = tmp_path / "x.docx"
    path.write_text("not a zip", encoding="utf-8")
    with pytest.raises(toolkit.UnusableInput, match="不是有效的 Word 文档"):
        check_template(path, "tj-productivity-center-application")


def test_a_user_template_renders_in_the_sandbox(tmp_path: Path) -> None:
    from conftest import render_file as render
    from conftest import sample
    from test_render import docx_text

    from toolkit.rendering import TemplateProblem

    form_id = "tj-productivity-center-application"
    probing = _edited(tmp_path, form_id, "{{ center.uscc }}", "{{ center.__class__.__mro__ }}")
    text = docx_text(render(form_id, sample(form_id), tmp_path / "out.docx", template=probing))
    assert "class" not in text and "object" not in text  # the sandbox hides Python's internals
    exhausting = _edited(tmp_path, form_id, "{{ center.uscc }}", "{{ range(10**9)|list|length }}")
    with pytest.raises(TemplateProblem):
        render(form_id, sample(form_id), tmp_path / "out.docx", template=exhausting)


def test_template_new_starts_an_office_template_with_every_field_listed(tmp_path: Path, shenbao: Any) -> None:
    from toolkit import fields

    notice = "tj-high-tech-certificate"
    out = tmp_path / "我们的证书.docx"
    code, said, _ = shenbao("template", "new", notice, "-o", str(out))
    assert code == 0 and "template check" in said
    comments = zipfile.ZipFile(out).read("word/comments.xml").decode("utf-8")
    for path, field in fields.fields(toolkit.form(notice)).items():
        if field.is_leaf and "[]" not in path:
            assert "{{ " + path in comments, path
    assert shenbao("template", "check", str(out), "--form", notice)[0] == 0
    data = sample(notice)
    mine = Document(io.BytesIO(toolkit.render(notice, data, template=out.read_bytes())))
    built_in = Document(io.BytesIO(toolkit.render(notice, data)))
    assert [p.text for p in mine.paragraphs] == [p.text for p in built_in.paragraphs]  # the comment prints nothing
    assert shenbao("template", "new", notice, "-o", str(out))[0] == 2  # never overwritten
    code, _, said = shenbao("template", "new", "tj-high-tech-enterprise-application", "-o", str(tmp_path / "x.docx"))
    assert code == 2 and "不是通知" in said


def office_template(notice: str, footer: str) -> bytes:
    """An office's own template as ``docs/templates.md`` makes it: ``shenbao template new``'s starting template with
    ``footer`` typed into its footer (python-docx standing in for Word)."""
    from toolkit.template_new import starting_template

    document = Document(io.BytesIO(starting_template(notice)))
    own = document.sections[0].footer
    own.is_linked_to_previous = False
    own.paragraphs[0].text = footer
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def footer_text(docx: bytes | Path) -> str:
    source = io.BytesIO(docx) if isinstance(docx, bytes) else str(docx)
    return "\n".join(p.text for p in Document(source).sections[0].footer.paragraphs)


def test_the_lint_reads_headers_footers_and_properties_too(tmp_path: Path) -> None:
    from toolkit.template_check import TemplateRefused, check_template_bytes, require_clean

    notice = "tj-high-tech-certificate"
    assert check_template_bytes(office_template(notice, "证书编号：{{ certificate_number }}"), notice) == []
    wrong = office_template(notice, "证书编号：{{ certificate_nmber }}")
    assert [(f.kind, f.path) for f in check_template_bytes(wrong, notice)] == [("unknown-field", "certificate_nmber")]
    [broken] = check_template_bytes(office_template(notice, "证书编号：{{ certificate_number }"), notice)
    assert broken.kind == "syntax" and broken.path.startswith("word/footer") and "证书编号" in broken.message
    document = Document(io.BytesIO(office_template(notice, "")))
    document.core_properties.title = "{{ enterprise.nam }}"
    titled_wrong = tmp_path / "t.docx"
    document.save(str(titled_wrong))
    assert [f.path for f in check_template(titled_wrong, notice)] == ["enterprise.nam"]
    with pytest.raises(TemplateRefused, match=r"(?s)我们的证书\.docx: unknown-field certificate_nmber: .*不是表单"):
        require_clean(wrong, notice, "我们的证书.docx")


def test_render_with_a_template_lints_it_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``shenbao render --template``: a misspelt tag stops it (exit 2, the file and field named, nothing written);
    the same template spelt right renders, its footer filled in."""
    import json

    from toolkit.cli import main

    form_id = "tj-high-tech-certificate"
    data = tmp_path / "data.json"
    data.write_text(json.dumps(sample(form_id), ensure_ascii=False, default=str), encoding="utf-8")
    wrong, right, out = tmp_path / "错的.docx", tmp_path / "对的.docx", tmp_path / "证书.docx"
    wrong.write_bytes(office_template(form_id, "证书编号：{{ certificate_nmber }}"))
    right.write_bytes(office_template(form_id, "证书编号：{{ certificate_number }}"))
    with pytest.raises(SystemExit) as exit_info:
        main(["render", form_id, str(data), "--template", str(wrong), "-o", str(out)])
    assert exit_info.value.code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert f"{wrong}: unknown-field certificate_nmber: 模板中的「certificate_nmber」不是表单 {form_id} 的字段" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["render", form_id, str(data), "--template", str(right), "-o", str(out)])
    assert exit_info.value.code == 0
    assert footer_text(out) == f"证书编号：{sample(form_id)['certificate_number']}"
