"""Build every Word template in ``templates/`` from the schemas and notice texts.

Run ``python -m toolkit.template_build`` after changing a schema or a notice text; the templates are
committed, and ``tests/test_templates.py`` fails when one is out of date with its sources.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx.document import Document

from .catalogue import Form, forms
from .form_layout import FormLayout
from .resources import data_dir


def build_document(form: Form) -> Document:
    """The template of ``form`` as a python-docx document: a notice from its text, a form from its layout plan."""
    if form.is_notice:
        from .notice_layout import build_notice_template

        document = build_notice_template(form)
    else:
        document = FormLayout(form).build()
    _fix_metadata(document)
    return document


def build(form: Form, out_dir: Path) -> Path:
    """Write the template of ``form`` into ``out_dir`` and return its path."""
    out = out_dir / f"{form.id}.docx"
    build_document(form).save(str(out))
    return out


def _fix_metadata(document: Document) -> None:
    """Fixed core properties, so that a rebuild from the same sources gives the same document text."""
    import datetime as dt

    props = document.core_properties
    props.author = props.last_modified_by = "shenbao-toolkit"
    props.created = props.modified = dt.datetime(2024, 1, 1)
    props.revision = 1


def main(argv: list[str] | None = None) -> int:
    out_dir = Path(argv[0]) if argv else data_dir("templates")
    out_dir.mkdir(parents=True, exist_ok=True)
    for form in forms():
        print(build(form, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
