"""The benchmark table: `python -m bench.run [--smoke]` (make bench / make bench-smoke).

Runs the service as deployed — gunicorn (2 sync workers) on 127.0.0.1 serving `bench.app:app` over a
copy of a cached data set — drives it with wrk (bounded by time and by a cap on answers) and prints
a markdown table. Every ratio is measured side by side in the same run: the two sides alternate in
short rounds (A B, B A, A B …) so that noise from other work on the machine falls on both alike.

SQLite by default; BENCH_DATABASE_URL=postgresql+psycopg://USER@HOST:PORT/ANY for PostgreSQL.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from . import generate
from .generate import ROOT, SUPERVISOR_SECTIONS, section_code

LUA = Path(__file__).resolve().parent / "lua"
WORKERS = 2


@dataclass
class Profile:
    big: int
    small: int
    seconds: float  # one side of one round of load
    rounds: int
    batches: int  # batches of 500 per side and round
    rebuilds: int
    render_budget: float  # seconds of report rendering, the rest extrapolated


FULL = Profile(big=1_000_000, small=10_000, seconds=4, rounds=5, batches=6, rebuilds=3, render_budget=120)
SMOKE = Profile(big=10_000, small=2_000, seconds=1, rounds=2, batches=2, rebuilds=1, render_budget=2)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the server --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn -c gunicorn.conf.py bench.app:app on a free port of 127.0.0.1."""

    def __init__(self, database_url: str):
        self.database_url, self.port = database_url, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: float = 60) -> Server:
        env = {**os.environ, "DATABASE_URL": self.database_url, "PORT": str(self.port), "LOG_LEVEL": "WARNING",
               "SCHEDULER_ENABLED": "0", "WEB_CONCURRENCY": str(WORKERS), "GUNICORN_THREADS": "1"}
        env.pop("ACCESS_LOG", None)
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.process = subprocess.Popen(
            [gunicorn, "-c", "gunicorn.conf.py", "--no-control-socket", "bench.app:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                status, _ = request(self.port, "GET", "/bench/bare")
                if status == 200 and len(self.worker_pids()) == WORKERS:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start in time")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def peak_rss_mib(self) -> float:
        """The largest VmHWM (peak resident set) among the workers."""
        peaks = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 60) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- the load generator ----------------------------------------------------------------------------

def wrk(url: str, script: str, args: list[str], seconds: float, connections: int, cap: int = 200_000) -> dict:
    """One wrk run; returns its counts and latencies (see lua/common.lua)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA / script),
               url, "--", *args]
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA)}
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 30, check=True).stdout
    result = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    if result["unexpected"] or result["socket_errors"]:
        log(f"  warning: {script} {url}: {result['unexpected']} unexpected answers, "
            f"{result['socket_errors']} socket errors")
    return result


@dataclass
class Side:
    runs: list[dict] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return sum(r["requests"] for r in self.runs) / sum(r["duration_us"] / 1e6 for r in self.runs)

    @property
    def latency_ms(self) -> float:
        # the median over rounds of each round's median: one slow round (another job's burst) moves it least
        return statistics.median(r["latency_p50_us"] for r in self.runs) / 1000


def alternate(rounds: int, a, b) -> tuple[Side, Side]:
    """Run a() and b() in alternating order, `rounds` times each (A B, B A, A B …)."""
    first, second = Side(), Side()
    for n in range(rounds):
        if n % 2 == 0:
            first.runs.append(a())
            second.runs.append(b())
        else:
            second.runs.append(b())
            first.runs.append(a())
    return first, second


# -- the data --------------------------------------------------------------------------------------

@dataclass
class Dataset:
    size: int
    url: str
    cid: int
    tokens: dict[str, str]
    server: Server | None = None


def prepare(size: int, base: str | None) -> Dataset:
    """A working copy of the cached data set, the baseline table, and a fresh token per role."""
    from bench.app import create_tables
    from scoring import create_app
    from scoring.auth.models import User
    from scoring.auth.operations import issue_token
    from scoring.extensions import db

    generate.ensure(size, base)
    url = generate.working_copy(size, base)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        create_tables(db.engine)
        cid = int(db.session.scalar(text("SELECT value FROM bench_meta WHERE key = 'competition'")))
        tokens = {}
        for name in ("admin", "viewer", "wall", "tablet"):
            user = db.session.scalar(db.select(User).where(User.username == f"bench-{name}"))
            tokens[name], _ = issue_token(user)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return Dataset(size, url, cid, tokens)


def observed_now() -> str:
    """An observation time an hour ago, as a tablet in Shanghai writes it."""
    local = (datetime.now(UTC) - timedelta(hours=1)).astimezone(ZoneInfo(generate.TIMEZONE))
    return local.isoformat(timespec="seconds")


def entry_payload(client_id: str, n: int, observed_at: str) -> dict:
    item, criterion = generate.ITEMS[n % len(generate.ITEMS)]
    return {"client_id": client_id, "section": section_code(n % SUPERVISOR_SECTIONS + 1), "team": None,
            "criterion": criterion, "item": item, "kind": "deduction", "points": 1.5, "observed_at": observed_at,
            "note": "未戴安全帽", "location": None}


# -- the measures ------------------------------------------------------------------------------------

@dataclass
class Line:
    measure: str
    result: str
    baseline: str
    ratio: float | None
    target: str  # e.g. ">= 0.8", "<= 1.2", "report"
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.ratio is None or self.target == "report":
            return "—"
        op, bound = self.target.split()
        ok = self.ratio >= float(bound) if op == ">=" else self.ratio <= float(bound)
        return "met" if ok else "**missed**"


def leaderboard_path(ds: Dataset) -> str:
    return f"/api/v1/competitions/{ds.cid}/leaderboard?board=sections&period=current"


def measure_reads(big: Dataset, p: Profile) -> Line:
    url = big.server.host
    board, bare = alternate(
        p.rounds,
        lambda: wrk(url + leaderboard_path(big), "get.lua", [big.tokens["viewer"], "200", "200000"], p.seconds, 4),
        lambda: wrk(url + "/bench/bare", "get.lua", ["-", "200", "200000"], p.seconds, 4),
    )
    return Line(f"leaderboard reads/s, {big.size:,} entries stored", f"{board.rps:,.0f}/s",
                f"bare JSON route {bare.rps:,.0f}/s", board.rps / bare.rps, ">= 0.8")


def measure_latency(big: Dataset, small: Dataset, p: Profile) -> Line:
    large, little = alternate(
        p.rounds,
        lambda: wrk(big.server.host + leaderboard_path(big), "get.lua", [big.tokens["viewer"], "200", "200000"],
                    p.seconds, 1),
        lambda: wrk(small.server.host + leaderboard_path(small), "get.lua",
                    [small.tokens["viewer"], "200", "200000"], p.seconds, 1),
    )
    return Line(f"leaderboard latency, {big.size:,} vs {small.size:,} entries", f"{large.latency_ms:.2f} ms",
                f"{little.latency_ms:.2f} ms", large.latency_ms / little.latency_ms, "<= 1.2",
                "one connection, median")


def measure_rebuilt_board(big: Dataset, small: Dataset, p: Profile) -> Line:
    """The board computed afresh (as after every write), in-process: 1M vs 10k."""
    times = {}
    for ds in (big, small):
        times[ds.size] = _in_app(ds.url, _time_board_builds, ds.cid, 20 if p is FULL else 3)
    ratio = times[big.size] / times[small.size]
    return Line(f"board recomputed after a write, {big.size:,} vs {small.size:,} entries",
                f"{times[big.size] * 1000:.1f} ms", f"{times[small.size] * 1000:.1f} ms", ratio, "report",
                "in-process, no cache")


def _time_board_builds(cid: int, n: int) -> float:
    from scoring.competitions.operations import get_competition
    from scoring.standings import operations

    competition = get_competition(cid)
    key = operations.resolve_period(competition, "current")
    samples = []
    for _ in range(n):
        operations._cache.clear()
        started = time.perf_counter()
        operations.leaderboard_body(competition, "sections", key)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure_wall(big: Dataset, p: Profile) -> Line:
    path = leaderboard_path(big)
    status, _ = request(big.server.port, "GET", path, headers={"Authorization": f"Bearer {big.tokens['wall']}"})
    etag = _etag(big, path)
    status, _ = request(big.server.port, "GET", path,
                        headers={"Authorization": f"Bearer {big.tokens['wall']}", "If-None-Match": etag})
    assert status == 304, f"the wall poll answered {status}, not 304"
    url = big.server.host
    poll, bare = alternate(
        p.rounds,
        lambda: wrk(url + path, "get.lua", [big.tokens["wall"], "304", "200000", etag], p.seconds, 4),
        lambda: wrk(url + "/bench/bare", "get.lua", ["-", "200", "200000"], p.seconds, 4),
    )
    return Line("wall-display poll answered 304, /s", f"{poll.rps:,.0f}/s", f"bare JSON route {bare.rps:,.0f}/s",
                poll.rps / bare.rps, ">= 0.9")


def _etag(ds: Dataset, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", ds.server.port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {ds.tokens['wall']}"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.getheader("ETag")


def measure_single_posts(big: Dataset, p: Profile) -> Line:
    url = big.server.host
    sections = ",".join(section_code(n) for n in range(1, SUPERVISOR_SECTIONS + 1))
    observed = observed_now()
    posts, inserts = alternate(
        p.rounds,
        lambda: wrk(url + f"/api/v1/competitions/{big.cid}/entries", "post_entry.lua",
                    [big.tokens["tablet"], "100000", uuid.uuid4().hex[:8], observed, sections], p.seconds, 4),
        lambda: wrk(url + "/bench/insert", "get.lua", ["-", "201", "100000", "-", "POST"], p.seconds, 4),
    )
    return Line("single-entry POST /s", f"{posts.rps:,.0f}/s", f"bare INSERT + commit route {inserts.rps:,.0f}/s",
                posts.rps / inserts.rps, ">= 0.6")


def measure_batches(big: Dataset, p: Profile) -> Line:
    """Batches of 500 from two tablets at once vs the same rows by a raw executemany, one transaction each."""
    observed = observed_now()
    path = f"/api/v1/competitions/{big.cid}/entries"
    headers = {"Authorization": f"Bearer {big.tokens['tablet']}", "Content-Type": "application/json"}
    db_rows = _in_app(big.url, _row_template, big.cid)

    def batches(prefix: str) -> list[list[dict]]:
        return [[entry_payload(f"{prefix}-{b}-{n}", n, observed) for n in range(500)] for b in range(p.batches)]

    def post_side() -> dict:
        bodies = [json.dumps({"entries": batch}).encode() for batch in batches(f"app-{uuid.uuid4().hex[:8]}")]
        failures = []

        def client(mine):
            for body in mine:
                status, answer = request(big.server.port, "POST", path, body, headers)
                results = json.loads(answer)["results"] if status == 200 else []
                if status != 200 or any(r["status"] != "created" for r in results):
                    failures.append(status)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(bodies[k::2],)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        elapsed = time.perf_counter() - started
        if failures:
            raise RuntimeError(f"batch POSTs failed: {failures[:5]}")
        return {"entries": 500 * len(bodies), "seconds": elapsed}

    def raw_side() -> dict:
        rows = [[_as_row(e, db_rows, observed) for e in batch] for batch in batches(f"raw-{uuid.uuid4().hex[:8]}")]
        return {"entries": 500 * len(rows), "seconds": _raw_executemany(big.url, rows)}

    app_side, raw = alternate(p.rounds, post_side, raw_side)
    app_rate = sum(r["entries"] for r in app_side.runs) / sum(r["seconds"] for r in app_side.runs)
    raw_rate = sum(r["entries"] for r in raw.runs) / sum(r["seconds"] for r in raw.runs)
    return Line("batch POST entries/s (500 a batch)", f"{app_rate:,.0f}/s", f"raw executemany {raw_rate:,.0f}/s",
                app_rate / raw_rate, ">= 0.5", "2 clients vs 1 connection")


def _row_template(cid: int) -> dict:
    from scoring.auth.models import User
    from scoring.competitions.models import Competition, Section
    from scoring.entries.operations import period_of
    from scoring.extensions import db

    competition = db.session.get(Competition, cid)
    sections = dict(db.session.execute(db.select(Section.code, Section.id)
                                       .where(Section.competition_id == cid)).all())
    tablet = db.session.scalar(db.select(User.id).where(User.username == "bench-tablet"))
    return {"cid": cid, "sections": sections, "supervisor": tablet, "dialect": db.engine.dialect.name,
            "period": period_of(datetime.fromisoformat(observed_now()), competition.timezone)}


def _as_row(e: dict, t: dict, observed: str) -> tuple:
    from decimal import Decimal

    sqlite = t["dialect"] == "sqlite"
    at = datetime.fromisoformat(observed).astimezone(UTC)
    now = datetime.now(UTC)
    points = Decimal(str(e["points"]))
    stamp = (lambda d: d.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda d: d)
    return (t["cid"], e["client_id"], t["sections"][e["section"]], None, e["criterion"], e["item"], e["kind"],
            int(points * 100) if sqlite else points, stamp(at), t["period"], e["note"], None, None, "counted",
            stamp(now), t["supervisor"])


def _raw_executemany(url: str, batches: list[list[tuple]]) -> float:
    """Seconds to insert the batches with the driver's executemany, one transaction per batch."""
    from sqlalchemy import create_engine

    import scoring.extensions  # noqa: F401 - the same SQLite pragmas as the app (WAL, synchronous=NORMAL)

    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        sqlite = engine.dialect.name == "sqlite"
        columns = ", ".join(generate.COLUMNS)
        marks = ", ".join(("?" if sqlite else "%s") for _ in generate.COLUMNS)
        sql = f"INSERT INTO entries ({columns}) VALUES ({marks})"
        started = time.perf_counter()
        for rows in batches:
            if sqlite:
                conn = raw.driver_connection
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(sql, rows)
                conn.execute("COMMIT")
            else:
                with raw.cursor() as cursor:
                    cursor.executemany(sql, rows)
                raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()
        engine.dispose()


def measure_rebuild(big: Dataset, p: Profile) -> Line:
    rebuild, group_by = _in_app(big.url, _time_rebuilds, p.rebuilds)
    return Line(f"full aggregate rebuild, {big.size:,} entries", f"{rebuild:.2f} s",
                f"raw SQL GROUP BY {group_by:.2f} s", rebuild / group_by, "<= 2", "in-process, median")


GROUP_BY = """
SELECT competition_id, period, {subject}, criterion, coalesce(item, ''),
       sum(CASE WHEN kind = 'deduction' THEN points ELSE 0 END),
       sum(CASE WHEN kind = 'bonus' THEN points ELSE 0 END), count(*)
FROM entries WHERE status = 'counted' {extra}
GROUP BY competition_id, period, {subject}, criterion, coalesce(item, '')
"""


def _time_rebuilds(n: int) -> tuple[float, float]:
    from scoring.extensions import db
    from scoring.standings import tallies

    def rebuild():
        started = time.perf_counter()
        tallies.rebuild()
        db.session.commit()
        return time.perf_counter() - started

    def group_by():
        started = time.perf_counter()
        rows = 0
        for subject, extra in (("section_id", ""), ("team_id", "AND team_id IS NOT NULL")):
            rows += len(db.session.execute(text(GROUP_BY.format(subject=subject, extra=extra))).all())
        db.session.commit()
        return time.perf_counter() - started

    a, b = alternate(n, lambda: {"t": rebuild()}, lambda: {"t": group_by()})
    return statistics.median(r["t"] for r in a.runs), statistics.median(r["t"] for r in b.runs)


def measure_close(big: Dataset, p: Profile) -> list[Line]:
    """Close last month through the API (snapshots, red flag, 500 deliveries queued), then render the
    reports as the mailer does (`reports.mail.build_message`, one render per scope, shared by the
    recipients of that scope). Rendering is bounded by a time budget; past it the rest is extrapolated."""
    key = generate.month_keys()[-2]
    _in_app(big.url, _add_recipients, big.cid)
    started = time.perf_counter()
    status, body = request(big.server.port, "POST", f"/api/v1/competitions/{big.cid}/periods/{key}/close",
                           b"", {"Authorization": f"Bearer {big.tokens['admin']}"}, timeout=600)
    close = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"closing {key} answered {status}: {body[:300]!r}")
    rendered = _in_app(big.url, _render_reports, big.cid, key, p.render_budget)
    label = f"close a month + render reports, {generate.N_SECTIONS} sections, 500 recipients"
    if rendered is None:
        return [Line(label, f"close {close:.2f} s", "—", None, "report", "report rendering not available")]
    seconds, done, total = rendered
    render = seconds * total / done
    note = f"close via API {close:.2f} s" + ("" if done == total else
                                              f"; {done} of {total} rendered in {seconds:.0f} s, rest extrapolated")
    return [Line(label, f"{close + render:.2f} s", f"rendering alone {render:.2f} s", (close + render) / render,
                 "report", note)]


