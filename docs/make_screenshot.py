"""Screenshots for the README: the demo's wall display at 1920×1080 → docs/wall.png, and the tablet app's
posting form at 1280×800 → docs/app.png.

    .venv/bin/python docs/make_screenshot.py [--out docs/wall.png] [--app-out docs/app.png]

Loads the demo into a temporary SQLite database, serves it with a real gunicorn on a free
127.0.0.1 port and photographs /wall/{cid} and /app/ in Debian's chromium (Playwright, no download).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def load_demo_into(url: str, credentials: Path) -> dict:
    from flask_migrate import upgrade

    from scoring import create_app
    from scoring.demo import load_demo
    from scoring.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DEMO_CREDENTIALS": str(credentials)})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        load_demo()
        db.engine.dispose()
    return json.loads(credentials.read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "PORT": str(port), "LOG_LEVEL": "WARNING", "SCHEDULER_ENABLED": "0",
           "WEB_CONCURRENCY": "1"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                              cwd=ROOT, env=env, start_new_session=True)
    for _ in range(300):  # up to 30 s
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    os.killpg(server.pid, signal.SIGTERM)
    raise SystemExit("gunicorn did not start")


def photograph(page_url: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                timezone_id="Asia/Shanghai")
        page.goto(page_url)
        page.wait_for_selector("#board-teams .row[data-code]", timeout=20_000)
        page.wait_for_timeout(500)  # fonts settle
        page.screenshot(path=str(out))
        browser.close()


def photograph_app(base: str, password: str, out: Path) -> None:
    """The posting form of supervisor jianli-a, a finding half entered, on a landscape tablet."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--lang=zh-CN"],
                                    env={**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "zh_CN"})
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN", timezone_id="Asia/Shanghai")
        page.goto(f"{base}/app/")
        page.fill("[data-test=username]", "jianli-a")
        page.fill("[data-test=password]", password)
        page.click("[data-test=login]")
        page.wait_for_selector("form.posting", timeout=20_000)
        page.select_option("[data-test=section]", "LJ-03")
        page.select_option("[data-test=team]", index=1)
        page.select_option("[data-test=criterion]", "safety")
        page.select_option("[data-test=item]", index=1)
        page.fill("[data-test=points]", "2")
        page.fill("[data-test=chainage]", "K31+450")
        page.click(".chip:text('临边防护缺失')")
        page.evaluate("() => window.scrollTo(0, 0)")
        page.wait_for_timeout(500)  # fonts settle
        page.screenshot(path=str(out))
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "wall.png")
    parser.add_argument("--app-out", type=Path, default=ROOT / "docs" / "app.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        print("loading the demo …", file=sys.stderr)
        saved = load_demo_into(url, Path(tmp) / "credentials.json")
        port = free_port()
        server = serve(url, port)
        try:
            print("photographing the wall …", file=sys.stderr)
            photograph(f"http://127.0.0.1:{port}/wall/{saved['competition']}?token={saved['wall_token']}", args.out)
            print("photographing the tablet app …", file=sys.stderr)
            photograph_app(f"http://127.0.0.1:{port}", saved["passwords"]["jianli-a"], args.app_out)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(10)
    print(f"wrote {args.out} and {args.app_out}", file=sys.stderr)


if __name__ == "__main__":
    main()
