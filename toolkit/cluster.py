"""Batch notices made on a Dask distributed cluster: ``shenbao batch … --cluster tcp://HOST:8786``.

The work of a row is done on the workers, the rest here, on the client:

- The **client** reads the sheet and sends its rows in chunks (``CHUNK`` rows, ``PDF_CHUNK`` with PDFs), at most
  ``window`` chunks in flight. It takes the chunks back in the order sent and does, in row order, what must be done
  in order: a row that failed is listed, a good one gets its file name made unique (``UniqueNames``, a failed row
  takes no name), a document already whole is kept (``--resume``), the others are written, then ``manifest.csv``.
  The folder, its file names, its documents and its manifest are byte for byte those of a local run.
- Each **worker** holds the batch's ``Job`` (the prepared template, the office's defaults, the name pattern),
  scattered to all of them once (the template travels as its form and template bytes and is prepared again where
  unpickled), and does for each row what a local run does: reads and checks it with the very function a local run
  uses (``batching.checked_row``: the same findings), makes its file name from the pattern, renders it, and with
  ``--pdf`` converts it to PDF through the worker process's own LibreOffice pool (``convert``'s pool: started by
  the first conversion, kept while the worker lives). It returns each row as a ``Made``.
- With ``--resume``, the client first guesses each row's file name as if every readable row were good (reading the
  row as a local run does, without the check) and asks the workers only to check the rows whose document is
  already there — with ``--pdf``, to convert that document. A guess proved wrong by a failed row before it (a rare
  repeat of a name) is put right when the row's turn comes: what is missing is made then, on the cluster.
- ``--sign``: the workers send back the PDFs, the client signs them (the key never leaves it) and writes them.

A worker killed midway costs nothing: the scheduler gives its chunks to the others. ``dask.distributed`` is
imported here only, and only when ``--cluster`` is given (``pip install 'shenbao-toolkit[cluster]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from .batching import (
    BatchResult,
    UniqueNames,
    checked_row,
    file_name,
    keep_document,
    numbered_rows,
    render_chunk,
    row_data,
)
from .catalogue import Form, form
from .errors import ConversionError, ShenbaoError
from .prepared_template import PreparedTemplate
from .reading import read
from .sheets import Row, columns
from .sinks import FolderSink, Outcome, sha256
from .template_check import require_clean

CONNECT_TIMEOUT = 10  # seconds to reach the scheduler
WORKERS_TIMEOUT = 30  # seconds for at least one worker to be there
CHUNK = 128  # rows a worker takes at a time (.docx only: some 50 ms of work, well above what a task costs Dask)
PDF_CHUNK = 4  # with PDFs (a tenth of a second or more each): short tasks, shared evenly among the workers
_RESUME = "已写入的文档保留，可用 --resume 继续"
RENDER, CHECK = "render", "check"  # what a worker does with a row; or the bytes of a document to convert

Item = tuple[Row, str | bytes]  # a row and what to do with it: RENDER, CHECK, or convert these document bytes


class ClusterError(ShenbaoError):
    """The scheduler cannot be reached, has no workers, ``distributed`` is not installed, or the cluster lost the
    batch's work: one Chinese line, exit 2."""


@dataclass(frozen=True)
class Job:
    """What every worker holds for one batch."""

    prepared: PreparedTemplate
    defaults: Mapping[str, Any]
    name: str  # the file name pattern
    pdf: bool


class Made(NamedTuple):
    """One row done on a worker: ``failure`` (why the row is refused, as a local run says it), or its file name
    before it is made unique (``base``), its document (bytes, or why it could not be rendered; None when not
    asked) and its PDF (bytes, or why not; None when not asked)."""

    row: int
    failure: str
    base: str
    document: bytes | str | None
    pdf: bytes | str | None


def work(job: Job, items: list[Item]) -> list[Made]:
    """A chunk of rows, on a worker: each checked, named, rendered and (``job.pdf``) converted, as asked."""
    target = job.prepared.form
    known = columns(target)
    made: list[Made] = []
    sources: list[bytes | None] = []  # what to convert, row by row
    for row, action in items:
        data, problem = checked_row(target, row, known, job.defaults)
        if data is None:
            made.append(Made(row.number, problem, "", None, None))
            sources.append(None)
            continue
        document = render_chunk(job.prepared, [(row.number, data, "")])[0][2] if action == RENDER else None
        made.append(Made(row.number, "", file_name(job.name, data, row.number), document, None))
        source = document if action == RENDER else action if isinstance(action, bytes) else None
        sources.append(source if job.pdf and isinstance(source, bytes) else None)
    pdfs = iter(_pdfs([s for s in sources if s is not None]))
    return [m if s is None else m._replace(pdf=next(pdfs)) for m, s in zip(made, sources, strict=True)]


