"""Screenshots of the workstation for docs/: a fresh demo database, a server, Chromium at 1366×768.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Builds var/screenshots.sqlite3 from scratch (migrate, load_reference, load_demo), serves it on a free port with
Celery eager, logs in as the demo users and saves PNGs of the inbox, an incident card, the executor's assignments and
the overdue board. Uses Debian's /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    db = ROOT / "var" / "screenshots.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "OTKLIK_DB_NAME": str(db), "OTKLIK_CELERY_EAGER": "1"}
    for command in (["migrate", "-v", "0"], ["load_reference", "-v", "0"], ["load_demo", "-v", "0"]):
        subprocess.run([PY, "manage.py", *command], cwd=ROOT, env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--insecure", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)

            def session(username: str):  # type: ignore[no-untyped-def]
                context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ru-RU")
                page = context.new_page()
                page.goto(f"{base}/login/")
                page.fill("#id_username", username)
                page.fill("#id_password", os.environ.get("OTKLIK_DEMO_PASSWORD", "otklik-demo"))
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                return page

            page = session("operator")
            page.goto(f"{base}/inbox/?view=routed")
            page.screenshot(path=str(out / "inbox.png"))
            first = page.locator("tr.inbox-row").first.get_attribute("data-href")
            page.goto(f"{base}{first}")
            page.screenshot(path=str(out / "card.png"), full_page=True)
            page = session("executor")
            page.goto(f"{base}/assignments/")
            page.screenshot(path=str(out / "assignments.png"))
            page = session("head")
            page.goto(f"{base}/board/overdue/")
            page.screenshot(path=str(out / "overdue.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    for name in ("inbox", "card", "assignments", "overdue"):
        print(out / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
