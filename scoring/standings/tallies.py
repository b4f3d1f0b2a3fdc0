"""Keeping `SubjectTally` in step with the entries, and rebuilding it from them."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from functools import cache

from sqlalchemy import delete, func, insert, literal, literal_column, select, true, update

from ..competitions.models import Competition
from ..competitions.operations import bump_revision
from ..entries.models import Entry
from ..extensions import db, upsert_insert
from .engine import CENT, GENERAL, ZERO, adds, subjects_of, tally_key
from .models import MonthRevision, SubjectTally

TALLY_KEY = ("period", "board", "subject_id", "criterion", "item")


def deltas_for(entries: Iterable[dict], sign: int = 1) -> dict[tuple, list]:
    """What counted entries add to (sign 1) or take from (sign -1) the tallies.

    Each entry counts for its section and, when it names one, for its team; a general bonus (no
    criterion) is summed under criterion '' (`engine.tally_key`).
    """
    deltas: dict[tuple, list] = defaultdict(lambda: [ZERO, ZERO, 0])
    for e in entries:
        deduction, bonus = adds(e["kind"], e["points"])
        for board, subject_id in subjects_of(e["section_id"], e["team_id"]):
            d = deltas[(e["period"], board, subject_id, *tally_key(e["criterion"], e["item"]))]
            d[0] += sign * deduction
            d[1] += sign * bonus
            d[2] += sign
    return deltas


def apply_deltas(competition_id: int, deltas: dict[tuple, list]) -> dict[tuple, tuple[Decimal, Decimal]]:
    """Upsert the sums in one statement; safe under concurrent writers on both databases. Returns the sums
    as they now stand, {key: (deductions, bonuses)} (RETURNING: no second read), for the warnings."""
    if not deltas:
        return {}
    rows = [
        {"competition_id": competition_id, **dict(zip(TALLY_KEY, key, strict=True)),
         "deductions": d, "bonuses": b, "entries": n}
        for key, (d, b, n) in sorted(deltas.items())  # a fixed order: no deadlock between two batches
    ]
    sums = {tuple(r[:5]): (r[5], r[6])
            for r in db.session.execute(_upsert(db.session.get_bind().dialect.name), rows)}
    _bump_months(competition_id, sorted({key[0] for key in deltas}))
    return sums


@cache
def _upsert(_dialect: str):
    """The tallies' upsert, built once per dialect (building it cost more than running it)."""
    table = SubjectTally.__table__
    stmt = upsert_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=["competition_id", *TALLY_KEY],
        set_={
            "deductions": table.c.deductions + stmt.excluded.deductions,
            "bonuses": table.c.bonuses + stmt.excluded.bonuses,
            "entries": table.c.entries + stmt.excluded.entries,
        },
    ).returning(*(table.c[k] for k in TALLY_KEY), table.c.deductions, table.c.bonuses)


def _bump_months(competition_id: int, months: list[str]) -> None:
    """The months' tallies changed: their cached ranks must go (`MonthRevision`).

    Lock order: the competition's row before a month's counter, for every writer. The overdue job bumps
    the competition's revision before it posts its penalties; a posting that took the counter first would
    then wait for the job's competition row while the job waits for its counter (PostgreSQL; SQLite's
    writers already run one at a time, BEGIN IMMEDIATE). The caller bumps that row right after."""
    if db.session.get_bind().dialect.name == "postgresql":
        # NO KEY UPDATE, as the revision's own UPDATE takes: a plain FOR UPDATE would also wait for the
        # KEY SHARE locks that every concurrent posting's foreign keys hold on this row, and two postings
        # would each wait for the other (a deadlock, seen with eight clients posting at once).
        db.session.execute(select(Competition.id).where(Competition.id == competition_id)
                           .with_for_update(key_share=True))  # FOR NO KEY UPDATE
    table = MonthRevision.__table__
    stmt = upsert_insert(table).values([{"competition_id": competition_id, "period": m, "revision": 1}
                                        for m in months])
    db.session.execute(stmt.on_conflict_do_update(index_elements=["competition_id", "period"],
                                                  set_={"revision": table.c.revision + 1}))


def criterion_bonuses(competition_id: int, keys: set[tuple]) -> dict[tuple, Decimal]:
    """The counted bonuses of each (period, board, subject_id, criterion) asked for, over all its items'
    tallies (a criterion's cap holds for them together)."""
    if not keys:
        return {}
    t = SubjectTally.__table__.c
    stmt = (select(t.period, t.board, t.subject_id, t.criterion, func.sum(t.bonuses))
            .where(t.competition_id == competition_id, t.period.in_({k[0] for k in keys}),
                   t.subject_id.in_({k[2] for k in keys}), t.criterion.in_({k[3] for k in keys}))
            .group_by(t.period, t.board, t.subject_id, t.criterion))
    return {tuple(r[:4]): _dec(r[4]) for r in db.session.execute(stmt) if tuple(r[:4]) in keys}


