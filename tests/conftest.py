"""Fixtures shared by the whole suite.

- `app`, `client`, `runner`: as in the Flask tutorial, on a database with empty tables.
- `world`: a small competition (three sections, three teams) and a token per role.
- `api`: the API as the tests use it (post, void, veto, close, boards … each asserting its status, and
  `api.problem()` for the problem+json shape, `api.stored()` for "nothing stored changed").
- `login`: POST /api/v1/auth/token for a username and password.
- `months`: this, last and next month (Asia/Shanghai) from the service's clock, and an `observed_at` in each.
- `clock`: moves the service's clock (time-machine). A test or module whose story is set on fixed dates
  marks itself `@pytest.mark.time_machine("2025-11-27T10:00:00+08:00")`, which sets the clock before
  `app` and `world` exist. Tests against real processes (`LiveServer`, scheduler processes) cannot be
  moved this way: they take their months from `months` on the real clock.
- `live_server`: a real gunicorn on a free port against the same database; `browser` and `page`: Debian's
  chromium driven by Playwright.

The suite runs on SQLite (a file per session) and, when TEST_DATABASE_URL is set, on PostgreSQL.
The schema comes from the migrations, once per session; each test starts from empty tables.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from scoring import create_app
from scoring.clock import utcnow
from scoring.extensions import db

ROOT = Path(__file__).resolve().parent.parent
# Fails any test that commits a change to what a board shows without bumping its revision; the `smtp` sink.
pytest_plugins = ["revision_guard", "reports_support"]

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

def bearer(token: str) -> dict:
    """The Authorization header of a bearer token."""
    return {"Authorization": f"Bearer {token}"}


class World:
    """A small competition: three sections, three teams, a token per role (con1: the contractor of LJ-01)."""

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
                                               ("wall", "display", [], self.cid),
                                               ("con1", "contractor", ["LJ-01"], self.cid)):
                user = create_user(name, role, "password-" + name, comp, sections)
                self.tokens[name], _ = issue_token(user)
            db.session.commit()

    def headers(self, who: str | None = "admin") -> dict:
        """The Authorization header of one of the world's people; none for None, a token never issued for "bad"."""
        if who is None:
            return {}
        if who == "bad":
            return {"Authorization": "Bearer not-a-token-0123456789"}
        return bearer(self.tokens[who])

    def url(self, path: str = "") -> str:
        return f"/api/v1/competitions/{self.cid}{path}"


@pytest.fixture
def world(app) -> World:
    return World(app)


# -- the clock and the months around it --------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the world's competition keeps the default zone


@pytest.fixture
def clock(time_machine):
    """The service's clock (scoring.clock), moved by time-machine and ticking on from where it is put:
    `clock.move_to("2027-01-01T00:10:00+08:00")`, `clock.shift(timedelta(days=1))`. To set it before `app` and
    `world` exist (their rows get its time), mark the test `@pytest.mark.time_machine(…)`."""
    return time_machine


def month_key(year: int, month: int) -> str:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return f"{year:04d}-{month:02d}"


@dataclass(frozen=True)
class Months:
    """Month keys (`YYYY-MM`) around the moment it was made, in the competition's zone, and times in them."""

    now: datetime  # aware, Asia/Shanghai

    @property
    def this(self) -> str:
        return self.ago(0)

    @property
    def last(self) -> str:
        return self.ago(1)

    @property
    def next(self) -> str:
        return self.ago(-1)

    @property
    def year(self) -> str:
        """This month's year, `YYYY`."""
        return self.this[:4]

    def ago(self, months: int) -> str:
        """The key of the month `months` before this one (negative: after)."""
        return month_key(self.now.year, self.now.month - months)

    def at(self, key: str, day: int = 15, hour: int = 10, minute: int = 0) -> str:
        """A moment of month `key` on the competition's calendar, as a tablet writes `observed_at`."""
        return datetime(int(key[:4]), int(key[5:]), day, hour, minute, tzinfo=SHANGHAI).isoformat()

    def observed_at(self, key: str | None = None) -> str:
        """An `observed_at` inside month `key` (this month by default) that a tablet may send now: the 15th at
        10:00, or, in this month before then, the current minute. Next month's is beyond the 24 h of slack."""
        key = key or self.this
        moment = self.at(key)
        if key == self.this:
            moment = min(datetime.fromisoformat(moment), self.now.replace(second=0, microsecond=0)).isoformat()
        return moment


