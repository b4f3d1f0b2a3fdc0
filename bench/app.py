"""The service as deployed plus three baseline routes, for the benchmark only:

    gunicorn -c gunicorn.conf.py --no-control-socket bench.app:app

- `/bench/bare` answers a small JSON dict without touching the database (the floor of any route).
- `/bench/same-writes` takes the body of `POST …/entries` (one entry, or `{"entries": [...]}`) and
  does that route's writes and nothing else, in raw SQL, in one transaction: the entries inserted
  idempotently (ON CONFLICT DO NOTHING) into the real, indexed `entries` table, the two aggregates
  (section and team) upserted, the month's counter bumped (`month_revisions`, which keeps the month's
  ranks cached for the next month's movement), one audit row per entry, the competition's revision bumped. No
  token, no validation, no period check, no answer beyond the ids: the floor of the work a posting
  must do, against which the real route is measured.
- `/bench/insert` does one INSERT into a bench-only 3-column table without indexes and commits: a
  second, informative baseline (what a write costs at the very least).

They go through the app's own session and engine (so on SQLite they take the same BEGIN IMMEDIATE
write lock as an entry) and through every hook the real routes pass through (security headers, the
SQLite read-only flag), so the ratios in the table measure the routes' own work. The production app
(`wsgi:app`) never has them.
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint, request
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from config import ConfigError
from scoring import create_app
from scoring.clock import utcnow
from scoring.extensions import db
from scoring.types import UTCDateTime

bench_metadata = MetaData()  # not the app's metadata: the migrations never see this table
bench_rows = Table(
    "bench_rows", bench_metadata,
    Column("id", Integer, primary_key=True),
    Column("note", String(64)),
    Column("at", UTCDateTime),
)

bp = Blueprint("bench", __name__, url_prefix="/bench")


@bp.get("/bare")
def bare():
    return {"status": "ok", "service": "scoring", "bench": True}


@bp.post("/insert")
def insert_row():
    db.session.execute(insert(bench_rows).values(note="bench", at=utcnow()))
    db.session.commit()
    return {"status": "created"}, 201


@dataclass
class Ids:
    """What the raw writes need to turn codes into ids: read once per worker (the floor of the work
    leaves out the lookups a real posting makes)."""

    competition: int
    timezone: ZoneInfo
    sections: dict[str, int]
    teams: dict[str, int]
    supervisor: int
    supervisor_name: str


_ids: Ids | None = None


def _load_ids(conn) -> Ids:
    global _ids
    if _ids is None:
        cid = int(conn.exec_driver_sql("SELECT value FROM bench_meta WHERE key = 'competition'").scalar())
        mark = _mark(conn)
        tz = conn.exec_driver_sql(f"SELECT timezone FROM competitions WHERE id = {mark}", (cid,)).scalar()
        sections = dict(conn.exec_driver_sql(f"SELECT code, id FROM sections WHERE competition_id = {mark}",
                                             (cid,)).all())
        teams = dict(conn.exec_driver_sql(f"SELECT code, id FROM teams WHERE competition_id = {mark}", (cid,)).all())
        user = conn.exec_driver_sql("SELECT id, username FROM users WHERE username = 'bench-tablet'").first()
        _ids = Ids(cid, ZoneInfo(tz), sections, teams, user[0], user[1])
    return _ids


def _mark(conn) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _values(mark: str, rows: list[tuple]) -> tuple[str, list]:
    """A multi-row VALUES list and its flat parameters."""
    one = "(" + ", ".join([mark] * len(rows[0])) + ")"
    return ", ".join([one] * len(rows)), tuple(value for row in rows for value in row)


@bp.post("/same-writes")
def same_writes():
    body = json.loads(request.get_data())
    batch = isinstance(body, dict) and "entries" in body
    payloads = body["entries"] if batch else [body]
    conn = db.session.connection()
    ids, mark, sqlite = _load_ids(conn), _mark(conn), conn.dialect.name == "sqlite"
    now = utcnow()

    def points(value) -> int | Decimal:  # SQLite keeps hundredths (scoring.types.Points)
        exact = Decimal(str(value)).quantize(Decimal("0.01"))
        return int(exact.scaleb(2)) if sqlite else exact

    def stamp(moment: datetime):  # SQLite keeps naive UTC text (scoring.types.UTCDateTime)
        moment = moment.astimezone(UTC)
        return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment

    rows, counted = [], {}
    for p in sorted(payloads, key=lambda p: p["client_id"]):  # one order for every writer, as the app does
        observed = datetime.fromisoformat(p["observed_at"])
        period = observed.astimezone(ids.timezone).strftime("%Y-%m")
        section, team = ids.sections[p["section"]], ids.teams[p["team"]] if p["team"] else None
        location = p["location"] or {}
        rows.append((ids.competition, p["client_id"], section, team, p["criterion"], p["item"], p["kind"],
                     points(p["points"]), stamp(observed), period, p["note"], location.get("lat"),
                     location.get("lon"), "counted", stamp(now), ids.supervisor))
        counted[p["client_id"]] = (period, section, team, p["criterion"], p["item"] or "", p["kind"],
                                   Decimal(str(p["points"])))

    values, params = _values(mark, rows)
    created = dict(conn.exec_driver_sql(
        "INSERT INTO entries (competition_id, client_id, section_id, team_id, criterion, item, kind, points, "
        f"observed_at, period, note, lat, lon, status, received_at, supervisor_id) VALUES {values} "
        "ON CONFLICT (competition_id, client_id) DO NOTHING RETURNING client_id, id", params).all())
    if created:
        sums: dict[tuple, list] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
        for client_id in created:
            period, section, team, criterion, item, kind, value = counted[client_id]
            for board, subject in (("sections", section), ("teams", team)):
                if subject is not None:
                    d = sums[(period, board, subject, criterion, item)]
                    d[0 if kind == "deduction" else 1] += value
                    d[2] += 1
        values, params = _values(mark, [(ids.competition, *key, points(d), points(b), n)
                                        for key, (d, b, n) in sorted(sums.items())])
        conn.exec_driver_sql(
            "INSERT INTO subject_tallies (competition_id, period, board, subject_id, criterion, item, deductions, "
            f"bonuses, entries) VALUES {values} ON CONFLICT (competition_id, period, board, subject_id, criterion, "
            "item) DO UPDATE SET deductions = subject_tallies.deductions + excluded.deductions, "
            "bonuses = subject_tallies.bonuses + excluded.bonuses, "
            "entries = subject_tallies.entries + excluded.entries",
            params)
        # The competition's row before the month's counter, in the app's order (tallies._bump_months):
        # the other order deadlocks with a posting of the app on PostgreSQL.
        conn.exec_driver_sql(f"UPDATE competitions SET revision = revision + 1 WHERE id = {mark}", (ids.competition,))
        values, params = _values(mark, [(ids.competition, month, 1) for month in sorted({k[0] for k in sums})])
        conn.exec_driver_sql(
            f"INSERT INTO month_revisions (competition_id, period, revision) VALUES {values} ON CONFLICT "
            "(competition_id, period) DO UPDATE SET revision = month_revisions.revision + 1", params)
        detail = mark if sqlite else "CAST(%s AS json)"
        one = f"({', '.join([mark] * 6)}, {detail}, {', '.join([mark] * 2)})"
        params = tuple(value for client_id, entry_id in created.items() for value in (
            ids.competition, stamp(now), ids.supervisor, ids.supervisor_name, "entry.posted", f"entry:{entry_id}",
            _detail(client_id, counted[client_id]), request.user_agent.string[:300] or None, request.remote_addr))
        conn.exec_driver_sql(
            "INSERT INTO audit_events (competition_id, at, actor_id, actor, action, target, detail, user_agent, "
            f"address) VALUES {', '.join([one] * len(created))}", params)
    db.session.commit()
    if batch:
        return {"results": [{"client_id": c, "status": "created" if c in created else "duplicate",
                             "id": created.get(c)} for c in (p["client_id"] for p in payloads)]}
    return {"id": created.get(body["client_id"])}, 201 if created else 200


def _detail(client_id: str, entry: tuple) -> str:
    """The audit detail the real route writes (scoring.entries.operations._audit_posted)."""
    period, section, _team, _criterion, _item, kind, value = entry
    return json.dumps({"client_id": client_id, "section_id": section, "kind": kind, "points": str(value),
                       "period": period, "status": "counted"})


def create_tables(engine) -> None:
    """Made by the runner before gunicorn starts (two workers creating it at once would race)."""
    bench_metadata.create_all(engine)


def create_bench_app(settings: dict | None = None):
    app = create_app(settings)
    app.register_blueprint(bp)
    return app


try:
    app = create_bench_app()
except ConfigError as error:
    sys.exit(f"configuration error: {error}")