def _pdfs(documents: list[bytes]) -> list[bytes | str]:
    """The PDF of each document, or why not, made by this process's LibreOffice pool (``convert``)."""
    if not documents:
        return []
    from .convert import pdfs_of

    try:
        return list(pdfs_of(documents))
    except ConversionError:  # which ones: one at a time
        pass
    made: list[bytes | str] = []
    for document in documents:
        try:
            made.append(pdfs_of([document])[0])
        except ConversionError as exc:
            made.append(exc.reason)
    return made


@dataclass
class _Planned:
    """A row sent, with the client's guess of its file name and the SHA-256 of the document already there."""

    row: Row
    action: str | bytes
    guess: str = ""
    kept: str | None = None


class Cluster:
    """A client connected to the scheduler at ``address``."""

    def __init__(self, address: str) -> None:
        self.address = address
        try:
            import distributed
        except ImportError:
            raise ClusterError("--cluster 需要 Dask distributed：请安装 pip install 'shenbao-toolkit[cluster]'"
                               "（或 pip install distributed）") from None
        try:
            client: Any = distributed.Client  # untyped: its client is Any here
            self.client: Any = client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as exc:  # OSError, TimeoutError, ValueError (a wrong address) …
            raise ClusterError(f"无法连接 Dask 调度器 {address}（{CONNECT_TIMEOUT} 秒内未连上）：{exc}") from None
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except Exception:
            self.client.close()
            raise ClusterError(f"Dask 调度器 {address} 在 {WORKERS_TIMEOUT} 秒内没有可用的 worker"
                               "（在各机器上运行 dask worker " + address + "）") from None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def batch(self, notice: Form | str, rows: Iterable[Row | Mapping[str, Any]], sink: FolderSink, *,
              defaults: Mapping[str, Any] | None = None, name: str = "{__row__}", template: bytes | None = None,
              progress: Callable[[int], None] | None = None, pdf: bool = False, signer: Any = None) -> BatchResult:
        """``batching.batch`` on the cluster, into a folder: the same outcomes, files and manifest. ``pdf`` (or a
        ``signer``, a ``signing.Signer``): each document's PDF made on a worker and written beside it here, signed
        here first; ``sink`` itself makes none (its ``pdf`` and ``signer`` unset)."""
        target = form(notice)
        if template is not None:
            require_clean(template, target)
        prepared = PreparedTemplate(target, template)
        job = Job(prepared, dict(defaults or {}), name, pdf or signer is not None)
        return _Run(self, job, sink, signer, progress).run(rows)

    def scatter(self, job: Job) -> Any:
        try:
            return self.client.scatter(job, broadcast=True, hash=False)
        except Exception as exc:
            raise ClusterError(f"无法把模板发送到集群 {self.address}：{exc}") from None

    def window(self) -> int:
        """Chunks in flight: twice the cluster's threads (a flat memory however long the sheet)."""
        threads: int = sum(self.client.nthreads().values())
        return max(2 * threads, 4)

    def result(self, future: Any) -> list[Made]:
        try:
            done: list[Made] = future.result()
        except Exception as exc:  # KilledWorker (a chunk that killed worker after worker), lost scheduler …
            raise ClusterError(f"集群 {self.address} 未能完成（{type(exc).__name__}: {exc}）；{_RESUME}") from None
        finally:
            future.release()
        return done


