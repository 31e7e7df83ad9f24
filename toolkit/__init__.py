"""shenbao-toolkit (申报工具箱): the forms, eligibility rules and notices of Chinese S&T programmes.

The workflows work in memory — a form (a ``Form`` or its id) and data or bytes in, result objects out; they never
print, exit, read or write paths. The ``shenbao`` command, the web application and the ledger stand on them.

>>> import toolkit
>>> report = toolkit.check("tj-high-tech-enterprise-application", data)         # doctest: +SKIP
>>> docx = toolkit.render("tj-high-tech-enterprise-application", data)          # doctest: +SKIP
>>> pdf = toolkit.to_pdf(docx)                                                  # doctest: +SKIP
>>> toolkit.extract("tj-high-tech-enterprise-application", pdf).data == data   # doctest: +SKIP
"""

from .batching import BatchResult, Outcome, batch, one_document
from .catalogue import Form, form, forms, schema, skeleton
from .convert import pdf_of as to_pdf
from .decision import Decision, decide
from .errors import ConversionError, RuleError, ShenbaoError, UnknownForm, UnusableInput
from .extraction import Extraction, extract
from .fields import title as _title
from .files import load_application
from .rendering import NotValid, TemplateProblem, render
from .sheets import Row
from .sinks import FolderSink, MemorySink, ZipSink
from .validation import Finding, Report, check, validate

__all__ = [
    "BatchResult", "ConversionError", "Decision", "Extraction", "Finding", "FolderSink", "Form", "MemorySink",
    "NotValid", "Outcome", "Report", "Row", "RuleError", "ShenbaoError", "TemplateProblem", "UnknownForm",
    "UnusableInput", "ZipSink", "batch", "check", "decide", "extract", "field_title", "form", "forms",
    "load_application", "one_document", "render", "schema", "skeleton", "to_pdf", "validate",
]
__version__ = "0.1.0"


def field_title(form_id: str | Form, json_pointer: str) -> str:
    """The Chinese title of the field at ``json_pointer`` of a form: ``/ip/1/title`` → ``知识产权 · 第2项 · 名称``."""
    return _title(form(form_id), json_pointer)
