"""The tablet app over a slow mobile link: `python -m bench.app_load` (make bench-app).

Loads the demo into a temporary SQLite database, serves it with gunicorn (bench.run's Server) and opens
/app/ in Debian's chromium with the network emulated through the DevTools protocol
(Network.emulateNetworkConditions) at the DevTools "Slow 3G" preset: 2,000 ms round trip, 50,000 bytes/s
each way. It times what a supervisor waits for — the login form on a first visit, the posting form after
logging in, the posting form on a reload (from the service worker's cache), and a reload with no
network at all — and counts the bytes that crossed the wire in each step with a byte-counting relay
between chromium and gunicorn, so the service worker's own downloads (the shell it caches, which the
page's network emulation does not slow down) are counted too.
"""
from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from .run import ROOT, Server, log

SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class CountingRelay:
    """127.0.0.1:port → the server, counting the bytes each way (everything chromium sends or gets)."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = self.up = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> tuple[int, int]:
        with self.lock:
            counted, self.down, self.up = (self.down, self.up), 0, 0
        return counted

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, "down"), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, direction: str) -> None:
        try:
            while data := source.recv(65536):
                with self.lock:
                    setattr(self, direction, getattr(self, direction) + len(data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def load_demo(url: str, credentials: Path) -> dict:
    from flask_migrate import upgrade

    from scoring import create_app
    from scoring.demo import load_demo as demo
    from scoring.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DEMO_CREDENTIALS": str(credentials)})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        demo()
        db.engine.dispose()
    return json.loads(credentials.read_text())


def measure(base: str, password: str, relay: CountingRelay) -> list[tuple[str, float | None, int, int]]:
    from playwright.sync_api import sync_playwright

    steps = []

    def step(name: str, started: float | None, reset: bool = True) -> None:
        down, up = relay.reset() if reset else (relay.down, relay.up)
        steps.append((name, None if started is None else time.monotonic() - started, down, up))
        log(f"  {name}: {steps[-1][1] or 0:.2f} s, {down:,} bytes down, {up:,} up")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        relay.reset()

        started = time.monotonic()
        page.goto(f"{base}/app/", wait_until="commit")
        page.locator("[data-test=username]").wait_for(timeout=120_000)
        step("first visit: the login form on screen", started, reset=False)
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=120_000)
        step("first visit: the app kept for offline use (the worker's cache), from the start", started)

        started = time.monotonic()
        page.fill("[data-test=username]", "jianli-a")
        page.fill("[data-test=password]", password)
        page.click("[data-test=login]")
        page.locator("form.posting").wait_for(timeout=120_000)
        step("log in: the posting form ready (rulebook, sections, teams)", started)
        page.wait_for_timeout(3000)  # the month list and a first send attempt settle
        relay.reset()

        started = time.monotonic()
        page.reload(wait_until="commit")
        page.locator("form.posting").wait_for(timeout=120_000)
        step("reload: the posting form (shell from the service worker)", started)
        page.wait_for_timeout(8000)  # the background refreshes (who am I, reference data, update check)
        step("… and what the reload fetched in the background", None)

        cdp.send("Network.emulateNetworkConditions", {**SLOW_3G, "offline": True})
        context.set_offline(True)
        started = time.monotonic()
        page.reload(wait_until="commit")
        page.locator("form.posting").wait_for(timeout=120_000)
        step("reload with no network: the posting form", started)
        browser.close()
    return steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        log("loading the demo …")
        saved = load_demo(url, Path(tmp) / "credentials.json")
        server = Server(url).start()
        try:
            relay = CountingRelay(server.port)
            log("measuring on emulated Slow 3G (2,000 ms RTT, 50,000 B/s) …")
            steps = measure(f"http://127.0.0.1:{relay.port}", saved["passwords"]["jianli-a"], relay)
        finally:
            server.stop()
    static = ROOT / "scoring" / "webapp" / "static"
    files = [p for p in static.rglob("*") if p.suffix in (".js", ".css")]
    # what a supervisor loads: everything but office/ (the console's screens, import()ed for admins and viewers)
    code = sum(p.stat().st_size for p in files if not p.relative_to(static).as_posix().startswith("office/"))
    office = sum(p.stat().st_size for p in files) - code
    print(f"\nThe tablet app on emulated Slow 3G (DevTools preset: 2,000 ms RTT, 50,000 bytes/s), "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; the JS + CSS a supervisor loads: {code:,} bytes "
          f"(an admin's console adds {office:,}, loaded on demand).\n")
    print("| step | time | bytes down | bytes up |")
    print("| --- | --- | --- | --- |")
    for name, seconds, down, up in steps:
        print(f"| {name} | {'—' if seconds is None else f'{seconds:.2f} s'} | {down:,} | {up:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