def entry_values(entry: Entry) -> dict:
    return {"period": entry.period, "section_id": entry.section_id, "team_id": entry.team_id,
            "criterion": entry.criterion, "item": entry.item, "kind": entry.kind, "points": entry.points}


def _grouped(board: str, subject_column, competition_id: int | None):
    """SELECT the tallies of one board straight from the counted entries."""
    e = Entry.__table__.c
    zero = literal_column("0")
    deduction = func.sum(e.points).filter(e.kind == "deduction")
    bonus = func.sum(e.points).filter(e.kind == "bonus")
    # One expression object, no bound parameter: PostgreSQL must see the GROUP BY item as the selected one.
    # A general bonus (no criterion) is summed under criterion '' (`engine.tally_key`).
    item = func.coalesce(e.item, literal_column("''"))
    criterion = func.coalesce(e.criterion, literal_column(f"'{GENERAL}'"))
    stmt = (
        select(e.competition_id, e.period, literal(board), subject_column, criterion,
               item, func.coalesce(deduction, zero), func.coalesce(bonus, zero), func.count())
        .where(e.status == "counted")
        .group_by(e.competition_id, e.period, subject_column, criterion, item)
    )
    if board == "teams":
        stmt = stmt.where(e.team_id.is_not(None))
    if competition_id is not None:
        stmt = stmt.where(e.competition_id == competition_id)
    return stmt


def recomputed(competition_id: int | None = None) -> dict[tuple, tuple]:
    """The tallies as they should be, keyed like the table, computed from the entries."""
    e = Entry.__table__.c
    result = {}
    for board, column in (("sections", e.section_id), ("teams", e.team_id)):
        for cid, period, b, subject, criterion, item, d, bo, n in db.session.execute(
            _grouped(board, column, competition_id)
        ):
            result[(cid, period, b, subject, criterion, item)] = (_dec(d), _dec(bo), n)
    return result


def stored(competition_id: int | None = None) -> dict[tuple, tuple]:
    t = SubjectTally
    stmt = select(t.competition_id, t.period, t.board, t.subject_id, t.criterion, t.item,
                  t.deductions, t.bonuses, t.entries)
    if competition_id is not None:
        stmt = stmt.where(t.competition_id == competition_id)
    return {tuple(r[:6]): (r[6], r[7], r[8]) for r in db.session.execute(stmt) if r[8] != 0}


def rebuild(competition_id: int | None = None) -> None:
    """Replace the tallies with a recomputation from the entries, in SQL (INSERT … SELECT), and bump
    the revision of every competition rebuilt: a board cached from the old tallies must go."""
    e = Entry.__table__.c
    t = SubjectTally.__table__
    delete_stmt = delete(t)
    if competition_id is not None:
        delete_stmt = delete_stmt.where(t.c.competition_id == competition_id)
    db.session.execute(delete_stmt)
    columns = ["competition_id", "period", "board", "subject_id", "criterion", "item",
               "deductions", "bonuses", "entries"]
    for board, column in (("sections", e.section_id), ("teams", e.team_id)):
        db.session.execute(insert(t).from_select(columns, _grouped(board, column, competition_id)))
    ids = [competition_id] if competition_id is not None else db.session.scalars(select(Competition.id)).all()
    for rebuilt in ids:  # first: the competition's row before the months' counters (`_bump_months`)
        bump_revision(rebuilt)
    # Every month's cached ranks go, those of a month left without tallies too; a month first seen here
    # (data loaded behind the API's back) gets its counter.
    months = MonthRevision.__table__
    bump = update(months).values(revision=months.c.revision + 1)
    found = select(t.c.competition_id, t.c.period, literal(1)).distinct().where(true())  # WHERE: SQLite's upsert
    if competition_id is not None:
        bump = bump.where(months.c.competition_id == competition_id)
        found = found.where(t.c.competition_id == competition_id)
    db.session.execute(bump)
    db.session.execute(upsert_insert(months).from_select(["competition_id", "period", "revision"], found)
                       .on_conflict_do_nothing(index_elements=["competition_id", "period"]))


def _dec(value) -> Decimal:
    """A SUM read back through a bare query: hundredths on SQLite, NUMERIC on PostgreSQL."""
    if isinstance(value, Decimal):
        return value.quantize(CENT)
    return (Decimal(int(value)) / 100).quantize(CENT)
