"""Fixtures: `app`, `client` and `runner` as in the Flask tutorial, plus a small competition, tokens
per role, and `live_server` (a real gunicorn on a free port against the same database).

The suite runs on SQLite (a file per session) and, when TEST_DATABASE_URL is set, on PostgreSQL.
The schema comes from the migrations, once per session; each test starts from empty tables.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from scoring import create_app
from scoring.extensions import db

ROOT = Path(__file__).resolve().parent.parent
# Fails any test that commits a change to what a board shows without bumping its revision.
pytest_plugins = ["revision_guard"]

CRITERIA = [
    ("quality", "比工艺工法、赛工程质量", "25", "3", [("Q1", "实体质量", "15"), ("Q2", "工艺工法", "10")]),
    ("safety", "比平安稳定、赛安全生产", "25", "3", [("S1", "安全防护", "15"), ("S2", "安全管理", "10")]),
    ("schedule", "比节点管控、赛工程进度", "20", "2", [("P1", "节点完成", "20")]),
    ("environment", "比措施达标、赛工地环保", "15", "2", [("E1", "扬尘治理", "15")]),
    ("management", "比协同高效、赛精细管理", "15", "2", [("M1", "内业资料", "15")]),
]


def competition_body(**overrides) -> dict:
    body = {
        "name": "市大外环五比五赛",
        "organizer": "市公路事业发展中心",
        "timezone": "Asia/Shanghai",
        "criteria": [
            {"code": code, "name": name, "weight": float(weight), "bonus_cap": float(cap),
             "items": [{"code": ic, "name": iname, "max_points": float(mp)} for ic, iname, mp in items]}
            for code, name, weight, cap, items in CRITERIA
        ],
        "tie_break": ["safety", "quality", "schedule", "environment", "management"],
    }
    body.update(overrides)
    return body


# -- the database ------------------------------------------------------------------------------

def _postgres_url(url: str) -> str:
    """Make sure the test database exists and has an empty public schema."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = _postgres_url(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    return url


def empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                      "LOGIN_MAX_FAILURES": 5, "SECRET_KEY": "test-secret-key-0123456789",
                      # Real salted hashes at a test-sized cost: scrypt takes ~0.3 s a user.
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "DEMO_CREDENTIALS": str(tmp_path / "demo-credentials.json")})
    with app.app_context():
        empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# -- a competition and its people -----------------------------------------------------------------

class World:
    """A small competition: three sections, three teams, a token per role."""

    def __init__(self, app):
        from scoring.auth.operations import create_user, issue_token
        from scoring.competitions.operations import create_competition, create_section, create_team
        from scoring.competitions.schemas import CompetitionIn

        with app.app_context():
            competition = create_competition(CompetitionIn().load(competition_body()))
            self.cid = competition.id
            for code, name, start, end in (("LJ-01", "一标段", 0, 15), ("LJ-02", "二标段", 15, 30),
                                           ("LJ-03", "三标段", 30, 45)):
                create_section(competition, {"code": code, "name": name, "start_km": start, "end_km": end,
                                             "contractor": "山东路桥集团"})
            for code, name, leader, section in (("TJD-1", "顾官屯镇党员突击队", "徐大军", "LJ-01"),
                                                ("TJD-2", "二标党员突击队", "李树荣", "LJ-02"),
                                                ("TJD-3", "三标党员突击队", "王军", "LJ-03")):
                create_team(competition, {"code": code, "name": name, "leader": leader, "section": section})
            self.tokens = {}
            for name, role, sections, comp in (("admin", "admin", [], None),
                                               ("sup1", "supervisor", ["LJ-01"], self.cid),
                                               ("sup2", "supervisor", ["LJ-02", "LJ-03"], self.cid),
                                               ("viewer", "viewer", [], None),
                                               ("wall", "display", [], self.cid)):
                user = create_user(name, role, "password-" + name, comp, sections)
                self.tokens[name], _ = issue_token(user)
            db.session.commit()

    def headers(self, who: str = "admin") -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def url(self, path: str = "") -> str:
        return f"/api/v1/competitions/{self.cid}{path}"


@pytest.fixture
def world(app) -> World:
    return World(app)


@pytest.fixture
def months() -> dict[str, str]:
    """This month, last month and the one before in the test competition's zone, from today's clock,
    and `now` (an observed_at inside this month that has passed); `observed(months, key)` is a moment
    inside any of them."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    this = now.replace(day=1)
    last = (this - timedelta(days=1)).replace(day=1)
    before = (last - timedelta(days=1)).replace(day=1)
    return {"this": this.strftime("%Y-%m"), "last": last.strftime("%Y-%m"), "before": before.strftime("%Y-%m"),
            "now": now.isoformat(timespec="seconds")}


def observed(months: dict[str, str], key: str) -> str:
    """A moment inside the month `key` (YYYY-MM) that has already passed."""
    return months["now"] if key == months["this"] else f"{key}-15T10:00:00+08:00"


def entry(**overrides) -> dict:
    """An entry as a tablet sends it; override any field."""
    body = {
        "client_id": str(uuid.uuid4()),
        "section": "LJ-01",
        "team": None,
        "criterion": "safety",
        "item": "S1",
        "kind": "deduction",
        "points": 1,
        "observed_at": "2026-11-02T10:15:00+08:00",
        "note": "未戴安全帽",
        "location": None,
    }
    body.update(overrides)
    return body


# -- Debian's chromium, through Playwright -------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """One chromium per test module (each test opens its own context: its own storage)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# -- a real gunicorn -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """gunicorn serving wsgi:app on 127.0.0.1, started and stopped by the test."""

    def __init__(self, database_url: str, workers: int = 2, port: int | None = None, env: dict | None = None):
        self.database_url, self.workers = database_url, workers
        self.port = port or free_port()
        self.env = env or {}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: float = 60) -> LiveServer:
        env = {**os.environ, "DATABASE_URL": self.database_url, "PORT": str(self.port), "LOG_LEVEL": "WARNING",
               "SCHEDULER_ENABLED": "0", "WEB_CONCURRENCY": str(self.workers), **self.env}
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket",
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.process.stderr.read().decode()[-2000:]}")
            try:  # ready when a worker answers, not merely when the master listens
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start in time")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def live_server(app, database_url):
    """A started gunicorn (2 workers); tests may stop and start it again."""
    server = LiveServer(database_url).start()
    yield server
    server.stop()
