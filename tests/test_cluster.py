"""``shenbao batch … --cluster``: on a local Dask cluster of two worker processes, the same documents and the same
manifest.csv bytes as a local run; a worker killed midway costs nothing; a run cut short is finished by --resume;
no scheduler, or no ``distributed``, is one Chinese line and exit 2."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_batch import _csv, _manifest, _rows, _run
from test_render import docx_text

try:
    import distributed
except ImportError:  # the [cluster] extra; CI installs it and must run these tests
    distributed = None

FORM = "tj-high-tech-certificate"
ROWS = 40
BAD = {3: ("issue_date", "2016-02-30"), 17: ("enterprise.uscc", "91120116786375429A")}
needs_cluster = pytest.mark.skipif(distributed is None and os.environ.get("CI") != "true",
                                   reason="distributed 未安装（pip install -e '.[cluster]'）")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def sheet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    headers, rows = _rows(ROWS, bad=BAD)
    rows.append(list(rows[5]))  # a repeated 证书编号 row: named 津滨高企 2016-005-2, as a local run names it
    return _csv(tmp_path_factory.mktemp("sheet") / "rows.csv", headers, rows)


@pytest.fixture(scope="module")
def local(sheet: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    assert _run("batch", FORM, str(sheet), "-o", str(out), "--name", "{certificate_number}", "-j", "1",
                "--quiet") == 1  # two bad rows
    return out


def _cluster_run(sheet: Path, out: Path, address: str, *more: str) -> int:
    return _run("batch", FORM, str(sheet), "-o", str(out), "--name", "{certificate_number}", "--quiet",
                "--cluster", address, *more)


def _same_documents(out: Path, local: Path) -> None:
    documents = sorted(p.name for p in local.glob("*.docx"))
    assert len(documents) == ROWS + 1 - len(BAD)
    assert sorted(p.name for p in out.glob("*.docx")) == documents
    for name in documents:
        assert (out / name).read_bytes() == (local / name).read_bytes(), name
        assert docx_text(out / name) == docx_text(local / name)
    assert not list(out.glob(".*.tmp"))


@needs_cluster
def test_cluster_writes_what_a_local_run_writes(sheet: Path, local: Path, scheduler: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert _cluster_run(sheet, out, scheduler) == 1
    assert "第5行" in capsys.readouterr().err
    assert (out / "manifest.csv").read_bytes() == (local / "manifest.csv").read_bytes()
    _same_documents(out, local)


@needs_cluster
def test_a_worker_killed_midway_changes_nothing(sheet: Path, local: Path, scheduler: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from toolkit import batching, cluster

    submit, killed, sent = cluster._Remote.submit, [], []

    def submit_then_kill(self: Any, chunk: Any) -> Any:  # one worker SIGKILLed with chunks in flight on both
        pending = submit(self, chunk)
        sent.append(chunk)
        if len(sent) == 3:
            pids = self.cluster.client.run(os.getpid)
            killed.append(pids[sorted(pids)[0]])
            os.kill(killed[0], signal.SIGKILL)
        return pending

    monkeypatch.setattr(cluster._Remote, "submit", submit_then_kill)
    monkeypatch.setattr(batching, "CHUNK", 4)  # ten chunks, not two
    out = tmp_path / "out"
    assert _cluster_run(sheet, out, scheduler) == 1
    assert killed
    assert (out / "manifest.csv").read_bytes() == (local / "manifest.csv").read_bytes()
    _same_documents(out, local)


@needs_cluster
def test_resume_on_the_cluster_finishes_a_run_cut_short(sheet: Path, local: Path, scheduler: str,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _cluster_run(sheet, out, scheduler) == 1
    removed = sorted(out.glob("*.docx"))[::3]  # as if the client was killed with these not yet written
    for path in removed:
        path.unlink()
    (out / f".{removed[0].name}.999.tmp").write_bytes(b"half a document")
    assert _cluster_run(sheet, out, scheduler, "--resume") == 1
    manifest, expected = _manifest(out), _manifest(local)
    assert [(m["row"], m["file"], m["sha256"]) for m in manifest] == [
        (m["row"], m["file"], m["sha256"]) for m in expected]
    assert {m["file"] for m in manifest if m["status"] == "written"} == {p.name for p in removed}
    assert sum(m["status"] == "skipped" for m in manifest) == ROWS + 1 - len(BAD) - len(removed)
    _same_documents(out, local)


def test_without_distributed_one_chinese_line(sheet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    assert _cluster_run(sheet, tmp_path / "out", "tcp://127.0.0.1:8786") == 2
    assert "shenbao-toolkit[cluster]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@needs_cluster
def test_no_scheduler_one_chinese_line(sheet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from toolkit import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)
    assert _cluster_run(sheet, tmp_path / "out", "tcp://127.0.0.1:1") == 2
    err = capsys.readouterr().err
    assert "无法连接 Dask 调度器 tcp://127.0.0.1:1" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