class _Run:
    """One batch on the cluster: rows planned and sent, results kept in row order."""

    def __init__(self, cluster: Cluster, job: Job, sink: FolderSink, signer: Any,
                 progress: Callable[[int], None] | None) -> None:
        self.cluster, self.job, self.sink, self.signer = cluster, job, sink, signer
        self.tick = progress or (lambda n: None)
        self.result = BatchResult(plain=job.prepared.plain)
        self.unique = UniqueNames()
        self.unconverted: dict[str, str] = {}  # document → why its PDF was not made
        self.sent: list[Any] = []
        self.remote: Any = None  # the job, scattered

    def run(self, rows: Iterable[Row | Mapping[str, Any]]) -> BatchResult:
        outcomes = self.result.outcomes
        try:
            self.remote = self.cluster.scatter(self.job)
            try:
                self._drain(rows)
            finally:
                self.cluster.client.cancel([f for f in self.sent if not f.done()])
                self.cluster.client.cancel([self.remote])
        except BaseException:  # stopped midway (Ctrl-C, a failure): what was done is still listed
            outcomes.sort(key=lambda o: o.row)
            self.sink.close(outcomes, complete=False)
            raise
        outcomes.sort(key=lambda o: o.row)
        if self.unconverted:  # as a local run: the manifest written, the PDFs that could be made kept, then say why
            self.sink.close(outcomes, complete=False)
            folder, failed = self.sink.folder, list(self.unconverted.items())
            if len(failed) == 1:
                raise ConversionError(str(folder / failed[0][0]), failed[0][1])
            raise ConversionError(", ".join(str(folder / n) for n, _ in failed),
                                  "; ".join(f"{n}: {reason}" for n, reason in failed))
        self.sink.close(outcomes)
        return self.result

    def _drain(self, rows: Iterable[Row | Mapping[str, Any]]) -> None:
        window = self.cluster.window()
        in_flight: list[tuple[Any, list[_Planned]]] = []
        for chunk in self._plan(rows):
            future = self.cluster.client.submit(work, self.remote, [(p.row, p.action) for p in chunk], pure=False)
            self.sent.append(future)
            if len(self.sent) > 4 * window:  # only the ones still in flight need cancelling at the end
                self.sent = [f for f in self.sent if not f.done()]
            in_flight.append((future, chunk))
            while len(in_flight) >= window:  # memory stays flat however long the sheet
                self._keep(*in_flight.pop(0))
        for future, chunk in in_flight:
            self._keep(future, chunk)

    def _plan(self, rows: Iterable[Row | Mapping[str, Any]]) -> Iterator[list[_Planned]]:
        """The rows in chunks, each with what its worker is to do. Without ``--resume`` every row is rendered;
        with it, a row whose guessed document is there is only checked (and its document converted)."""
        size = PDF_CHUNK if self.job.pdf else CHUNK
        guess = UniqueNames()
        target = self.job.prepared.form
        known = columns(target)
        chunk: list[_Planned] = []
        for row in numbered_rows(rows):
            planned = _Planned(row, RENDER)
            if self.sink.resume:
                data, _ = row_data(row, known, self.job.defaults)
                if data is not None:  # else refused on the worker, as a local run refuses it
                    planned.guess = guess(file_name(self.job.name, read(target, data)[0], row.number)) + ".docx"
                    planned.kept = self.sink.existing(planned.guess)
                    if planned.kept is not None:
                        planned.action = self._existing(planned.guess) if self.job.pdf else CHECK
            chunk.append(planned)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _existing(self, name: str) -> bytes:
        return (self.sink.folder / name).read_bytes()

    def _keep(self, future: Any, chunk: list[_Planned]) -> None:
        for made, planned in zip(self.cluster.result(future), chunk, strict=True):
            self.result.outcomes.append(self._outcome(made, planned))
        self.tick(len(chunk))

    def _outcome(self, made: Made, planned: _Planned) -> Outcome:
        """A row's outcome, as a local run has it, its document and PDF written."""
        if made.failure:
            return Outcome(made.row, "", "failed", made.failure)
        name = self.unique(made.base) + ".docx"
        kept = planned.kept if name == planned.guess else self.sink.existing(name)
        if kept is not None:  # --resume: the document stays; with PDFs, its PDF is made again, as locally
            if self.job.pdf:
                made_from = planned.action if isinstance(planned.action, bytes) else made.document
                pdf = made.pdf if isinstance(made_from, bytes) and sha256(made_from) == kept else None
                self._put_pdf(name, pdf if pdf is not None else self._now(planned.row, self._existing(name)).pdf)
            return Outcome(made.row, name, "skipped", "已存在", kept)
        if made.document is None:  # guessed to be there, and it is not (a failed row before it took no name)
            made = self._now(planned.row, RENDER)
        outcome = keep_document(self.sink, made.row, name, made.document or "")
        if outcome.status == "written" and self.job.pdf:
            self._put_pdf(name, made.pdf)
        return outcome

    def _now(self, row: Row, action: str | bytes) -> Made:
        """One row done on the cluster now (a guess put right)."""
        future = self.cluster.client.submit(work, self.remote, [(row, action)], pure=False)
        return self.cluster.result(future)[0]

    def _put_pdf(self, name: str, pdf: bytes | str | None) -> None:
        """The PDF beside the document ``name`` (signed here first), or why not remembered."""
        if not isinstance(pdf, bytes):
            self.unconverted[name] = pdf or "未生成 PDF"
            return
        if self.signer is not None:
            signed: bytes = self.signer.sign(pdf, reason="签发")
            self.sink.signed[name] = sha256(signed)
            pdf = signed
        self.sink.put(str(Path(name).with_suffix(".pdf")), pdf)