def _add_recipients(cid: int) -> None:
    from scoring.competitions.models import Section
    from scoring.extensions import db
    from scoring.reports.models import Recipient

    sections = db.session.scalars(db.select(Section.id).where(Section.competition_id == cid)
                                  .order_by(Section.code)).all()
    scoped = [{"competition_id": cid, "email": f"section{n}@example.org", "name": f"标段{n}", "section_id": sid}
              for n, sid in enumerate(sections, 1)]
    office = [{"competition_id": cid, "email": f"office{n}@example.org", "name": f"指挥部{n}", "section_id": None}
              for n in range(500 - len(scoped))]
    db.session.execute(db.insert(Recipient), scoped + office)
    db.session.commit()


def _render_reports(cid: int, key: str, budget: float) -> tuple[float, int, int] | None:
    """(seconds, rendered, total): the month's messages built as the mailer builds them, until the budget."""
    from scoring.extensions import db
    from scoring.reports.models import Delivery

    try:
        from scoring.reports.mail import build_message
    except ImportError:
        return None
    deliveries = db.session.scalars(db.select(Delivery).where(Delivery.competition_id == cid,
                                                              Delivery.period == key).order_by(Delivery.id)).all()
    started = time.perf_counter()
    cache: dict = {}
    done = 0
    for delivery in deliveries:
        delivery.message_id = delivery.message_id or f"<bench-{delivery.id}@localhost>"
        build_message(delivery, cache)
        done += 1
        if time.perf_counter() - started > budget:
            break
    elapsed = time.perf_counter() - started
    db.session.rollback()
    return elapsed, done, len(deliveries)