@pytest.fixture
def months() -> Months:
    """This, last and next month from the service's clock (moved or not) when the test starts."""
    return Months(utcnow().astimezone(SHANGHAI))


# -- the API as the tests use it ----------------------------------------------------------------------

PROBLEM = "application/problem+json"


class Api:
    """The service through the test client. Each call asserts its answer — the documented success unless
    `status=` names another; an error must then be a well-formed problem — and returns the JSON body."""

    def __init__(self, app, client, world: World, months: Months):
        self.app, self.client, self.world, self.months = app, client, world, months

    def entry(self, month: str | None = None, **overrides) -> dict:
        """An entry as a tablet sends it, observed in `month` (this month by default); override any field."""
        body = {
            "client_id": str(uuid.uuid4()),
            "section": "LJ-01",
            "team": None,
            "criterion": "safety",
            "item": "S1",
            "kind": "deduction",
            "points": 1,
            "observed_at": self.months.observed_at(month),
            "note": "未戴安全帽",
            "location": None,
        }
        body.update(overrides)
        return body

    def answer(self, response, status: int = 200):
        """The JSON of `response` after checking its status (and, for an error, the problem shape)."""
        if status >= 400:
            return self.problem(response, status)
        assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
        return response.get_json()

    def problem(self, response, status: int, *fields: str) -> dict:
        """The response is an RFC 9457 problem with `status`; on 422 its errors name each of `fields`."""
        assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
        assert response.mimetype == PROBLEM, response.mimetype
        body = response.get_json(force=True)
        assert {"type", "title", "status", "detail"} <= set(body), body
        assert body["status"] == status and body["detail"], body
        text = response.get_data(as_text=True)
        assert "Traceback" not in text and 'File "' not in text
        if status == 422:
            assert isinstance(body.get("errors"), dict) and body["errors"], body
        for field in fields:
            assert field in body["errors"], (field, body["errors"])
        return body

    def stored(self) -> dict[str, list[tuple]]:
        """Every row of every table, ordered: two dumps are equal when nothing stored changed."""
        with self.app.app_context():
            dump = {}
            for table in db.metadata.sorted_tables:
                rows = db.session.execute(select(table)).all()
                dump[table.name] = sorted(tuple(map(repr, row)) for row in rows)
            db.session.remove()
            return dump

    def get(self, path: str, who: str | None = "admin", status: int = 200):
        """GET a path of the world's competition (`/entries?status=late`); the response, its status checked."""
        response = self.client.get(self.world.url(path), headers=self.world.headers(who))
        self.answer(response, status)
        return response

    def post(self, body: dict | None = None, who: str | None = "admin", status: int = 201, month: str | None = None,
             **fields) -> dict:
        """POST one entry: `body` as given, or `entry(month, **fields)`."""
        body = self.entry(month, **fields) if body is None else body
        return self.answer(self.client.post(self.world.url("/entries"), json=body, headers=self.world.headers(who)),
                           status)

    def void(self, entry_id: int, who: str | None = "admin", reason: str = "录入错误", status: int = 200) -> dict:
        return self.answer(self.client.post(f"/api/v1/entries/{entry_id}/void", json={"reason": reason},
                                            headers=self.world.headers(who)), status)

    def veto(self, section: str = "LJ-01", period: str | None = None, reason: str = "发生一般安全事故",
             team: str | None = None, who: str | None = "admin", status: int = 201, **fields) -> dict:
        body = {"section": section, "team": team, "period": period or self.months.this, "reason": reason, **fields}
        return self.answer(self.client.post(self.world.url("/vetoes"), json=body, headers=self.world.headers(who)),
                           status)

    def revoke(self, veto_id: int, reason: str = "复核后撤销", who: str | None = "admin", status: int = 200) -> dict:
        return self.answer(self.client.post(self.world.url(f"/vetoes/{veto_id}/revoke"), json={"reason": reason},
                                            headers=self.world.headers(who)), status)

    def close(self, key: str, who: str | None = "admin", status: int = 200) -> dict:
        return self.answer(self.client.post(self.world.url(f"/periods/{key}/close"), headers=self.world.headers(who)),
                           status)

    def reopen(self, key: str, reason: str = "补录迟到数据", who: str | None = "admin", status: int = 200) -> dict:
        return self.answer(self.client.post(self.world.url(f"/periods/{key}/reopen"), json={"reason": reason},
                                            headers=self.world.headers(who)), status)

    def board(self, period: str | None = None, kind: str = "sections", who: str = "viewer") -> dict:
        """The leaderboard of `period` (this month by default) as served."""
        return self.get(f"/leaderboard?board={kind}&period={period or self.months.this}", who).get_json()

    def rows(self, period: str | None = None, kind: str = "sections", who: str = "viewer") -> dict[str, dict]:
        """The board's rows by subject code."""
        return {row["code"]: row for row in self.board(period, kind, who)["rows"]}

    def audit(self, query: str = "") -> list[dict]:
        return self.get(f"/audit{query}").get_json()

    # -- rectification notices (§7) --

    def due(self, days: int = 7) -> str:
        """A rectify_by `days` after today on the competition's calendar."""
        from datetime import timedelta

        return (utcnow().astimezone(SHANGHAI).date() + timedelta(days=days)).isoformat()

    def notice(self, who: str = "sup1", rectify_by: str | None = None, **fields) -> dict:
        """Post a deduction with a rectification deadline; the notice it opened (GET /notices/{id})."""
        entry = self.post(who=who, rectify_by=rectify_by or self.due(), **fields)
        listed = self.get(f"/notices?section={entry['section']}&per_page=500").get_json()
        (found,) = [n for n in listed if n["entry"]["id"] == entry["id"]]
        return self.show(found["id"])

    def show(self, notice_id: int, who: str = "admin", status: int = 200) -> dict:
        return self.answer(self.client.get(f"/api/v1/notices/{notice_id}", headers=self.world.headers(who)), status)

    def respond(self, notice_id: int, who: str = "con1", status: int = 201, note: str = "已整改，补设防护栏",
                **fields) -> dict:
        return self.answer(self.client.post(f"/api/v1/notices/{notice_id}/responses", json={"note": note, **fields},
                                            headers=self.world.headers(who)), status)

    def review(self, notice_id: int, result: str = "pass", who: str = "sup1", status: int = 200,
               note: str | None = "复查合格", **fields) -> dict:
        return self.answer(self.client.post(f"/api/v1/notices/{notice_id}/review",
                                            json={"result": result, "note": note, **fields},
                                            headers=self.world.headers(who)), status)


