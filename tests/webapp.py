"""The web application for tests: an app on a fresh ledger (with the example office profile and a staff user),
the same app served by uvicorn on a free port of 127.0.0.1, and Debian's Chromium driven by Playwright.

``conftest.py`` imports the fixtures, so that every test module can ask for them."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
OFFICE = ROOT / "examples" / "ledger-office.toml"
STAFF, PASSWORD = "王科长", "correct horse 2026"
CHROMIUM = os.environ.get("SHENBAO_CHROMIUM", "/usr/bin/chromium")
# Without these Chromium tries Google's hosts at every start, and this machine's closed network refuses them.
CHROMIUM_ARGS = ["--lang=zh-CN", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
# A clerk's Chinese browser: on Linux Chromium takes its language from these, not from --lang (with Debian's
# chromium-l10n installed): dates read 年/月/日 and the file button 选择文件, as the office sees them.
CHROMIUM_ENV = {**os.environ, "LANGUAGE": "zh_CN:zh", "LANG": "C.UTF-8"}


def make_app(folder: Path, db: str | Path | None = None, **settings: Any) -> Any:
    """The application on the ledger ``db`` (a new SQLite file in ``folder`` by default) with the staff user."""
    from toolkit.ledger.store import Ledger
    from toolkit.ledger.users import add_user
    from toolkit.web import Settings, create_app

    db = db or folder / "ledger.db"
    with Ledger(db) as book:
        add_user(book, STAFF, PASSWORD)
    return create_app(Settings(db=db, office=OFFICE, **settings))


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[Any]:
    """A test client (HTTPS, so that the Secure session cookie is sent) on a fresh ledger."""
    from fastapi.testclient import TestClient

    with TestClient(make_app(tmp_path), base_url="https://testserver") as test_client:
        yield test_client


def signed_in(test_client: Any) -> str:
    """Sign ``test_client`` in as the staff user; the session's CSRF token."""
    form = test_client.get("/staff/login")
    token = form.cookies.get("shenbao_login_csrf") or test_client.cookies.get("shenbao_login_csrf")
    answer = test_client.post("/staff/login", data={"name": STAFF, "password": PASSWORD, "csrf": token},
                              follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = test_client.get("/staff/")
    marker = 'name="csrf-token" content="'
    return str(page.text.split(marker, 1)[1].split('"', 1)[0])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The application served by uvicorn on 127.0.0.1 (a free port); its base URL."""
    import uvicorn

    app = make_app(tmp_path_factory.mktemp("web"))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    port = running.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package, not a downloaded one), driven by Playwright."""
    if not shutil.which(CHROMIUM) and not os.environ.get("CI"):
        pytest.skip("Chromium is not installed (make install installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                            env=CHROMIUM_ENV)
        yield launched
        launched.close()