def _in_app(url: str, function, *args):
    """Call function(*args) inside an app context on `url`, in this process."""
    from scoring import create_app
    from scoring.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
    with app.app_context(), app.test_request_context():
        try:
            return function(*args)
        finally:
            db.session.remove()
            db.engine.dispose()


# -- the table ---------------------------------------------------------------------------------------

def machine(base: str | None) -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    if base is None:
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version} (WAL)"
    else:
        from sqlalchemy import create_engine

        engine = create_engine(base)
        with engine.connect() as conn:
            database = "PostgreSQL " + conn.scalar(text("SHOW server_version")).split()[0]
        engine.dispose()
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split()[1:2]
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "nproc": os.cpu_count(), "cpu": cpu,
            "python": platform.python_version(), "database": database,
            "load": f"wrk {' '.join(wrk_version)}", "loadavg": os.getloadavg()[0]}


def table(lines: list[Line], info: dict, smoke: bool) -> str:
    out = [
        f"Benchmark{' (smoke: small data, short runs — not for the README)' if smoke else ''}, {info['date']}: "
        f"{info['nproc']} cores ({info['cpu']}), Python {info['python']}, {info['database']}, "
        f"gunicorn {WORKERS} sync workers on 127.0.0.1, {info['load']}; load average at start "
        f"{info['loadavg']:.2f}.",
        "",
        "| measure | result | compared with, in the same run | ratio | target | |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for line in lines:
        ratio = "—" if line.ratio is None else f"{line.ratio:.2f}×"
        target = "report it" if line.target == "report" else line.target.replace(">=", "≥").replace("<=", "≤") + "×"
        note = f" ({line.note})" if line.note else ""
        out.append(f"| {line.measure} | {line.result} | {line.baseline}{note} | {ratio} | {target} | {line.verdict} |")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Print the benchmark table.")
    parser.add_argument("--smoke", action="store_true", help="Small data and short runs (CI, under a minute).")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make system-deps` (apt-get install wrk)")
    p = SMOKE if args.smoke else FULL
    base = generate.base_url()
    started = time.monotonic()
    info = machine(base)
    big, small = prepare(p.big, base), prepare(p.small, base)
    lines: list[Line] = []
    try:
        for ds in (big, small):
            ds.server = Server(ds.url).start()
        for ds in (big, small):  # warm both workers' caches and connections
            for _ in range(4 * WORKERS):
                request(ds.server.port, "GET", leaderboard_path(ds), headers={
                    "Authorization": f"Bearer {ds.tokens['viewer']}"})
        steps = [
            ("leaderboard reads", lambda: [measure_reads(big, p)]),
            ("leaderboard latency", lambda: [measure_latency(big, small, p)]),
            ("wall polls", lambda: [measure_wall(big, p)]),
            ("single posts", lambda: [measure_single_posts(big, p)]),
            ("batch posts", lambda: [measure_batches(big, p)]),
            ("board after a write", lambda: [measure_rebuilt_board(big, small, p)]),
            ("aggregate rebuild", lambda: [measure_rebuild(big, p)]),
            ("month close", lambda: measure_close(big, p)),
        ]
        for name, step in steps:
            log(f"measuring {name} … ({time.monotonic() - started:.0f} s)")
            lines.extend(step())
        lines.append(Line("peak RSS of a worker after the above", f"{big.server.peak_rss_mib():.0f} MiB", "—", None,
                          "report"))
    finally:
        for ds in (big, small):
            if ds.server:
                ds.server.stop()
            generate.drop_working_copy(ds.size, base)
    print(table(lines, info, args.smoke))
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
