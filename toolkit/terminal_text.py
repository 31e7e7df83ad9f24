"""What the command prints, as text: reports, extraction results and summary tables, with Chinese characters
measured as two cells wide. Pure functions; ``cli`` prints them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len

from .catalogue import form

if TYPE_CHECKING:
    from .extraction import Extraction
    from .validation import Report

SEVERITY_WORDS = {"error": "错误", "warning": "警告", "note": "提示"}


def columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows aligned in columns, measuring Chinese characters as two cells wide."""
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]))]
    padded = [[cell + " " * (w - cell_len(cell)) for cell, w in zip(row, widths, strict=True)] for row in rows]
    return ["  ".join(cells).rstrip() for cells in padded]


def report_text(report: Report) -> str:
    """A report as ``shenbao validate`` prints it: the verdict, then each finding and note on a line."""
    title = form(report.form).title
    errors, warnings = len(report.errors), len(report.warnings)
    if report.ok:
        verdict = "通过" + (f"，{warnings} 项警告" if warnings else "，无问题")
    else:
        verdict = f"未通过：{errors} 项错误" + (f"，{warnings} 项警告" if warnings else "")
    lines = [f"{'✓' if report.ok else '✗'} {report.file}（{title}）{verdict}"]
    for f in (*report.findings, *report.notes):
        lines.append(f"  {SEVERITY_WORDS[f.severity]} {f.path or '/'}（{f.title}）[{f.clause}] {f.message}  <{f.rule}>")
    return "\n".join(lines)


def extraction_text(result: Extraction) -> str:
    lines = [f"{'✓' if result.ok else '✗'} {result.file}：读出 {len(result.fields)} 个字段"
             + (f"，{len(result.missing)} 个未找到" if result.missing else "")]
    lines += [f"  未找到 {f.path}（{f.title}）" for f in result.findings if f.rule == "extract.missing"]
    if result.report is not None:
        lines += report_text(result.report).splitlines()[1:]
    return "\n".join(lines)


def extraction_summary(paths: Sequence[str], results: Sequence[Any]) -> str:
    rows = [("文件", "结果", "说明")]
    for path, result in zip(paths, results, strict=True):
        if hasattr(result, "fields"):  # an Extraction (else an UnusableInput)
            state = "通过" if result.ok else "有问题"
            note = f"{len(result.missing)} 个字段未找到，{len(result.report.errors) if result.report else 0} 项错误"
        else:
            state, note = "无法读取", result.reason
        rows.append((path, state, note))
    return "\n".join(columns(rows))
