"""shenbao-toolkit (申报工具箱): the forms, eligibility rules and notices of Chinese S&T programmes.

>>> import toolkit
>>> report = toolkit.validate("tj-high-tech-enterprise-application", data)   # doctest: +SKIP
>>> report.ok, [f.message for f in report.findings]                          # doctest: +SKIP
"""

from .catalogue import Form, form, forms, schema, skeleton
from .errors import ConversionError, RuleError, ShenbaoError, UnknownForm, UnusableInput
from .extraction import Extraction, extract
from .fields import title as _title
from .render import render as render_docx
from .validation import Finding, Report, load_application, validate, validate_file

__all__ = [
    "ConversionError", "Extraction", "Finding", "Form", "Report", "RuleError", "ShenbaoError", "UnknownForm",
    "UnusableInput", "extract",
    "field_title", "form", "forms", "load_application", "render_docx", "schema", "skeleton", "validate",
    "validate_file",
]
__version__ = "0.1.0"


def field_title(form_id: str | Form, json_pointer: str) -> str:
    """The Chinese title of the field at ``json_pointer`` of a form: ``/ip/1/title`` → ``知识产权 · 第2项 · 名称``."""
    return _title(form(form_id), json_pointer)
