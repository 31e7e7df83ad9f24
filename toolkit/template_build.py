"""Build every Word template in ``templates/`` from the schemas, samples and notice texts; beside each form's
template, ``<id>.slots.json`` says where each value is printed (what extraction reads PDFs by).

Run ``python -m toolkit.template_build`` after changing a schema or a notice text; the templates are
committed, and ``tests/test_templates.py`` fails when one is out of date with its sources.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from .catalogue import Form, forms
from .form_layout import FormLayout, slots_to_json
from .resources import data_dir

NOTICE_KINDS = {"通知", "证书", "公示"}


def sample_of(form: Form) -> dict:
    path = data_dir("samples") / f"{form.id}.json"
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal) if path.exists() else {}


def build(form: Form, out_dir: Path) -> Path:
    """Write the template of ``form`` into ``out_dir`` and return its path."""
    if form.is_notice:
        from .notice_layout import build_notice_template

        document = build_notice_template(form)
    else:
        layout = FormLayout(form, sample_of(form))
        document = layout.build()
        slots = json.dumps(slots_to_json(layout.slots), ensure_ascii=False, indent=1, default=str)
        (out_dir / f"{form.id}.slots.json").write_text(slots + "\n", encoding="utf-8")
    _fix_metadata(document)
    out = out_dir / f"{form.id}.docx"
    document.save(str(out))
    return out


def _fix_metadata(document) -> None:
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
