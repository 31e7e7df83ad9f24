"""Rendered .docx → PDF with LibreOffice headless, in the open fonts that stand in for the customary Chinese ones.

Documents go to a pool of long-lived LibreOffice workers (``office_pool``: LibreOffice's start-up is most of the
cost of one document, so it is paid once a process, not once a call): one worker by default, started by the first
conversion (``shenbao convert`` starts it before it imports the rest of the command: ``start_early``),
``$SHENBAO_OFFICE_WORKERS`` of them (and ``jobs`` for ``to_pdf_many``, ``--office-workers`` for the web
application) when several documents or threads convert at once; each document has a timeout, a worker that
hangs or dies is replaced, and the workers are stopped when the process exits. The workers speak UNO, so they run
under the Python that has it (Debian's ``python3-uno``, for ``/usr/bin/python3``): without it — or with
``SHENBAO_OFFICE_WORKERS=0`` — many documents go through ONE ``soffice --convert-to pdf`` call instead, as before
(the log says so once, at INFO of ``shenbao.office``). Either way each PDF lands atomically beside its .docx (or
in ``out_dir``), and ``to_png`` renders a page to look at.

How fonts are found. A .docx keeps the customary names (仿宋_GB2312, 楷体_GB2312, 黑体, 方正小标宋简体, Times New
Roman). ``fonts/fonts.conf`` (``toolkit/fonts/fonts.conf`` in a wheel) maps them with strong bindings to FandolFang,
AR PL KaitiM GB, Noto Sans CJK SC, Noto Serif CJK SC Bold and Liberation Serif, after including the system
configuration. Each process writes a small ``fonts.conf`` of its own into a private work folder: it names the
font folders by absolute path — ``$SHENBAO_FONTS_DIR`` if set, the ``.fonts`` folder of a source checkout (where
``make system`` puts FandolFang, taken out of the texlive-lang-chinese .deb) and TeX Live's Fandol folder if TeX is
installed — and includes the shipped alias file, so the same code works from the repository and from an installed
wheel. soffice runs with ``FONTCONFIG_FILE`` pointing at it. A font that is missing is not an error here: fontconfig
falls back to another face, which the tests catch with ``pdffonts``. LibreOffice also runs with glibc's allocator
told to keep the large blocks it frees (``office_env``): a third less CPU a conversion.

The same work folder holds the process's own LibreOffice profiles (``-env:UserInstallation``: the plain call's,
and one a worker), so parallel processes never share one (LibreOffice would hand the job to the other instance);
plain calls within a process take turns. Every new profile starts as a copy of a seed kept in the user's cache
(see ``office_pool``), which spares LibreOffice setting one up. The folder is removed when the process exits, after
the workers have stopped.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from html import escape
from pathlib import Path

from .errors import ConversionError
from .lean_docx import lean_copy
from .office_pool import OfficePool, Unavailable, keep_seed, seed_folder, seed_profile
from .resources import data_dir

_PACKAGE = Path(__file__).resolve().parent
_FONT_DIRS = (_PACKAGE.parent / ".fonts", Path("/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol"))
_DEBIAN_SOFFICE = Path("/usr/lib/libreoffice/program/soffice")
_INSTALL_HINT = "`make system` installs LibreOffice, poppler-utils and the fonts"

_MALLOC = {"mmap_threshold": 256 * 2**20, "trim_threshold": 512 * 2**20}  # see ``office_env``
DOCUMENT_SECONDS = 120.0  # the longest one document may take in a worker, in ``to_pdf_many``

log = logging.getLogger("shenbao.office")
_lock = threading.RLock()  # one plain soffice call at a time per process: they share its profile
_work: tuple[int, Path] | None = None  # (pid, folder): a forked child makes its own
_pool: tuple[int, OfficePool] | None = None  # (pid, pool): likewise
_said: set[str] = set()
_wanted = 0  # workers the pool may grow to, whatever ``$SHENBAO_OFFICE_WORKERS`` says: ``size_pool``


def soffice_path() -> Path:
    """The LibreOffice executable (``soffice`` or ``libreoffice`` on PATH, or Debian's own path)."""
    for name in ("soffice", "libreoffice"):
        if found := shutil.which(name):
            return Path(found)
    if _DEBIAN_SOFFICE.is_file():
        return _DEBIAN_SOFFICE
    raise ConversionError("soffice", f"LibreOffice not found on PATH; {_INSTALL_HINT}")


def font_config() -> Path:
    """The fontconfig file that soffice runs with: this process's generated one (see the module docstring)."""
    return _work_dir() / "fonts.conf"


def office_env() -> dict[str, str]:
    """The environment LibreOffice runs in: this process's, with ``FONTCONFIG_FILE`` (see the module docstring) and
    glibc's allocator told to keep what it freed (``GLIBC_TUNABLES``, ahead of any given, which win).

    To convert a one-page notice in the CJK fonts LibreOffice allocates, fills and frees a block of 64 MB sixteen
    times. glibc maps each such block afresh and unmaps it when freed, and the kernel's faulting in of its pages
    on every fill was half of the CPU the conversion cost (310,000 page faults, 0.8 s of system time). Served from
    the heap and kept, they cost 55,000 faults: the office spends about 0.5 s of CPU less and holds some 50 MB
    more."""
    tunables = ":".join(f"glibc.malloc.{name}={value}" for name, value in _MALLOC.items())
    given = os.environ.get("GLIBC_TUNABLES")
    return {**os.environ, "FONTCONFIG_FILE": str(font_config()),
            "GLIBC_TUNABLES": f"{tunables}:{given}" if given else tunables}


def _fontconfig_text() -> str:
    dirs = [Path(d) for d in os.environ.get("SHENBAO_FONTS_DIR", "").split(os.pathsep) if d] + list(_FONT_DIRS)
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">', "<fontconfig>"]
    lines += [f"  <dir>{escape(str(d.resolve()), quote=False)}</dir>" for d in dirs if d.is_dir()]
    lines += [f"  <include>{escape(str(data_dir('fonts') / 'fonts.conf'), quote=False)}</include>", "</fontconfig>", ""]
    return "\n".join(lines)


def _work_dir() -> Path:
    """This process's folder: its fonts.conf and its LibreOffice profile."""
    global _work
    with _lock:
        if _work is None or _work[0] != os.getpid():
            scratch = _scratch()
            folder = Path(tempfile.mkdtemp(prefix=_WORK_PREFIX, dir=scratch))
            _owned.append(_hold(folder))
            (folder / "fonts.conf").write_text(_fontconfig_text(), encoding="utf-8")
            _work = (os.getpid(), folder)
            atexit.register(_remove, os.getpid(), folder)
            _sweep(folder.parent)
        return _work[1]


_WORK_PREFIX = "shenbao-soffice-"
_OWNER = ".owner"  # a file in each work folder, locked by the process the folder is for, for as long as it runs
_owned: list[object] = []  # this process's open owner files (the lock lasts while the file is open)


def _hold(folder: Path) -> object:
    """Lock ``folder``'s owner file for this process's life: the kernel lets go of the lock when the process ends,
    however it ends (a worker SIGKILLed runs no ``atexit``)."""
    owner = (folder / _OWNER).open("w")
    fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return owner


def _sweep(scratch: Path, older_than: float = 60) -> None:
    """Remove the work folders of processes that ended without removing theirs (killed): a folder of this user,
    idle for ``older_than`` seconds, whose owner file nobody holds a lock on. A folder being made (no owner file
    yet) or of a process still running (locked, in whatever PID namespace) is left alone."""
    for folder in scratch.glob(f"{_WORK_PREFIX}*"):
        try:
            if folder.stat().st_uid != os.getuid() or time.time() - folder.stat().st_mtime < older_than:
                continue
            with (folder / _OWNER).open("a") as owner:
                fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError while its process holds it
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _scratch() -> str | None:
    """A folder in memory for the work folder, if there is one to write in (``$XDG_RUNTIME_DIR``, /dev/shm):
    profiles are written and thrown away there, and on some disks removing even a few files takes a while."""
    for candidate in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return None  # the system's temporary folder


def _remove(pid: int, folder: Path) -> None:
    if os.getpid() == pid:
        shutil.rmtree(folder, ignore_errors=True)


def office_workers() -> int:
    """How many LibreOffice workers a process may run at once: ``$SHENBAO_OFFICE_WORKERS`` (1 if unset; 0: none,
    every conversion is a plain soffice call)."""
    try:
        return max(0, int(os.environ.get("SHENBAO_OFFICE_WORKERS", "1")))
    except ValueError:
        return 1


def office_pool(workers: int = 0) -> OfficePool | None:
    """This process's pool of LibreOffice workers (grown to ``workers`` if more), or None when conversions take
    the plain soffice call: ``SHENBAO_OFFICE_WORKERS=0``, or no Python with the UNO bridge (python3-uno).

    No worker starts here: the first conversion starts one."""
    global _pool
    if (size := office_workers()) == 0:
        _say_once("SHENBAO_OFFICE_WORKERS=0: each conversion starts soffice")
        return None
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            work = _work_dir()
            pool = OfficePool(work, soffice_path(), office_env(), max(size, _wanted))
            _pool = (os.getpid(), pool)
            atexit.register(_close_pool, os.getpid(), pool)
        pool = _pool[1]
    if pool.unavailable:
        _say_once(f"no LibreOffice workers ({pool.unavailable}; `make system` installs python3-uno): each "
                  "conversion starts soffice")
        return None
    pool.grow(workers)
    return pool


def start_early(arguments: Sequence[str]) -> None:
    """Start this process's first LibreOffice worker now, in the background, for a command about to convert the
    files among ``arguments`` (``shenbao convert``, before click and the rest of the command are imported: the
    office's start-up and those imports overlap, and a single conversion costs no more than a plain soffice call).

    Nothing starts unless every argument that is not an option names a file that exists and none asks for help:
    a command that fails on its arguments fails at once, with no office to wait for."""
    paths = [a for a in arguments if not a.startswith("-")]
    if not paths or any(a in ("-h", "--help") for a in arguments) or not all(os.path.isfile(p) for p in paths):
        return
    try:
        pool = office_pool()
    except ConversionError:  # no LibreOffice: the conversion says so
        return
    if pool is not None:
        pool.prestart()


def size_pool(workers: int) -> int:
    """Let this process's pool have up to ``workers`` LibreOffice workers (at least ``$SHENBAO_OFFICE_WORKERS``),
    the pool there is now and one made later; the number given before. Nothing starts and nothing is written."""
    global _wanted
    with _lock:
        before, _wanted = _wanted, max(0, workers)
        current = _pool[1] if _pool is not None and _pool[0] == os.getpid() else None
    if current is not None:
        current.grow(workers)
    return before


def pool_open() -> bool:
    """Whether this process has a pool of LibreOffice workers now (``office_pool`` made one, not closed since)."""
    with _lock:
        return _pool is not None and _pool[0] == os.getpid() and not _pool[1].closed()


def close_pool(tidy: bool = False) -> None:
    """Stop this process's LibreOffice workers and wait for them (done at exit); the next conversion starts
    a new pool. ``tidy``: remove the process's work folder too, after any plain call (the next conversion makes
    another) — for a server, which a signal may end before ``atexit`` runs."""
    global _pool, _work
    with _lock:
        current, _pool = _pool, None
    if current is not None and current[0] == os.getpid():
        current[1].close()
    if tidy:
        with _lock:
            work, _work = _work, None
            if work is not None and work[0] == os.getpid():
                shutil.rmtree(work[1], ignore_errors=True)


def _close_pool(pid: int, pool: OfficePool) -> None:
    if os.getpid() == pid:
        pool.close()


def _say_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        log.info("%s", message)


def to_pdf(docx_paths: Sequence[Path], out_dir: Path | None = None, timeout: float = 120) -> list[Path]:
    """Convert the documents, the PDFs in the order given, beside each file or in ``out_dir``.

    Every PDF that converts is written, even when others do not; then ``ConversionError`` names each file that
    failed and why (missing, not a .docx — LibreOffice would render any bytes as plain text —, not loadable, too
    slow). ``timeout`` bounds each document in a worker — or one plain LibreOffice run, all its documents together
    (documents of the same name from different folders need a run each), when there are no workers.
    """
    return _to_pdf(docx_paths, out_dir, timeout, 0, plain=True)


def _to_pdf(docx_paths: Sequence[Path], out_dir: Path | None, timeout: float, workers: int,
            plain: bool) -> list[Path]:
    """``to_pdf`` on the pool grown to ``workers``; without a pool, the plain call if ``plain``, else
    ``Unavailable``."""
    sources = [Path(p).resolve() for p in docx_paths]
    target_of = {s: (Path(out_dir).resolve() if out_dir else s.parent) / f"{s.stem}.pdf" for s in sources}
    owner: dict[Path, Path] = {}
    for source, target in target_of.items():
        if owner.setdefault(target, source) != source:
            raise ConversionError(str(source), f"would overwrite {target}, the PDF of {owner[target]}")
    failed = {s: reason for s in target_of if (reason := _unusable(s))}
    todo = [s for s in target_of if s not in failed]
    if todo:
        soffice = soffice_path()
        pool = office_pool(workers)
        try:
            if pool is None:
                raise Unavailable("no pool")
            pool.prestart()
            failed |= _through_pool(pool, todo, target_of, timeout)
        except Unavailable:
            if not plain:
                raise
            office_pool()  # says once why not
            failed |= _plain(soffice, todo, target_of, timeout)
    if failed:
        ordered = [s for s in target_of if s in failed]
        if len(ordered) == 1:
            raise ConversionError(str(ordered[0]), failed[ordered[0]])
        raise ConversionError(", ".join(map(str, ordered)), "; ".join(f"{s.name}: {failed[s]}" for s in ordered))
    return [target_of[s] for s in sources]


def _through_pool(pool: OfficePool, sources: list[Path], target_of: dict[Path, Path],
                  timeout: float) -> dict[Path, str]:
    """Convert ``sources`` on the pool's workers (as many at once as it may run), publishing each PDF as it is
    made; why each that failed did."""
    made = Path(tempfile.mkdtemp(prefix="out-", dir=_work_dir()))

    def one(number: int, source: Path) -> str | None:
        pdf, lean = made / f"{number}.pdf", made / f"{number}.docx"
        reason = pool.convert(lean if _lean(source, lean) else source, pdf, timeout)
        lean.unlink(missing_ok=True)
        if reason is None and pdf.is_file() and pdf.stat().st_size > 0:
            _publish(pdf, target_of[source])
            return None
        pdf.unlink(missing_ok=True)
        return reason or "LibreOffice wrote no PDF (no message)"

    try:
        if pool.size > 1 and len(sources) > 1:
            with ThreadPoolExecutor(min(pool.size, len(sources)), thread_name_prefix="shenbao-office") as threads:
                reasons = list(threads.map(one, range(len(sources)), sources))
        else:
            reasons = [one(number, source) for number, source in enumerate(sources)]
    finally:
        shutil.rmtree(made, ignore_errors=True)
    return {source: reason for source, reason in zip(sources, reasons, strict=True) if reason}


def _lean(source: Path, target: Path) -> bool:
    """Whether a lean copy of ``source`` (``lean_docx``: without the styles nothing uses) is now at ``target``."""
    return source.suffix.lower() == ".docx" and lean_copy(source, target)


def _plain(soffice: Path, sources: list[Path], target_of: dict[Path, Path], timeout: float) -> dict[Path, str]:
    """Convert ``sources`` with plain ``soffice --convert-to pdf`` calls; why each that failed did."""
    failed: dict[Path, str] = {}
    rounds: list[dict[str, Path]] = []  # soffice names its output after the stem: one stem per run
    for source in sources:
        free = next((r for r in rounds if source.stem not in r), None)
        if free is None:
            rounds.append(free := {})
        free[source.stem] = source
    with _lock:
        leans = Path(tempfile.mkdtemp(prefix="in-", dir=_work_dir()))
        try:
            for number, batch in enumerate(rounds):
                (leans / str(number)).mkdir()
                given = [lean if _lean(source, lean := leans / str(number) / source.name) else source
                         for source in batch.values()]
                try:
                    made, output = _convert(soffice, given, timeout)
                except ConversionError as error:  # named after the documents, not their lean copies
                    raise ConversionError(", ".join(map(str, batch.values())), error.reason) from None
                said = " / ".join(line for line in output.splitlines() if "rror" in line) or "no message"
                try:
                    for source in batch.values():
                        pdf = made / f"{source.stem}.pdf"
                        if pdf.is_file() and pdf.stat().st_size > 0:
                            _publish(pdf, target_of[source])
                        else:
                            failed[source] = f"LibreOffice wrote no PDF ({said})"
                finally:
                    shutil.rmtree(made, ignore_errors=True)
        finally:
            shutil.rmtree(leans, ignore_errors=True)
    return failed


def pdf_of(docx: bytes) -> bytes:
    """The PDF of a .docx given as bytes (LibreOffice headless, the open fonts); ``ConversionError`` if it fails."""
    return pdfs_of([docx])[0]


def pdfs_of(documents: Sequence[bytes]) -> list[bytes]:
    """The PDFs of several .docx given as bytes (on the workers, or in one LibreOffice run)."""
    with tempfile.TemporaryDirectory(prefix="shenbao-pdf-") as folder:
        sources = [Path(folder) / f"document-{i}.docx" for i in range(len(documents))]
        for source, data in zip(sources, documents, strict=True):
            source.write_bytes(data)
        try:
            return [pdf.read_bytes() for pdf in to_pdf(sources)]
        except ConversionError as exc:
            raise ConversionError("文档", exc.reason) from None


def _unusable(source: Path) -> str | None:
    """Why ``source`` cannot be converted at all, or None."""
    if not source.is_file():
        return "no such file"
    if source.suffix.lower() in {".docx", ".docm", ".dotx"}:
        try:
            with zipfile.ZipFile(source) as archive:
                if "word/document.xml" not in archive.namelist():
                    return "not a Word document (no word/document.xml in the archive)"
        except (zipfile.BadZipFile, OSError) as error:
            return f"not a Word document ({error})"
    return None


def _convert(soffice: Path, sources: list[Path], timeout: float) -> tuple[Path, str]:
    """Run soffice on ``sources`` into a fresh folder; that folder and what soffice printed."""
    work = _work_dir()
    made = Path(tempfile.mkdtemp(prefix="out-", dir=work))
    profile = work / "profile"
    seed = seed_folder(soffice)
    seed_profile(profile, seed)
    command = [str(soffice), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible", "--nologo",
               "--nodefault", "--norestore", "--nolockcheck", "--convert-to", "pdf", "--outdir", str(made),
               *map(str, sources)]
    env = office_env()
    # its own session: on a timeout the whole tree goes (the launcher leaves soffice.bin behind otherwise)
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=env, text=True, errors="replace", start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        shutil.rmtree(made, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)  # a killed instance leaves its profile locked
        raise ConversionError(", ".join(map(str, sources)), f"LibreOffice took longer than {timeout:g} s") from None
    if process.returncode == 0 and any(made.iterdir()):
        keep_seed(profile, seed)
    return made, output


def _publish(made: Path, target: Path) -> None:
    """Move ``made`` to ``target`` atomically (through a temporary sibling when they are on different disks)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(made, target)
        return
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(made, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def to_png(pdf: Path, out: Path, dpi: int = 70, page: int = 1) -> Path:
    """Page ``page`` of ``pdf`` as a PNG at ``dpi`` (pdftoppm), written atomically to ``out``."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise ConversionError("pdftoppm", f"poppler-utils not installed; {_INSTALL_HINT}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    root = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}")  # pdftoppm adds .png
    made = root.with_name(root.name + ".png")
    command = [pdftoppm, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", str(pdf), str(root)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=120)
        if result.returncode != 0 or not made.is_file():
            raise ConversionError(str(pdf), f"pdftoppm could not render page {page}: "
                                            f"{result.stderr.strip() or f'exit status {result.returncode}'}")
        os.replace(made, out)
    except subprocess.TimeoutExpired:
        raise ConversionError(str(pdf), "pdftoppm took longer than 120 s") from None
    finally:
        made.unlink(missing_ok=True)
    return out


def to_pdf_many(docx_paths: Sequence[Path], jobs: int = 1, per_run: int = 200, timeout: float = 1800) -> list[Path]:
    """Convert many documents on ``jobs`` LibreOffice workers at once (each document within ``DOCUMENT_SECONDS``, or
    ``timeout`` if less). Without workers: on ``jobs`` processes, each with its own LibreOffice profile, ``per_run``
    documents per LibreOffice run (``timeout`` bounds a run) — never one run per document."""
    paths = [Path(p) for p in docx_paths]
    if not paths:
        return []
    try:
        return _to_pdf(paths, None, min(timeout, DOCUMENT_SECONDS), max(jobs, 1), plain=False)
    except Unavailable:
        pass
    size = max(1, min(per_run, -(-len(paths) // max(jobs, 1))))
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    if jobs <= 1 or len(chunks) < 2:
        return [pdf for chunk in chunks for pdf in to_pdf(chunk, timeout=timeout)]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return [pdf for made in pool.map(_convert_chunk, chunks, [timeout] * len(chunks)) for pdf in made]


def _convert_chunk(chunk: list[Path], timeout: float) -> list[Path]:
    return to_pdf(chunk, timeout=timeout)