@pytest.fixture
def api(app, client, world, months) -> Api:
    return Api(app, client, world, months)


@pytest.fixture
def login(client):
    """`login(username, password, **client_kwargs)`: the answer of POST /api/v1/auth/token."""
    def login(username: str, password: str, **kwargs):
        return client.post("/api/v1/auth/token", json={"username": username, "password": password}, **kwargs)
    return login


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


@pytest.fixture
def page(browser):
    """A fresh 1920×1080 page in Chinese and Shanghai time; `page.console_errors` collects script errors and CSP
    violations."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()


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
        # gunicorn's log goes to a file, not a pipe nobody reads (a full pipe would stall the workers);
        # a failing test quotes its tail with `log_tail()`.
        self.log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
        self.last_log = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: float = 120) -> LiveServer:
        env = {**os.environ, "DATABASE_URL": self.database_url, "PORT": str(self.port), "LOG_LEVEL": "WARNING",
               "SCHEDULER_ENABLED": "0", "WEB_CONCURRENCY": str(self.workers), **self.env}
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket",
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_tail()}")
            try:  # ready when a worker answers, not merely when the master listens
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start in time")

    def log_tail(self, size: int = 8000) -> str:
        log = Path(self.log.name)
        self.last_log = log.read_bytes()[-size:].decode(errors="replace") if log.exists() else self.last_log
        return self.last_log

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
        self.log_tail()
        Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture
def live_server(app, database_url):
    """A started gunicorn (2 workers); tests may stop and start it again."""
    server = LiveServer(database_url).start()
    yield server
    server.stop()
