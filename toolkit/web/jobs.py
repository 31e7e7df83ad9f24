"""Background jobs: long work (issuing a batch of notices, converting to PDF) runs on the server's own threads, so
closing the browser stops nothing; its progress and its result — a document kept in the ledger, or the reason it
failed — are in the ledger's ``jobs`` table, where any page can look. A job a restart cut off is marked failed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import ShenbaoError
from ..ledger.models import Job, now
from ..ledger.store import Ledger
from ..ledger.submitting import Attachment, keep

QUEUED, RUNNING, DONE, FAILED = "排队中", "进行中", "已完成", "失败"
log = logging.getLogger("shenbao.web")

Progress = Callable[[int, int], None]  # (done, total)
Work = Callable[[Progress], tuple[Attachment, str]]  # the document made and a summary


class Jobs:
    """The jobs of one ledger, run ``workers`` at a time."""

    def __init__(self, ledger: Ledger, workers: int = 1) -> None:
        self.ledger = ledger
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="shenbao-job")
        self.lock = threading.Lock()

    def start(self, kind: str, title: str, by: str | None, work: Work) -> int:
        """Queue ``work``; the job's id at once."""
        def create(session: Session) -> int:
            job = Job(kind=kind, title=title, state=QUEUED, done=0, total=0, requested_by=by, created_at=now())
            session.add(job)
            session.flush()
            return job.id

        job_id = self.ledger.write(create)
        self.pool.submit(self._run, job_id, work)
        return job_id

    def _run(self, job_id: int, work: Work) -> None:
        self._update(job_id, state=RUNNING)
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - last[0] > 0.3 or done >= total:  # the ledger is not written for every row
                last[0] = time.monotonic()
                self._update(job_id, done=done, total=total)

        try:
            attachment, summary = work(progress)
        except ShenbaoError as exc:
            self._update(job_id, state=FAILED, message=str(exc), finished_at=now())
            return
        except Exception as exc:  # a bug: the job says so, the server goes on
            log.exception("job %s failed", job_id)
            self._update(job_id, state=FAILED, message=f"任务出错：{type(exc).__name__}", finished_at=now())
            return

        def finish(session: Session) -> None:
            (document_id,) = keep(session, None, [attachment], "job")
            job = session.get(Job, job_id)
            assert job is not None
            job.state, job.message, job.document_id, job.finished_at = DONE, summary, document_id, now()
            job.done = max(job.done, job.total)

        self.ledger.write(finish)

    def _update(self, job_id: int, **values: object) -> None:
        self.ledger.write(lambda session: session.execute(sa.update(Job).where(Job.id == job_id).values(**values)))

    def recover(self) -> None:
        """Jobs left queued or running by a server that stopped: failed, saying so."""
        self.ledger.write(lambda session: session.execute(
            sa.update(Job).where(Job.state.in_([QUEUED, RUNNING]))
            .values(state=FAILED, message="服务重启，任务中断；请重新发起", finished_at=now())))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def job(ledger: Ledger, job_id: int) -> Job | None:
    with ledger.reading() as session:
        return session.get(Job, job_id)


def recent(ledger: Ledger, limit: int = 50) -> list[Job]:
    with ledger.reading() as session:
        return list(session.scalars(sa.select(Job).order_by(Job.id.desc()).limit(limit)))
