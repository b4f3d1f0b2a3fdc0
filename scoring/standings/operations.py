"""Boards from the database: loads tallies, vetoes and snapshots, and hands them to the engine.

This is the only place that turns stored data into standings; the leaderboard, month close,
daily history, mail and exports all call `board_rows` / `year_rows`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from threading import Lock

from cachetools import LRUCache, cached
from sqlalchemy import bindparam, func, select

from ..clock import utcnow
from ..competitions.models import Competition, Section, Team
from ..errors import Problem
from ..extensions import db
from ..month import Month, is_span, span_months
from ..notices.operations import wall_badges
from ..periods.models import Period, Snapshot
from ..types import json_default
from ..vetoes.models import Veto, VetoRevocation
from . import engine
from .models import DailyStanding, MonthRevision, SubjectTally

BOARDS = ("sections", "teams")


def rules_of(competition: Competition) -> engine.Rules:
    return engine.Rules(
        criteria=tuple(
            engine.CriterionRule(c.code, c.bonus_cap, tuple(engine.ItemRule(i.code, i.max_points) for i in c.items))
            for c in competition.criteria
        ),
        tie_break=tuple(competition.tie_break),
        general_bonus_cap=competition.general_bonus_cap,
    )


def _subjects(competition_id: int, board: str) -> dict[int, engine.Subject]:
    model = Section if board == "sections" else Team
    rows = db.session.execute(select(model.id, model.code, model.name).where(model.competition_id == competition_id))
    return {id_: engine.Subject(code, name) for id_, code, name in rows}


def _tallies(competition_id: int, board: str, key: str, subjects: dict[int, engine.Subject]):
    t = SubjectTally
    result: dict[str, engine.Tally] = {}
    # Core on the session's connection: a board after a write reads a month's aggregates (up to a row
    # per subject and item) twice, this month and the month before, and the ORM's row handling cost
    # more than the query.
    rows = db.session.connection().execute(
        select(t.subject_id, t.criterion, t.item, t.deductions, t.bonuses, t.entries)
        .where(t.competition_id == competition_id, t.period == key, t.board == board, t.entries != 0)
    ).all()  # fetched at once: iterating the result fetches row by row (a driver call per row)
    for subject_id, criterion, item, deductions, bonuses, entries in rows:
        code = subjects[subject_id].code
        tally = result.get(code)
        if tally is None:  # not setdefault(code, Tally()): that makes a Tally (and two dicts) per row
            tally = result[code] = engine.Tally()
        if deductions:
            tally.add(criterion, item, "deduction", deductions, 0)
        if bonuses:
            tally.add(criterion, item, "bonus", bonuses, 0)
        tally.entries += entries
    return result


def active_vetoes(competition_id: int, key: str, board: str) -> dict[str, str]:
    """Subject code -> reason of the vetoes in force for the month (a team veto also vetoes its section)."""
    subject = Section if board == "sections" else Team
    subject_id = Veto.section_id if board == "sections" else Veto.team_id
    rows = db.session.execute(
        select(subject.code, Veto.reason)
        .join(subject, subject.id == subject_id)
        .outerjoin(VetoRevocation, VetoRevocation.veto_id == Veto.id)
        .where(Veto.competition_id == competition_id, Veto.period == key, VetoRevocation.veto_id.is_(None))
        .order_by(Veto.id)
    )
    result: dict[str, str] = {}
    for code, reason in rows:
        result.setdefault(code, reason)
    return result


def flag_counts(competition_id: int, up_to: str | None = None) -> dict[str, int]:
    stmt = (
        select(Section.code, func.count(Period.id))
        .join(Period, Period.flag_section_id == Section.id)
        .where(Period.competition_id == competition_id, Period.status == "closed")
        .group_by(Section.code)
    )
    if up_to is not None:
        stmt = stmt.where(Period.key <= up_to)
    return dict(db.session.execute(stmt).all())


def _period(competition_id: int, key: str) -> Period | None:
    return db.session.scalar(select(Period).where(Period.competition_id == competition_id, Period.key == key))


def latest_snapshot(period_id: int, board: str) -> list[dict] | None:
    return db.session.scalar(
        select(Snapshot.rows).where(Snapshot.period_id == period_id, Snapshot.board == board)
        .order_by(Snapshot.id.desc()).limit(1)
    )


def board_rows(competition: Competition, board: str, key: str, *, live: bool = False,
               with_movement: bool = True) -> list[engine.Row]:
    """One board of one month: the frozen snapshot once the month is closed, else live."""
    period = _period(competition.id, key)
    if not live and period is not None and period.status == "closed":
        stored = latest_snapshot(period.id, board)
        if stored is not None:
            return [engine.Row.from_dict(row) for row in stored]
    subjects = _subjects(competition.id, board)
    rules = rules_of(competition)
    previous = previous_ranks(competition, board, Month(key).previous(), rules, subjects) if with_movement else None
    return engine.standings(
        rules,
        sorted(subjects.values(), key=lambda s: s.code),
        _tallies(competition.id, board, key, subjects),
        active_vetoes(competition.id, key, board),
        previous_ranks=previous,
        flags=flag_counts(competition.id) if board == "sections" else None,
    )


def previous_ranks(competition: Competition, board: str, key: str, rules: engine.Rules,
                   subjects: dict[int, engine.Subject]) -> dict[str, int | None]:
    """The ranks of month `key` (the month before a board's), for its movement column.

    A closed month's come from its snapshot. An open month's are cached per worker under everything they
    depend on: the month's tallies (its `MonthRevision`, bumped with every change of them), its vetoes,
    the rules and the subjects. A write to the board's own month changes none of these, so the board
    recomputed after it reads one month's tallies, not two."""
    period = _period(competition.id, key)
    revision = None
    if period is not None and period.status == "open":
        revision = db.session.scalar(select(MonthRevision.revision).where(
            MonthRevision.competition_id == competition.id, MonthRevision.period == key))
    if revision is None:  # closed (the snapshot is a small read), or no counter yet: not cached
        return {row.code: row.rank for row in board_rows(competition, board, key, with_movement=False)}
    cache_key = ("ranks", competition.id, competition.created_at, board, key, revision, rules,
                 tuple(sorted(subjects.items())), tuple(active_vetoes(competition.id, key, board).items()))
    with _ranks_lock:
        ranks = _ranks.get(cache_key)
    if ranks is None:
        ranks = {row.code: row.rank for row in board_rows(competition, board, key, with_movement=False)}
        with _ranks_lock:
            _ranks[cache_key] = ranks
    return ranks


def span_keys(competition: Competition, key: str, provisional: bool = False) -> list[str]:
    """The months a year or quarter board counts: its closed months — the official results — and,
    when `provisional`, also those begun and still open (the running month)."""
    running = Month.current(competition.timezone)
    months = [m for m in span_months(key) if m <= running]
    status = dict(db.session.execute(select(Period.key, Period.status).where(
        Period.competition_id == competition.id, Period.key.in_(months))).all())
    if provisional:  # the months with anything in them, and the running one
        return [m for m in months if m in status or m == running]
    return [m for m in months if status.get(m) == "closed"]


def year_rows(competition: Competition, board: str, key: str, provisional: bool = False) -> list[engine.Row]:
    """The year (`YYYY`) or quarter (`YYYY-Qn`) board: each subject's mean over the counted months (engine)."""
    return engine.year_board(
        rules_of(competition),
        sorted(_subjects(competition.id, board).values(), key=lambda s: s.code),
        [board_rows(competition, board, month, with_movement=False)
         for month in span_keys(competition, key, provisional)],
        flags=flag_counts(competition.id) if board == "sections" else None,
    )


def rows_json(rows: list[engine.Row]) -> list[dict]:
    """Rows for a JSON column: Decimals as exact strings."""
    return [_exact(row.as_dict()) for row in rows]


def _exact(value):
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    return str(value) if isinstance(value, Decimal) else value


def flag_holder_as_of(competition_id: int, key: str) -> dict | None:
    """Who holds the rotating red flag at `key`: the winner of the latest closed month up to it.

    The flag rotates with each month's result, so a closed month with a shared rank 1 (no flag
    awarded) ends the previous holder's tenure too: nobody holds it then.
    """
    row = db.session.execute(
        select(Period.key, Section.code, Section.name)
        .outerjoin(Section, Period.flag_section_id == Section.id)
        .where(Period.competition_id == competition_id, Period.status == "closed", Period.key <= key)
        .order_by(Period.key.desc()).limit(1)
    ).first()
    return None if row is None or row[1] is None else {"period": row[0], "section": row[1], "name": row[2]}


# -- the leaderboard resource ------------------------------------------------------------------

_cache: LRUCache = LRUCache(maxsize=256)  # per worker process
_ranks: LRUCache = LRUCache(maxsize=64)  # per worker process: months' ranks (`previous_ranks`)
_ranks_lock = Lock()


@dataclass(frozen=True)
class BoardStamp:
    """What a board's ETag needs, read with one small query on every leaderboard request."""

    id: int
    created_at: datetime
    revision: int
    timezone: str


STAMP_COLUMNS = (Competition.id, Competition.created_at, Competition.revision, Competition.timezone)
_STAMP = select(*STAMP_COLUMNS).where(Competition.id == bindparam("cid"))


def board_stamp(competition_id: int, row: tuple | None = None) -> BoardStamp:
    """The stamp of the competition: from `row` (STAMP_COLUMNS read along with the caller's token),
    or read here."""
    if row is None:
        row = db.session.connection().execute(_STAMP, {"cid": competition_id}).first()
    if row is None or row[0] is None:
        raise Problem(404, f"No competition {competition_id}.")
    return BoardStamp(*row)


def resolve_period(competition: Competition | BoardStamp, period: str) -> str:
    return Month.current(competition.timezone) if period == "current" else period


def etag_for(competition: Competition | BoardStamp, board: str, key: str, provisional: bool = False) -> str:
    # created_at tells apart two competitions that got the same id (a database restored or reset).
    born = int(competition.created_at.timestamp() * 1e6)
    # A year or quarter board changes with the running month too (the month turns without a write).
    running = Month.current(competition.timezone) if is_span(key) else ""
    tail = (f"-p{running}" if provisional else f"-at{running}") if is_span(key) else ""
    return f"c{competition.id}.{born:x}-r{competition.revision}-{board}-{key}{tail}"


@cached(_cache, key=etag_for, lock=Lock())
def leaderboard_body(competition: Competition | BoardStamp, board: str, key: str,
                     provisional: bool = False) -> tuple[str, bytes]:
    """The board as JSON bytes with its ETag. Cached per competition revision: any write bumps the
    revision in its own transaction, so a cached body is never stale, whichever worker serves it."""
    provisional = bool(provisional) and is_span(key)
    full = db.session.get(Competition, competition.id)  # only on a miss: the rules, the names
    data = leaderboard(full, board, key, provisional)
    if board == "sections":  # the wall's badges: each section's notices not closed, now
        data["notices"] = wall_badges(competition.id)
    body = json.dumps(data, ensure_ascii=False, default=json_default).encode()
    return etag_for(competition, board, key, provisional), body


def leaderboard(competition: Competition, board: str, key: str, provisional: bool = False) -> dict:
    extra = {}
    if is_span(key):
        provisional = bool(provisional)
        rows = year_rows(competition, board, key, provisional)
        months = span_months(key)
        counted = span_keys(competition, key, provisional)
        closed = months[-1] < Month.current(competition.timezone) and all(
            p.status == "closed" for p in db.session.scalars(
                select(Period).where(Period.competition_id == competition.id, Period.key.in_(months)))
        )
        flag = flag_holder_as_of(competition.id, months[-1])
        extra = {"provisional": provisional, "months": counted}
    else:
        rows = board_rows(competition, board, key)
        period = _period(competition.id, key)
        closed = period is not None and period.status == "closed"
        flag = flag_holder_as_of(competition.id, key)
        if closed and flag is not None and flag["period"] == key:  # won this month: named as at its close
            flag["name"] = next((row.name for row in rows if row.code == flag["section"]), flag["name"])
    return {
        "competition": {"id": competition.id, "name": competition.name, "organizer": competition.organizer,
                        "timezone": competition.timezone},
        "board": board,
        "period": key,
        "status": "closed" if closed else "open",
        "generated_at": utcnow().isoformat(),
        "flag": flag,
        **extra,
        "rows": [row.as_dict() for row in rows],
    }


# -- daily history ------------------------------------------------------------------------------

def take_daily_snapshot(competition: Competition, day: date) -> int:
    """Store every open month's standings of both boards for `day`; returns rows written."""
    running = Month.at(day)  # the day's own month: a replayed past day stays in its past
    open_keys = set(db.session.scalars(
        select(Period.key).where(Period.competition_id == competition.id, Period.status == "open",
                                 Period.key <= running)
    ))
    current = _period(competition.id, running)
    if current is None or current.status == "open":  # the running month, even before its first entry
        open_keys.add(running)
    written = 0
    for key in sorted(open_keys):
        for board in BOARDS:
            for row in board_rows(competition, board, key, with_movement=False):
                db.session.add(DailyStanding(competition_id=competition.id, period=key, board=board, day=day,
                                             code=row.code, total=row.total, rank=row.rank))
                written += 1
    return written


def history(competition: Competition, board: str, start: date, end: date) -> dict:
    subjects = {s.code: s.name for s in _subjects(competition.id, board).values()}
    rows = db.session.execute(
        select(DailyStanding.code, DailyStanding.day, DailyStanding.period, DailyStanding.total, DailyStanding.rank)
        .where(DailyStanding.competition_id == competition.id, DailyStanding.board == board,
               DailyStanding.day >= start, DailyStanding.day <= end)
        .order_by(DailyStanding.code, DailyStanding.day, DailyStanding.period)
    )
    series: dict[str, list] = {}
    for code, day, period, total, rank in rows:
        series.setdefault(code, []).append({"day": day.isoformat(), "period": period, "total": total, "rank": rank})
    return {
        "board": board,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "subjects": [{"code": code, "name": subjects.get(code, code), "history": points}
                     for code, points in sorted(series.items())],
    }
