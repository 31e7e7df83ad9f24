"""Batch notices: one document per row, fast, resumable, and never half-written.

``batch(notice, rows, sink)`` takes rows from any iterable — a sheet's ``Row``s (``sheets.read_rows``), or plain
dicts that are each a document's data — lays the office's ``defaults`` under each, checks it, and hands every
valid row's document to ``sink`` (a folder, a zip, memory; the ledger later) under a file name made from the row.
A bad row is reported by its number, field and reason and skipped. Documents are rendered from a template
prepared once (``prepared_template``), on several processes if asked: the prepared template reaches the workers
through the pool's initializer, so two batches can run in one process, under fork or spawn.
"""

from __future__ import annotations

import difflib
import multiprocessing
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import fields
from .catalogue import Form, form
from .errors import ShenbaoError, UnusableInput
from .prepared_template import PreparedTemplate
from .reading import read
from .sheets import Columns, Row, columns
from .sinks import Outcome, Sink, sha256
from .template_check import require_clean
from .validation import Report, check

_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')
CHUNK = 32  # rows a worker renders per task

Chunk = list[tuple[int, dict[str, Any], str]]  # rows to render: (row number, checked data, file name)
Rendered = list[tuple[int, str, bytes | str]]  # each row's document, or why it could not be rendered


class Pending(Protocol):
    def result(self) -> Rendered: ...


@dataclass
class BatchResult:
    """The outcome of every row, in row order; ``plain`` says why the documents were rendered one at a time by
    docxtpl (a template the fast path cannot prepare), or is empty."""

    outcomes: list[Outcome] = field(default_factory=list)
    plain: str = ""

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def file_name(pattern: str, data: Mapping[str, Any], row: int) -> str:
    """``{enterprise.uscc}-{enterprise.name}`` filled from the row, safe on every file system."""
    name = pattern.replace("{__row__}", str(row))
    name = re.sub(r"\{([^{}]+)\}", lambda m: str(fields.get(data, m.group(1), "")), name)
    name = _UNSAFE.sub("_", name).strip(" ._") or f"row-{row}"
    return _within_bytes(name, NAME_BYTES)


NAME_BYTES = 200  # a file name's bytes in UTF-8, before ``-2`` and ``.docx``/``.pdf``: file systems allow 255


def _within_bytes(name: str, limit: int) -> str:
    """``name`` cut to at most ``limit`` bytes of UTF-8, never inside a character (75 Chinese characters are 225)."""
    encoded = name.encode("utf-8")
    return name if len(encoded) <= limit else encoded[:limit].decode("utf-8", "ignore").rstrip(" ._")


def check_name(notice: Form | str, pattern: str) -> None:
    """Refuse a file name pattern naming a field the notice does not have (``{enterprise.nmae}``), with the
    nearest field names; ``UnusableInput`` (exit 2) before any document is made."""
    target = form(notice)
    known = [p for p in fields.fields(target) if "[]" not in p]
    for name in re.findall(r"\{([^{}]+)\}", pattern):
        if name != "__row__" and name not in known:
            near = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
            hint = f"；您是否想写：{'、'.join('{' + n + '}' for n in near)}" if near else ""
            raise UnusableInput("--name", f"「{{{name}}}」不是通知 {target.id} 的字段{hint}")


def unique_fields(target: Form) -> list[str]:
    """The fields no two documents of a batch may share: identifiers (统一社会信用代码) and ``x-unique`` ones
    (证书编号)."""
    return [p for p, f in fields.leaves(target).items() if f.node.get("format") == "uscc" or f.node.get("x-unique")]


def check_rows(notice: Form | str, rows: Iterable[Row | Mapping[str, Any]], *,
               defaults: Mapping[str, Any] | None = None) -> BatchResult:
    """Read and check every row as ``batch`` would, writing nothing: each row ``ok`` or ``failed`` with the reason,
    a row repeating another's 统一社会信用代码 or 证书编号 failed as a duplicate."""
    target = form(notice)
    known, unique = columns(target), unique_fields(target)
    seen: dict[tuple[str, str], int] = {}
    result = BatchResult()
    for row in numbered_rows(rows):
        data, problem = checked_row(target, row, known, defaults or {})
        if data is None:
            result.outcomes.append(Outcome(row.number, "", "failed", problem))
            continue
        repeats = []
        for path in unique:
            value = fields.get(data, path)
            if value is None or (path, str(value)) not in seen:
                seen.setdefault((path, str(value)), row.number)
                continue
            title = " · ".join(known.leaves[path].titles)
            repeats.append(f"{title}「{value}」与第{seen[(path, str(value))]}行重复")
        result.outcomes.append(Outcome(row.number, "", "failed" if repeats else "ok", "；".join(repeats)))
    return result


