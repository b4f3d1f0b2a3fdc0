"""`make run` stopped the way a newcomer stops it: Ctrl-C (SIGINT to the terminal's process group) or SIGTERM
to the group. One calm line per process, every process gone, exit status 0 or 130 — no traceback, no
segfault, no signal loop (issue 10 §6)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, competition_body, free_port
from flask_migrate import upgrade

from scoring import create_app
from scoring.auth.operations import create_user, issue_token
from scoring.extensions import db


@pytest.fixture
def stored_database(tmp_path) -> str:
    """A temporary SQLite database that already holds a competition, so `make run` loads no demo (whose
    credentials file would land in this checkout's instance/)."""
    url = f"sqlite:///{tmp_path / 'run.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        token, _ = issue_token(create_user("admin", "admin", "password-admin"))
        db.session.commit()
        made = app.test_client().post("/api/v1/competitions", json=competition_body(),
                                      headers={"Authorization": f"Bearer {token}"})
        assert made.status_code == 201
        db.session.remove()
        db.engine.dispose()
    return url


def start_make_run(database_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "WEB_CONCURRENCY": "2",
           "SCHEDULER_INTERVAL": "1", "LOG_LEVEL": "INFO"}
    env.pop("MAKEFLAGS", None)
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail("make run did not answer in time")


def descendants(root: int) -> dict[int, str]:
    """Every process started under `root` (make, the supervisor, gunicorn and its workers, the scheduler)."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines()]
    family = {root: "make run"}
    for _ in range(5):  # children, grandchildren …
        family |= {int(pid): args for pid, ppid, args in rows if int(ppid) in family}
    return family


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_make_run_stops_calmly(stored_database, how):
    port = free_port()
    process = start_make_run(stored_database, port)
    time.sleep(2)  # the scheduler has run its jobs at least once
    family = descendants(process.pid)
    assert len(family) >= 5, family  # make, serve.py, the scheduler, gunicorn's master and a worker
    os.killpg(process.pid, how)  # what the terminal does on Ctrl-C: the whole foreground group
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("make run did not stop within 60 s")
    shutdown = output.split("starting gunicorn", 1)[-1]
    print(shutdown)
    assert process.returncode in (0, -signal.SIGINT, -signal.SIGTERM, 130, 143), (process.returncode, output)
    for fright in ("Traceback", "Segmentation fault", "Exception ignored", "Error", "*** ["):
        assert fright not in output, (fright, output)
    assert shutdown.count("serve: ") == 1 and f"serve: {how.name}: stopping gunicorn and scheduler" in shutdown
    assert shutdown.count("stopping the scheduler") == 1
    assert shutdown.count("Shutting down: Master") == 1
    time.sleep(0.5)
    assert [args for pid, args in family.items() if alive(pid)] == []
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_scheduler_stops_once_whatever_signals_arrive(stored_database, tmp_path):
    """Ctrl-C and SIGTERM, several of each, as a terminal and a `kill 0` may deliver them: one line, exit 0."""
    log = tmp_path / "scheduler.log"
    env = {**os.environ, "DATABASE_URL": stored_database, "SCHEDULER_INTERVAL": "1", "LOG_LEVEL": "INFO"}
    with log.open("w") as out:
        process = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "scheduler"], cwd=ROOT,
                                   env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while "scheduler running" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
        time.sleep(1.5)  # its jobs have run
        for how in (signal.SIGTERM, signal.SIGTERM, signal.SIGINT, signal.SIGTERM):
            process.send_signal(how)
            time.sleep(0.05)
        code = process.wait(30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log.read_text()
    assert code == 0, output
    assert output.count("stopping the scheduler") == 1, output
    assert "Traceback" not in output and "Exception ignored" not in output, output
