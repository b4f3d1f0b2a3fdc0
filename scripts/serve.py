"""`make run`'s supervisor: starts the scheduler and gunicorn, and stops both on Ctrl-C or SIGTERM.

The children run in sessions of their own, so a Ctrl-C at the terminal reaches them only through
here: the first SIGINT or SIGTERM is forwarded to each child once, as SIGTERM; any further signal
while they stop is ignored. It waits for both and exits 0. A child that ends by itself stops the
other, and the exit status says so (1).

    .venv/bin/python scripts/serve.py      # after `flask --app wsgi db upgrade`; PORT, DATABASE_URL … as usual
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def say(line: str) -> None:
    print(f"serve: {line}", flush=True)


def main() -> int:
    commands = {"scheduler": [str(BIN / "flask"), "--app", "wsgi", "scheduler"],
                "gunicorn": [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"]}
    running: dict[int, str] = {}
    stopping: list[str] = []

    def stop(why: str) -> None:
        if stopping:
            return  # idempotent: one forward per child, however many signals arrive
        stopping.append(why)
        say(f"{why}: stopping {' and '.join(sorted(running.values())) or 'nothing'}")
        for pid in running:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGINT, lambda signum, _frame: stop(signal.Signals(signum).name))
    signal.signal(signal.SIGTERM, lambda signum, _frame: stop(signal.Signals(signum).name))
    for name, command in commands.items():
        running[subprocess.Popen(command, cwd=ROOT, start_new_session=True).pid] = name
    status = 0
    while running:
        pid, wait_status = os.wait()  # a signal runs its handler and the wait goes on (PEP 475)
        name = running.pop(pid, None)
        if name is None:
            continue
        code = os.waitstatus_to_exitcode(wait_status)
        if not stopping:
            say(f"{name} ended by itself (status {code})")
            status = 1
            stop(f"{name} ended")
        elif code not in (0, -signal.SIGTERM):
            say(f"{name} stopped with status {code}")
            status = 1
    for signum in (signal.SIGINT, signal.SIGTERM):  # a late one cannot kill the exit half-way
        signal.signal(signum, signal.SIG_IGN)
    return status


if __name__ == "__main__":
    sys.exit(main())