def numbered_rows(rows: Iterable[Row | Mapping[str, Any]]) -> Iterator[Row]:
    for number, row in enumerate(rows, start=1):
        yield row if isinstance(row, Row) else Row(number, row, nested=True)


def row_data(row: Row, known: Columns, defaults: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """A row's document data, or None and why the row is unusable."""
    if row.error:
        return None, row.error
    unknown = [] if row.nested else known.unknown(list(row.values))
    if unknown:
        return None, f"列名「{'」「'.join(unknown)}」不是表单的字段"
    return known.data(row, defaults), ""


def checked_row(target: Form, row: Row, known: Columns,
                defaults: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """A row's data read as the schema wants it (the same reading validate gives a typed value) and checked,
    or None and why the row fails: unusable, or the schema's findings."""
    data, problem = row_data(row, known, defaults)
    if data is None:
        return None, problem
    data = read(target, data)[0]
    report = check(target, data)
    return (data, "") if report.ok else (None, _reasons(report))


def _reasons(report: Report) -> str:
    return "；".join(f"{f.path}（{f.title}）：{f.message}" for f in report.errors)


def batch(notice: Form | str, rows: Iterable[Row | Mapping[str, Any]], sink: Sink, *,
          defaults: Mapping[str, Any] | None = None, name: str = "{__row__}", jobs: int = 1,
          template: bytes | None = None, progress: Callable[[int], None] | None = None,
          start_method: str | None = None) -> BatchResult:
    """Render one document of ``notice`` per row into ``sink``; the outcome of every row.

    ``jobs`` above one renders on that many processes, started by ``start_method`` (the platform's default,
    or ``spawn``/``forkserver``/``fork``); on a Dask cluster, ``cluster.Cluster.batch``. A user's ``template``
    (.docx bytes) is linted first as ``template check`` lints it: a problem stops the batch before any document is
    made (``TemplateRefused``)."""
    target = form(notice)
    if template is not None:
        require_clean(template, target)
    prepared = PreparedTemplate(target, template)
    known = columns(target)
    result = BatchResult(plain=prepared.plain)
    unique = UniqueNames()
    tick = progress or (lambda n: None)

    def plan() -> Iterator[list[tuple[int, dict[str, Any], str]]]:
        pending: list[tuple[int, dict[str, Any], str]] = []
        for row in numbered_rows(rows):
            data, problem = checked_row(target, row, known, defaults or {})
            if data is None:
                result.outcomes.append(Outcome(row.number, "", "failed", problem))
                tick(1)
                continue
            target_name = unique(file_name(name, data, row.number)) + ".docx"
            kept = sink.existing(target_name)
            if kept is not None:
                result.outcomes.append(Outcome(row.number, target_name, "skipped", "已存在", kept))
                tick(1)
                continue
            pending.append((row.number, data, target_name))
            if len(pending) >= CHUNK:
                yield pending
                pending = []
        if pending:
            yield pending

    def keep(done: list[tuple[int, str, bytes | str]]) -> None:
        for row, target_name, document in done:
            result.outcomes.append(keep_document(sink, row, target_name, document))
        tick(len(done))

    def drain(submit: Callable[[Chunk], Pending], window: int) -> None:
        in_flight: list[Pending] = []
        for chunk in plan():
            in_flight.append(submit(chunk))
            while len(in_flight) >= window:  # memory stays flat however long the sheet
                keep(in_flight.pop(0).result())
        for pending in in_flight:
            keep(pending.result())

    try:
        if jobs <= 1:
            for chunk in plan():
                keep(render_chunk(prepared, chunk))
        else:
            context = multiprocessing.get_context(start_method)
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_worker,
                                     initargs=(prepared,)) as pool:
                drain(lambda chunk: pool.submit(_render_in_worker, chunk), 2 * jobs)
    except BaseException:  # stopped midway (Ctrl-C, a failure): what was done is still listed
        result.outcomes.sort(key=lambda o: o.row)
        sink.close(result.outcomes, complete=False)
        raise
    result.outcomes.sort(key=lambda o: o.row)
    sink.close(result.outcomes)
    return result


def keep_document(sink: Sink, row: int, name: str, document: bytes | str) -> Outcome:
    """Hand one row's document to the sink; a row that could not be rendered or written fails alone."""
    if isinstance(document, str):
        return Outcome(row, "", "failed", document)
    try:
        sink.put(name, document)
    except OSError as exc:
        return Outcome(row, "", "failed", f"无法写入 {name}：{exc.strerror or exc}")
    return Outcome(row, name, "written", "", sha256(document))


def render_chunk(prepared: PreparedTemplate, chunk: list[tuple[int, dict[str, Any], str]]
            ) -> list[tuple[int, str, bytes | str]]:
    """Each row's .docx, or why it could not be rendered (one bad row never stops a batch)."""
    done: list[tuple[int, str, bytes | str]] = []
    for row, data, target_name in chunk:
        try:
            done.append((row, target_name, prepared.render_bytes(data)))
        except (ShenbaoError, ValueError, TypeError, RecursionError) as exc:
            done.append((row, target_name, f"无法生成文档：{exc}"))
    return done


_worker_template: PreparedTemplate | None = None  # in a worker process only: set by the pool's initializer


def _start_worker(prepared: PreparedTemplate) -> None:
    global _worker_template
    _worker_template = prepared


def _render_in_worker(chunk: list[tuple[int, dict[str, Any], str]]) -> list[tuple[int, str, bytes | str]]:
    assert _worker_template is not None, "a batch worker is started with its prepared template"
    return render_chunk(_worker_template, chunk)


class UniqueNames:
    """The file names of one batch, made unique regardless of case: ``证书``, ``证书-2``, ``证书-3`` ….

    Each name remembers the number its next repeat starts from (every lower number was taken, and what is taken
    stays taken), so that ten thousand rows of one name cost some twenty thousand look-ups, not fifty million."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self._next: dict[str, int] = {}

    def __call__(self, name: str) -> str:
        """``name``, or ``name-2``, ``name-3`` … the first not yet taken; taken from now on."""
        key, candidate = name.lower(), name
        if key in self.taken:
            number = self._next.get(key, 2)
            candidate = f"{name}-{number}"
            while candidate.lower() in self.taken:
                number += 1
                candidate = f"{name}-{number}"
            self._next[key] = number + 1
        self.taken.add(candidate.lower())
        return candidate


def the_list(target: Form) -> str:
    """The one list of objects in a notice's body (the 公示名单's enterprises), for ``one_document``."""
    lists = [path for path, f in fields.fields(target).items()
             if "." not in path and f.type == "array" and f.node.get("items", {}).get("type") == "object"]
    if len(lists) != 1:
        raise UnusableInput(target.id, "--one 只适用于正文含一张名单表格的通知")
    return lists[0]


def one_document(notice: Form | str, rows: Iterable[Row | Mapping[str, Any]], sink: Sink, *,
                 defaults: Mapping[str, Any] | None = None, name: str = "", template: bytes | None = None
                 ) -> BatchResult:
    """Every row as one row of the notice's table: the 公示名单 of many enterprises (``--one``), handed to
    ``sink`` as one document (``name``, by default ``<notice id>.docx``); nothing when a row is bad."""
    target = form(notice)
    listed = the_list(target)
    if template is not None:
        require_clean(template, target)
    known = columns(target, f"{listed}[]")
    items, numbers, result = [], [], BatchResult()
    for row in numbered_rows(rows):
        data, problem = row_data(row, known, {})
        if data is None:
            result.outcomes.append(Outcome(row.number, "", "failed", problem))
            continue
        items.append(data)
        numbers.append(row.number)
    data = read(target, fields.merged(defaults or {}, {listed: items}))[0]
    report = check(target, data)
    for finding in report.errors:
        match = re.match(rf"^/{listed}/(\d+)", finding.path)
        number = numbers[int(match[1])] if match else 0
        result.outcomes.append(Outcome(number, "", "failed", f"{finding.path}（{finding.title}）：{finding.message}"))
    if not result.outcomes:
        prepared = PreparedTemplate(target, template)
        result.plain = prepared.plain
        document, name = prepared.render_bytes(data), name or f"{target.id}.docx"
        sink.put(name, document)
        result.outcomes = [Outcome(number, name, "written", "", sha256(document)) for number in numbers]
    result.outcomes.sort(key=lambda o: o.row)
    sink.close(result.outcomes)
    return result
