"""The UNO side of one LibreOffice worker: run by the system Python (the one ``python3-uno`` installs ``uno`` for,
``/usr/bin/python3`` on Debian), never imported by the toolkit for its work — and it imports nothing of the toolkit.

``python3 office_worker.py CONFIG`` (CONFIG a JSON object: ``pipe``, the name the office accepts UNO connections
on; ``office``, the office's pid, which is also its process group; ``start_seconds``) connects to the office that
``office_pool`` started (``soffice.bin --accept=pipe,name=…``, a child of the toolkit's process, which reaps it),
then answers one JSON line on stdout for each JSON line on stdin:

- first, unasked: ``{"ready": true}``, or ``{"fatal": "no-uno", "detail": …}`` (exit status 3) or
  ``{"fatal": "start", "detail": …}`` (status 4);
- ``{"source": S, "target": T, "filter": F?}`` → ``{"ok": true}`` once the PDF (or the export of filter F) of
  the file S is at T, ``{"error": …}`` when LibreOffice cannot load or store it, ``{"fatal": "office", …}``
  when LibreOffice has gone (the worker then exits; status 5);
- ``{"quit": true}`` or end of input → the worker exits (status 0); with ``"terminate": true`` it asks LibreOffice
  to close first (``office_pool`` waits for it).

If the toolkit's process goes away without closing the pipe (killed in the middle of a conversion, when the worker
is not reading), the worker kills the office's process group and exits.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import signal
import sys
import threading
import time
from typing import Any

START_SECONDS = 90.0
_EXPORTS = (  # the PDF export filter of each kind of document, as ``--convert-to pdf`` picks it
    ("com.sun.star.text.WebDocument", "writer_web_pdf_Export"),
    ("com.sun.star.text.GlobalDocument", "writer_globaldocument_pdf_Export"),
    ("com.sun.star.text.TextDocument", "writer_pdf_Export"),
    ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
    ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
    ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
    ("com.sun.star.formula.FormulaProperties", "math_pdf_Export"),
)


def office_command(soffice: str, profile: str, pipe: str) -> list[str]:
    """The office a worker talks to: headless, its own profile, accepting UNO connections on ``pipe``."""
    return [soffice, f"-env:UserInstallation={profile}", "--headless", "--invisible", "--nologo", "--nodefault",
            "--norestore", "--nolockcheck", f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"]


def leftover_pipes(pipe: str, profile: str) -> list[str]:
    """The sockets an office killed before it could close leaves in /tmp: the UNO pipe it accepted on and the
    pipe of its single instance, named after an MD5 of the profile's URL in UTF-16 (each byte in %x)."""
    digest = "".join(f"{byte:x}" for byte in hashlib.md5(profile.encode("utf-16-le")).digest())
    return [f"/tmp/OSL_PIPE_{os.getuid()}_{name}" for name in (pipe, f"SingleOfficeIPC_{digest}")]


class Worker:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.desktop: Any = None

    def connect(self) -> None:
        """Connect to the office, trying until it accepts (it is starting meanwhile)."""
        uno = importlib.import_module("uno")
        no_connection = uno.getClass("com.sun.star.connection.NoConnectException")
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        # a failed attempt costs a little CPU, a look for the pipe's socket almost none: try when it is there, and
        # every quarter of a second in case it is elsewhere
        socket = leftover_pipes(self.config["pipe"], "")[0]
        started = time.monotonic()
        deadline = started + float(self.config.get("start_seconds", START_SECONDS))
        tried = started
        while True:
            now = time.monotonic()
            if os.path.exists(socket) or now - tried > 0.25:
                tried = now
                try:
                    context = resolver.resolve(f"uno:pipe,name={self.config['pipe']};urp;StarOffice.ComponentContext")
                    break
                except no_connection:
                    pass
            if now > deadline:
                raise RuntimeError("soffice did not accept a connection in time")
            time.sleep(0.01)
        self.desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)

    def convert(self, source: str, target: str, wanted: str | None) -> dict[str, Any]:
        uno = importlib.import_module("uno")
        property_value = uno.getClass("com.sun.star.beans.PropertyValue")

        def properties(**values: Any) -> tuple[Any, ...]:
            return tuple(property_value(Name=name, Value=value) for name, value in values.items())

        try:
            document = self.desktop.loadComponentFromURL(uno.systemPathToFileUrl(source), "_blank", 0,
                                                         properties(Hidden=True, ReadOnly=True))
        except Exception as error:  # UNO raises its own exceptions, one class each
            return failed("could not load it", error)
        if document is None:
            return {"error": "could not load it"}
        try:
            name = wanted or next((f for service, f in _EXPORTS if document.supportsService(service)), None)
            if name is None:
                return {"error": "no PDF export for this kind of document"}
            document.storeToURL(uno.systemPathToFileUrl(target), properties(FilterName=name, Overwrite=True))
        except Exception as error:
            return failed("could not export it", error)
        finally:
            try:
                document.close(True)
            except Exception:  # a close veto or a dead bridge: dispose, or leave it to the restart
                try:
                    document.dispose()
                except Exception:
                    pass
        return {"ok": True}

    def terminate(self) -> None:
        if self.desktop is not None:
            try:
                self.desktop.terminate()
            except Exception:  # the bridge goes down with the office
                pass


def failed(what: str, error: BaseException) -> dict[str, Any]:
    """The answer for an exception of UNO: the office gone (fatal), or the document's fault."""
    kind = type(error).__name__
    message = " ".join((getattr(error, "Message", "") or str(error)).split())[:300]
    if "Disposed" in kind or "bridge" in message.lower() or kind == "RuntimeException" and not message:
        return {"fatal": "office", "detail": f"LibreOffice stopped ({kind}: {message})"}
    return {"error": f"{what}: {kind}{': ' + message if message else ''}"}


def watch_parent(parent: int, office: int) -> None:
    """Take the office down and exit when the toolkit's process has gone."""
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            try:
                os.killpg(office, signal.SIGKILL)
            except OSError:
                pass
            os._exit(6)


def main(argv: list[str]) -> int:
    # the answers go out on a copy of stdout; whatever else writes to fd 1 lands on stderr
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)

    def answer(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message, ensure_ascii=False) + "\n")
        answers.flush()

    config = json.loads(argv[1])
    if importlib.util.find_spec("uno") is None:
        answer({"fatal": "no-uno", "detail": f"{sys.executable} has no module uno (python3-uno)"})
        return 3
    if config.get("office"):
        threading.Thread(target=watch_parent, args=(os.getppid(), int(config["office"])), daemon=True).start()
    worker = Worker(config)
    try:
        worker.connect()
    except Exception as error:
        answer({"fatal": "start", "detail": f"{type(error).__name__}: {error}"})
        return 4
    answer({"ready": True})
    for line in sys.stdin:
        job = json.loads(line)
        if job.get("quit"):
            if job.get("terminate"):
                worker.terminate()
            return 0
        result = worker.convert(job["source"], job["target"], job.get("filter"))
        answer(result)
        if "fatal" in result:
            return 5
    if config.get("office"):  # end of input without a word: the toolkit's process is gone, the office goes too
        try:
            os.killpg(int(config["office"]), signal.SIGKILL)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    status = main(sys.argv)
    sys.stderr.flush()
    os._exit(status)  # no teardown of the UNO bridge: the office is gone or going
