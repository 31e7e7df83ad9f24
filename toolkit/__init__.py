"""shenbao-toolkit (申报工具箱): the forms, eligibility rules and notices of Chinese S&T programmes.

The workflows work in memory — a form (a ``Form`` or its id) and data or bytes in, result objects out; they never
print, exit, read or write paths. The ``shenbao`` command, the web application and the ledger stand on them.

>>> import toolkit
>>> report = toolkit.check("tj-high-tech-enterprise-application", data)         # doctest: +SKIP
>>> docx = toolkit.render("tj-high-tech-enterprise-application", data)          # doctest: +SKIP
>>> pdf = toolkit.to_pdf(docx)                                                  # doctest: +SKIP
>>> toolkit.extract("tj-high-tech-enterprise-application", pdf).data == data   # doctest: +SKIP

Each name is imported from its module when first used, so that a command loads only what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .batching import BatchResult, batch, one_document
    from .catalogue import Form, form, forms, schema, skeleton
    from .convert import pdf_of as to_pdf
    from .decision import Decision, decide
    from .errors import ConversionError, RuleError, ShenbaoError, UnknownForm, UnusableInput
    from .extraction import Extraction, extract
    from .files import load_application
    from .rendering import NotValid, TemplateProblem, render
    from .sheets import Row
    from .sinks import FolderSink, MemorySink, Outcome, ZipSink
    from .validation import Finding, Report, check, validate

_WHERE = {
    "BatchResult": "batching", "batch": "batching", "one_document": "batching",
    "Form": "catalogue", "form": "catalogue", "forms": "catalogue", "schema": "catalogue", "skeleton": "catalogue",
    "to_pdf": "convert:pdf_of", "Decision": "decision", "decide": "decision",
    "ConversionError": "errors", "RuleError": "errors", "ShenbaoError": "errors", "UnknownForm": "errors",
    "UnusableInput": "errors", "Extraction": "extraction", "extract": "extraction", "load_application": "files",
    "NotValid": "rendering", "TemplateProblem": "rendering", "render": "rendering", "Row": "sheets",
    "FolderSink": "sinks", "MemorySink": "sinks", "Outcome": "sinks", "ZipSink": "sinks",
    "Finding": "validation", "Report": "validation", "check": "validation", "validate": "validation",
}
__all__ = [
    "BatchResult", "ConversionError", "Decision", "Extraction", "Finding", "FolderSink", "Form", "MemorySink",
    "NotValid", "Outcome", "Report", "Row", "RuleError", "ShenbaoError", "TemplateProblem", "UnknownForm",
    "UnusableInput", "ZipSink", "batch", "check", "decide", "extract", "field_title", "form", "forms",
    "load_application", "one_document", "render", "schema", "skeleton", "to_pdf", "validate",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """The public names, imported from their modules on first use (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    module, _, attribute = _WHERE[name].partition(":")
    value = getattr(importlib.import_module(f".{module}", __name__), attribute or name)
    globals()[name] = value
    return value


def field_title(form_id: str | Form, json_pointer: str) -> str:
    """The Chinese title of the field at ``json_pointer`` of a form: ``/ip/1/title`` → ``知识产权 · 第2项 · 名称``."""
    from .catalogue import form
    from .fields import title

    return title(form(form_id), json_pointer)
