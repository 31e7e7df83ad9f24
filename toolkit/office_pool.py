"""A pool of long-lived LibreOffice workers, for ``convert``. A worker is one ``soffice.bin --headless
--accept=pipe,…`` (a child of this process, in a session of its own) and one ``office_worker.py`` run by the
Python that has the UNO bridge (Debian's ``python3-uno``, for ``/usr/bin/python3``), which converts one document
per request, over a pipe of JSON lines.

Workers start on demand (the first conversion starts the first, in the background while the caller prepares its
documents; up to ``size`` of them when several threads convert at once), are reused across documents and calls,
and are replaced when they die: a document whose worker died under it is tried once more on a fresh one. A
document that takes longer than its timeout has its office killed and reaped, and is reported; the next document
gets a new worker. ``close`` stops them all and waits for every process (``convert`` registers it with
``atexit``); a worker whose parent dies without closing it kills its office and exits.

Each worker has its own folder — its LibreOffice profile, LibreOffice's temporary files (``TMPDIR``), its log —
inside the process's work folder, and the environment it is given: ``FONTCONFIG_FILE`` among it, so fonts are
found and mapped as by the plain call. A new profile costs LibreOffice a second or more to set up: the first
profile a process closes cleanly is kept as a seed in the user's cache (``$XDG_CACHE_HOME/shenbao``, one per
LibreOffice installation) and copied into every new profile; with a seed kept, offices are killed at the end
rather than asked to close (their profiles are thrown away).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .office_worker import leftover_pipes, office_command

log = logging.getLogger("shenbao.office")

WORKER = Path(__file__).with_name("office_worker.py")
START_SECONDS = 90.0  # a cold LibreOffice on a busy machine; not counted in a document's timeout
STOP_SECONDS = 15.0
_RESTART = 81  # soffice.bin's E_RESTART
_SYSTEM_PYTHON = Path("/usr/bin/python3")


class Unavailable(Exception):
    """No Python with the UNO bridge (``python3-uno``): conversions take the plain ``soffice`` call instead."""


class Broken(Exception):
    """A worker that died, or could not start, or broke the protocol."""


class Hung(Exception):
    """A worker that did not answer in time."""


def uno_python(soffice: Path) -> list[str] | None:
    """The command that runs a Python able to ``import uno`` for this LibreOffice, or None if there is none to try:
    ``$SHENBAO_OFFICE_PYTHON``, the Python bundled with LibreOffice's own builds (``program/python``), or the system
    Python (Debian's python3-uno), isolated from the toolkit's environment (``-I``)."""
    if chosen := os.environ.get("SHENBAO_OFFICE_PYTHON"):
        return [chosen]
    bundled = soffice.resolve().parent / "python"
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return [str(bundled)]
    if _SYSTEM_PYTHON.is_file():
        return [str(_SYSTEM_PYTHON), "-I"]
    return None


def office_binary(soffice: Path) -> Path:
    """``soffice.bin`` beside the launcher: started directly it skips the launcher's shell script and oosplash
    (and its Java probe), and it is this process's child, reaped here; started again when it asks (status 81)."""
    binary = soffice.resolve().parent / "soffice.bin"
    return binary if binary.is_file() else soffice


# --- the seed profile -----------------------------------------------------------------------------------------

def seed_folder(soffice: Path) -> Path | None:
    """Where the seed profile of this LibreOffice installation is kept, or None if there is no cache folder."""
    try:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home folder
        return None
    program = soffice.resolve().parent
    version = program / "versionrc"
    stamp = f"{program}:{version.stat().st_mtime_ns if version.is_file() else 0}"
    return cache / "shenbao" / f"libreoffice-profile-{hashlib.sha256(stamp.encode()).hexdigest()[:16]}"


def seed_profile(profile: Path, seed: Path | None) -> None:
    """Start ``profile`` as a copy of the seed, when there is one (a broken copy only costs the set-up)."""
    if seed is not None and seed.is_dir() and not profile.exists():
        try:
            shutil.copytree(seed, profile, ignore=shutil.ignore_patterns(".lock"))
        except OSError:
            shutil.rmtree(profile, ignore_errors=True)


def keep_seed(profile: Path, seed: Path | None) -> None:
    """Keep a cleanly closed ``profile`` as the seed, unless there is one already (written aside, then renamed)."""
    if seed is None or seed.exists() or not profile.is_dir():
        return
    partial = seed.with_name(f".{seed.name}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        shutil.copytree(profile, partial, ignore=shutil.ignore_patterns(".lock"))
        os.rename(partial, seed)
    except OSError:  # another process was first, or the cache is read-only: nothing lost
        pass
    finally:
        shutil.rmtree(partial, ignore_errors=True)


# --- one worker -----------------------------------------------------------------------------------------------

class Worker:
    """One LibreOffice (``soffice.bin``, a child of this process in a session of its own) and the
    ``office_worker.py`` process that talks UNO to it; started, and ready, when constructed — or, with
    ``wait=False``, started (both processes launched) and ready once ``wait_ready`` returns."""

    def __init__(self, python: list[str], soffice: Path, folder: Path, env: dict[str, str],
                 seed: Path | None = None, start_seconds: float = START_SECONDS,
                 cancelled: Callable[[], bool] | None = None, wait: bool = True) -> None:
        (folder / "tmp").mkdir(parents=True, exist_ok=True)  # LibreOffice's temporary files: gone with the folder
        self.folder, self.profile = folder, folder / "profile"
        seed_profile(self.profile, seed)
        self.pipe = f"shenbao-{os.getpid()}-{folder.name}-{os.urandom(4).hex()}"
        self.documents = 0
        # as the soffice script sets it for soffice.bin; the temporary files in the folder
        self.env = {**env, "SAL_ENABLE_FILE_LOCKING": "1", "TMPDIR": str(folder / "tmp")}
        self.command = office_command(str(office_binary(soffice)), self.profile.as_uri(), self.pipe)
        try:
            self.office = self._launch()
        except OSError as error:  # not executable, out of processes …
            raise Broken(f"{self.command[0]}: {error.strerror or error}") from None
        config = {"pipe": self.pipe, "office": self.office.pid, "start_seconds": start_seconds}
        try:
            with open(folder / "worker.log", "ab") as log_file:
                self.process = subprocess.Popen([*python, str(WORKER), json.dumps(config)], stdin=subprocess.PIPE,
                                                stdout=subprocess.PIPE, stderr=log_file, env=self.env,
                                                start_new_session=True)
        except OSError as error:  # no such Python
            _killpg(self.office.pid)
            self.office.wait()
            raise Unavailable(f"{python[0]}: {error.strerror or error}") from None
        self._buffer = b""
        self._start_seconds, self._cancelled = start_seconds, cancelled
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until the worker is connected to its office: ``Broken`` (both killed) if it does not start, or
        ``cancelled()`` says it is no longer wanted; ``Unavailable`` if its Python has no UNO bridge."""
        try:
            ready = self._ready(self._start_seconds + 5, self._cancelled)
        except (Broken, Hung) as error:
            self.kill()
            raise Broken(f"LibreOffice did not start: {error}{self._log_tail()}") from None
        if ready.get("fatal") == "no-uno":
            self.kill()
            raise Unavailable(str(ready.get("detail", "no module uno")))
        if not ready.get("ready"):
            self.kill()
            raise Broken(f"LibreOffice did not start: {ready.get('detail', ready)}{self._log_tail()}")

    @property
    def pid(self) -> int:
        """soffice.bin's pid (its process group too)."""
        return self.office.pid

    def _launch(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=self.env, start_new_session=True)

    def _ready(self, timeout: float, cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
        """The worker's first answer, while watching the office: started again when it asks (status 81, after
        it set up a new profile), ``Broken`` if it exits otherwise or when ``cancelled()`` says so."""
        deadline, restarts = time.monotonic() + timeout, 0
        while True:
            try:
                return self._receive(min(0.05, max(deadline - time.monotonic(), 0.001)))
            except Hung:
                if time.monotonic() >= deadline:
                    raise
            if cancelled is not None and cancelled():
                raise Broken("no longer wanted")
            status = self.office.poll()
            if status == _RESTART and restarts < 3:
                restarts += 1
                self.office = self._launch()  # the worker keeps trying the same pipe
            elif status is not None:
                raise Broken(f"soffice exited with status {status} on start")

    def convert(self, source: Path, target: Path, timeout: float, export_filter: str | None = None) -> str | None:
        """Export ``source`` to ``target`` (PDF unless ``export_filter``): None when done, else why not (the file's
        fault). ``Hung`` past ``timeout`` seconds, ``Broken`` when the worker or its office died."""
        if self.office.poll() is not None:
            raise Broken(f"LibreOffice exited (status {self.office.returncode})")
        job: dict[str, Any] = {"source": str(source), "target": str(target)}
        if export_filter:
            job["filter"] = export_filter
        self._send(job)
        answer = self._receive(timeout)
        if "fatal" in answer:
            raise Broken(str(answer.get("detail", answer["fatal"])))
        self.documents += 1
        error = answer.get("error")
        return None if answer.get("ok") else str(error or answer)

    def alive(self) -> bool:
        return self.process.poll() is None and self.office.poll() is None

    def stop(self, fast: bool = False) -> bool:
        """Close the office — ``fast``: kill it (its profile is thrown away), else ask it to close — and the
        worker, and wait for both; True if they closed cleanly."""
        clean = True
        if fast and self.office.poll() is None:
            _killpg(self.office.pid)
            self.office.wait()
        try:
            self._send({"quit": True, "terminate": not fast})
            clean = self.process.wait(STOP_SECONDS) == 0 and (fast or self.office.wait(STOP_SECONDS) == 0)
        except (Broken, subprocess.TimeoutExpired):
            clean = False
        if not clean or fast:
            self.kill()
        self._close_pipes()
        return clean

    def kill(self) -> None:
        """Kill the office and the worker (what they left in /tmp too) and wait for them."""
        if self.office.poll() is None:  # not reaped yet: the pid is still the office's
            _killpg(self.office.pid)
            self.office.wait()
        if self.process.poll() is None:  # it has nothing to finish: waiting for it to notice would cost a second
            _killpg(self.process.pid)
            self.process.wait()
        for path in leftover_pipes(self.pipe, self.profile.as_uri()):
            Path(path).unlink(missing_ok=True)
        self._close_pipes()

    def _send(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin
        try:
            assert stdin is not None
            stdin.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
            stdin.flush()
        except (OSError, ValueError) as error:  # a broken pipe, or closed
            raise Broken(f"the worker is gone ({error})") from None

    def _receive(self, timeout: float) -> dict[str, Any]:
        stdout: IO[bytes] | None = self.process.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([stdout], [], [], remaining)[0]:
                raise Hung(f"no answer in {timeout:g} s")
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                raise Broken(f"the worker exited (status {self.process.wait()})")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            answer = json.loads(line)
        except ValueError:
            raise Broken(f"the worker said {line[:200]!r}") from None
        if not isinstance(answer, dict):
            raise Broken(f"the worker said {line[:200]!r}")
        return answer

    def _log_tail(self) -> str:
        try:
            text = (self.folder / "worker.log").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return ""
        return f" ({text.splitlines()[-1][:300]})" if text else ""

    def _close_pipes(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


def _killpg(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass


# --- the pool -------------------------------------------------------------------------------------------------

class OfficePool:
    """Up to ``size`` workers of one process, started when a conversion needs one and none is free."""

    def __init__(self, folder: Path, soffice: Path, env: dict[str, str], size: int = 1,
                 python: list[str] | None = None, start_seconds: float = START_SECONDS) -> None:
        self.folder, self.soffice, self.env, self.start_seconds = folder, soffice, env, start_seconds
        self.size = max(1, size)
        self.python = python if python is not None else uno_python(soffice)
        self.seed = seed_folder(soffice)
        self.unavailable: str | None = None if self.python else "no Python to run the UNO bridge with"
        self.started = 0  # workers started so far, restarts included
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._starting = 0
        self._failed_starts = 0  # in a row
        self._closed = False
        self._condition = threading.Condition()

    def grow(self, size: int) -> None:
        """Allow at least ``size`` workers."""
        with self._condition:
            self.size = max(self.size, size)
            self._condition.notify_all()

    def prestart(self) -> None:
        """Start a worker if there is none yet: its processes launched now, in the caller's thread (a few
        milliseconds), and waited for in the background, so that LibreOffice starts while the caller goes on — to
        import what it needs, to prepare its documents; the first conversion waits for it."""
        with self._condition:
            if self.unavailable or self._closed or self._idle or self._busy or self._starting:
                return
            self._starting += 1
        try:
            worker = self._start(wait=False)
        except Unavailable:  # recorded in ``unavailable``; ``convert`` says so
            return
        except Broken as error:  # the first conversion tries again
            log.info("a LibreOffice worker did not start: %s", error)
            return
        threading.Thread(target=self._start_idle, args=(worker,), name="shenbao-office-start", daemon=True).start()

    def _start_idle(self, worker: Worker) -> None:
        try:
            self._ready(worker)
        except Unavailable:  # recorded in ``unavailable``; ``convert`` says so
            return
        except Broken as error:  # the next conversion tries again
            if not self._closed:
                log.info("a LibreOffice worker did not start: %s", error)
            return
        with self._condition:
            if not self.closed():
                self._starting -= 1
                self._idle.append(worker)
                self._condition.notify_all()
                return
        self._discard_started(worker)

    def convert(self, source: Path, target: Path, timeout: float, export_filter: str | None = None) -> str | None:
        """``source`` exported to ``target`` (PDF unless ``export_filter``) on a free worker: None when done, else
        why not. ``Unavailable`` when there can be no workers (python3-uno missing)."""
        for attempt in range(2):
            try:
                with self._worker() as worker:
                    error = worker.convert(source, target, timeout, export_filter)
                return None if error is None else f"LibreOffice wrote no PDF ({error})"
            except Hung:
                return f"LibreOffice took longer than {timeout:g} s"
            except Broken as broken:
                if attempt or self._closed:
                    return f"LibreOffice stopped ({broken})"
                log.info("a LibreOffice worker stopped (%s); %s goes to a new one", broken, source.name)
        raise AssertionError("unreachable")

    def closed(self) -> bool:
        return self._closed

    def pids(self) -> list[int]:
        """The soffice.bin processes of the workers running now."""
        with self._condition:
            return sorted(w.pid for w in [*self._idle, *self._busy])

    def close(self) -> None:
        """Stop every worker and wait for their processes; conversions asked of the pool afterwards fail. A worker
        still starting is stopped (it sees the pool closed within a twentieth of a second) and waited for."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
            deadline = time.monotonic() + self.start_seconds + 10
            while self._starting and time.monotonic() < deadline:
                self._condition.wait(deadline - time.monotonic())
            workers, self._idle = [*self._idle, *self._busy], []
            self._busy.clear()
        keep = self.seed is not None and not self.seed.exists()
        for index, worker in enumerate(workers):
            if index == 0 and keep and worker.alive():
                if worker.stop():
                    keep_seed(worker.profile, self.seed)
            else:
                worker.stop(fast=True)
        for worker in workers:
            shutil.rmtree(worker.folder, ignore_errors=True)

    @contextmanager
    def _worker(self) -> Iterator[Worker]:
        """A worker to use alone: a free one, else a new one when there is room, else the next to be free. A
        worker that hangs or dies is killed and not given back."""
        worker = self._take()
        try:
            yield worker
        except BaseException:
            with self._condition:
                self._busy.discard(worker)
                self._condition.notify_all()
            worker.kill()
            shutil.rmtree(worker.folder, ignore_errors=True)
            raise
        with self._condition:
            self._busy.discard(worker)
            if self._closed or len(self._idle) + len(self._busy) + self._starting >= self.size:
                extra: Worker | None = worker  # the pool shrank, or is closing
            else:
                self._idle.append(worker)
                extra = None
            self._condition.notify_all()
        if extra is not None:
            extra.stop(fast=True)

    def _take(self) -> Worker:
        with self._condition:
            while True:
                if self.unavailable:
                    raise Unavailable(self.unavailable)
                if self._closed:
                    raise Broken("the pool is closed")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        self._busy.add(worker)
                        return worker
                    worker.kill()  # died while idle: quick, its processes have exited
                    shutil.rmtree(worker.folder, ignore_errors=True)
                if len(self._busy) + self._starting < self.size:
                    self._starting += 1
                    break
                self._condition.wait()
        worker = self._start()
        with self._condition:
            if not self.closed():
                self._starting -= 1
                self._busy.add(worker)
                self._condition.notify_all()
                return worker
        self._discard_started(worker)
        raise Broken("the pool is closed")

    def _discard_started(self, worker: Worker) -> None:
        """Stop a worker that became ready after the pool closed, then let ``close`` go on."""
        worker.stop(fast=True)
        shutil.rmtree(worker.folder, ignore_errors=True)
        with self._condition:
            self._starting -= 1
            self._condition.notify_all()

    def _start(self, wait: bool = True) -> Worker:
        """A new worker, for a place counted in ``_starting``: given back here if it fails, else by the caller when
        it has put the worker in its place. Without ``wait`` its processes are launched, and ``_ready`` waits."""
        assert self.python is not None
        with self._condition:
            self.started += 1
            number = self.started
        try:
            worker = Worker(self.python, self.soffice, self.folder / f"worker-{number}", self.env, self.seed,
                            self.start_seconds, self.closed, wait=False)
        except BaseException as error:
            self._not_started(self.folder / f"worker-{number}", error)
            raise
        return self._ready(worker) if wait else worker

    def _ready(self, worker: Worker) -> Worker:
        """``worker`` once it is ready (counted as by ``_start``)."""
        try:
            worker.wait_ready()
            self._failed_starts = 0
            return worker
        except BaseException as error:
            self._not_started(worker.folder, error)
            raise

    def _not_started(self, folder: Path, error: BaseException) -> None:
        """Give back the place of a worker that did not start, and keep count: three in a row and there are none."""
        with self._condition:
            if isinstance(error, Unavailable):
                self.unavailable = str(error)
            elif isinstance(error, Broken) and not self._closed:
                self._failed_starts += 1
                if self._failed_starts >= 3:  # LibreOffice does not start this way: the plain call says why
                    self.unavailable = f"LibreOffice workers do not start ({error})"
        shutil.rmtree(folder, ignore_errors=True)
        with self._condition:
            self._starting -= 1
            self._condition.notify_all()
