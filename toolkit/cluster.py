"""Batch notices rendered on a Dask distributed cluster: ``shenbao batch … --cluster tcp://HOST:8786``.

The client (this process) does what a local run does — reads the sheet, checks each row, names its document, asks
the sink whether it is already there (``--resume``) — and sends the rows to render in chunks of
``batching.CHUNK``. Every worker holds the prepared template, scattered to all of them once (it pickles as its form
and template bytes and is prepared again where unpickled), and renders a chunk with the very function a local run
uses (``batching._render``), returning ``(row, name, document bytes or why not)``. The client writes each chunk
into the sink in row order, so the folder, its file names and ``manifest.csv`` are byte for byte those of a local
run. A worker killed midway costs nothing: the scheduler gives its chunks to the others. PDFs (``--pdf``) are made
on the client, as in a local run, once every document is written (``FolderSink.close``).

``dask.distributed`` is imported here only, and only when ``--cluster`` is given (``pip install
'shenbao-toolkit[cluster]'``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .batching import Chunk, Pending, Rendered, _render
from .errors import ShenbaoError
from .prepared_template import PreparedTemplate

CONNECT_TIMEOUT = 10  # seconds to reach the scheduler
WORKERS_TIMEOUT = 30  # seconds for at least one worker to be there
_RESUME = "已写入的文档保留，可用 --resume 继续"


class ClusterError(ShenbaoError):
    """The scheduler cannot be reached, has no workers, ``distributed`` is not installed, or the cluster lost the
    batch's work: one Chinese line, exit 2."""


class Cluster:
    """A client connected to the scheduler at ``address``; ``renderers`` is ``batching.batch``'s hook."""

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

    @contextmanager
    def renderers(self, prepared: PreparedTemplate) -> Iterator[_Remote]:
        """Every worker given ``prepared`` once; chunks sent to render, twice as many in flight as the cluster has
        threads (a flat memory however long the sheet)."""
        try:
            template = self.client.scatter(prepared, broadcast=True, hash=False)
        except Exception as exc:
            raise ClusterError(f"无法把模板发送到集群 {self.address}：{exc}") from None
        threads = sum(self.client.nthreads().values())
        remote = _Remote(self, template, max(2 * threads, 4))
        try:
            yield remote
        finally:
            self.client.cancel(remote.sent)
            self.client.cancel([template])


class _Remote:
    def __init__(self, cluster: Cluster, template: Any, window: int) -> None:
        self.cluster, self.template, self.window = cluster, template, window
        self.sent: list[Any] = []

    def submit(self, chunk: Chunk) -> Pending:
        future = self.cluster.client.submit(_render, self.template, chunk, pure=False)
        self.sent.append(future)
        if len(self.sent) > 4 * self.window:  # only the ones still in flight need cancelling at the end
            self.sent = [f for f in self.sent if not f.done()]
        return _Result(future, self.cluster.address)


class _Result:
    def __init__(self, future: Any, address: str) -> None:
        self.future, self.address = future, address

    def result(self) -> Rendered:
        try:
            done: Rendered = self.future.result()
        except Exception as exc:  # KilledWorker (a chunk that killed worker after worker), lost scheduler …
            raise ClusterError(f"集群 {self.address} 未能完成渲染（{type(exc).__name__}: {exc}）；{_RESUME}") from None
        finally:
            self.future.release()
        return done
