"""A tour of the web application for ``make demo``: ``shenbao serve`` on the demo's ledger, every page opened in
headless Chromium as a clerk and a staff member would, and a screenshot of each saved to ``out/web/``.

The clerk loads the sample application, sees the finding beside the R&D staff field for a ratio under the band,
fixes it and submits; staff sign in (a demo account, made here) and open the ledger, the submission, intake,
issuing and the jobs. Run: ``.venv/bin/python examples/web_tour.py --db out/ledger/ledger.db --out out/web``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from webapp import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_ENV  # noqa: E402  (the browser the tests drive, launched the same way)

FORM = "tj-high-tech-enterprise-application"
DEMO_USER, DEMO_PASSWORD = "演示管理员", "demo only 2026"  # the demo's own account; a real office adds its own


def serve(db: Path, office: Path) -> tuple[Any, str]:
    import uvicorn

    from toolkit.ledger.store import Ledger
    from toolkit.ledger.users import add_user
    from toolkit.web import Settings, create_app

    with Ledger(db) as book:
        add_user(book, DEMO_USER, DEMO_PASSWORD, replace=True)
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(db=db, office=office)), host="127.0.0.1", port=0,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


def tour(base: str, out: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def shot(page: Any, name: str, full: bool = True) -> None:
        path = out / f"{len(shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full)
        shots.append(path)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=CHROMIUM_ENV)
        page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{base}/")
        shot(page, "index")
        page.goto(f"{base}/forms/{FORM}")
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="载入草稿或已填文件").click()
        chooser.value.set_files(str(ROOT / "samples" / f"{FORM}.json"))
        rd = page.get_by_label("其中：研发人员数（人）")
        rd.fill("3")  # 3 of 68: under the 7% of 第九条(三)
        expect(page.locator(".field").filter(has=rd).locator(".findings li.error")).to_be_visible()
        rd.evaluate("element => element.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(300)
        shot(page, "form-with-a-finding", full=False)
        rd.fill("17")
        page.get_by_role("button", name="检查").click()
        expect(page.locator("#form-summary")).to_contain_text("检查通过")
        page.get_by_role("button", name="提交").click()
        page.get_by_role("button", name="确认提交").click()
        link = page.locator("#form-receipt a[href*='/receipts/']").first
        link.wait_for()
        shot(page, "form-submitted", full=False)
        page.goto(link.get_attribute("href") or "")
        shot(page, "receipt")
        page.goto(f"{base}/staff/")
        shot(page, "staff-login")
        page.get_by_label("用户名").fill(DEMO_USER)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{base}/staff/")
        shot(page, "staff-ledger")
        page.locator("table.ledger tbody tr a").last.click()
        page.wait_for_load_state()
        shot(page, "staff-submission", full=False)
        for path, name in (("/staff/intake", "staff-intake"),
                           ("/staff/issue?notice=tj-high-tech-recognition-notice", "staff-issue"),
                           ("/staff/jobs", "staff-jobs")):
            page.goto(base + path)
            shot(page, name)
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "out" / "ledger" / "ledger.db")
    parser.add_argument("--office", type=Path, default=ROOT / "examples" / "ledger-office.toml")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "web")
    args = parser.parse_args()
    server, base = serve(args.db, args.office)
    try:
        for path in tour(base, args.out):
            print(f"web: {path}")
    finally:
        server.should_exit = True


if __name__ == "__main__":
    main()
