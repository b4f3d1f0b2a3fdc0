"""Property-based checks of the live aggregates against the database (SQLite or PostgreSQL).

For random streams of entries (with voids and vetoes), posted through the same operations the API
uses: the running `SubjectTally` sums equal a recomputation from the entries, the boards equal the
pure engine fed with the raw entries, the order of posting never matters, and voiding an entry is
the same as never having posted it.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from conftest import competition_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from scoring.auth.models import User
from scoring.competitions.operations import create_competition, create_section, create_team
from scoring.competitions.schemas import CompetitionIn
from scoring.entries.operations import post_entries, void_entry
from scoring.entries.schemas import EntryIn
from scoring.extensions import db
from scoring.standings import engine, tallies
from scoring.standings.operations import board_rows, rules_of
from scoring.vetoes.operations import create_veto

SECTIONS = ("LJ-01", "LJ-02", "LJ-03")
TEAMS = {"LJ-01": "TJD-1", "LJ-02": "TJD-2", "LJ-03": "TJD-3"}
pytestmark = pytest.mark.time_machine("2025-11-27T10:00:00+08:00")  # the streams are postings of Oct and Nov 2025
MONTHS = {"2025-10": "2025-10-{:02d}T09:30:00+08:00", "2025-11": "2025-11-{:02d}T09:30:00+08:00"}
SLOTS = [("quality", "Q1", "deduction"), ("quality", "Q2", "deduction"), ("safety", "S1", "deduction"),
         ("safety", "S2", "deduction"), ("schedule", "P1", "deduction"), ("environment", "E1", "deduction"),
         ("management", "M1", "deduction"), ("quality", None, "bonus"), ("safety", "S2", "bonus"),
         ("schedule", None, "bonus"), (None, None, "bonus")]  # the last: a general bonus (上级表彰)
GENERAL_CAP = 5
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@dataclass(frozen=True)
class Posting:
    section: str
    with_team: bool
    slot: tuple
    points: Decimal
    month: str
    day: int

    def payload(self) -> dict:
        criterion, item, kind = self.slot
        return {"client_id": str(uuid.uuid4()), "section": self.section,
                "team": TEAMS[self.section] if self.with_team else None, "criterion": criterion, "item": item,
                "kind": kind, "points": self.points, "observed_at": MONTHS[self.month].format(self.day),
                "note": None, "location": None}


postings = st.builds(
    Posting,
    section=st.sampled_from(SECTIONS),
    with_team=st.booleans(),
    slot=st.sampled_from(SLOTS),
    # Small points (many sums like 0.1 + 0.2) and large ones (items and bonuses past their limits).
    points=st.one_of(st.decimals(min_value=0, max_value=1, places=2), st.decimals(min_value=0, max_value=16, places=2)),
    month=st.sampled_from(tuple(MONTHS)),
    day=st.integers(1, 20),
)
streams = st.lists(postings, min_size=0, max_size=24)
# unique: a second active veto of one subject and month is a 409
vetoes = st.lists(st.tuples(st.sampled_from(SECTIONS), st.sampled_from(tuple(MONTHS))), max_size=2, unique=True)


def new_competition():
    competition = create_competition(CompetitionIn().load(competition_body(general_bonus_cap=GENERAL_CAP)))
    for i, code in enumerate(SECTIONS):
        create_section(competition, {"code": code, "name": f"{code} 标段", "start_km": 10 * i,
                                     "end_km": 10 * i + 10, "contractor": "山东路桥集团"})
        create_team(competition, {"code": TEAMS[code], "name": f"{code} 突击队", "leader": "徐大军",
                                  "section": code})
    db.session.commit()
    return competition


def admin() -> User:
    return db.session.scalar(select(User).where(User.username == "admin"))


def post_all(competition, stream: list[Posting], batch: int) -> list[int]:
    """Post in batches of `batch`; returns the entry ids in stream order. Every posting is warned exactly
    when `expected_warnings` says so, whatever the batches."""
    user, ids, warned = admin(), [], []
    for start in range(0, len(stream), batch):
        outcomes = post_entries(competition, user, [p.payload() for p in stream[start:start + batch]],
                                EntryIn().load)
        db.session.commit()
        assert [o.status for o in outcomes] == ["created"] * len(outcomes), [o.errors for o in outcomes]
        ids += [o.entry_id for o in outcomes]
        warned += [bool(o.warnings) for o in outcomes]
    assert warned == expected_warnings(competition, stream)
    return ids


def expected_warnings(competition, stream: list[Posting]) -> list[bool]:
    """Whether each posting, in order, takes its section's month past a limit: a deduction past its item's
    maximum, a bonus past its criterion's cap (over all its items) or the general cap."""
    rules = rules_of(competition)
    item_max = {i.code: i.max_points for c in rules.criteria for i in c.items}
    caps = {c.code: c.bonus_cap for c in rules.criteria}
    sums: dict[tuple, Decimal] = {}
    result = []
    for p in stream:
        criterion, item, kind = p.slot
        if kind == "deduction":
            key, limit = (p.section, p.month, kind, item), item_max[item]
        else:
            key, limit = (p.section, p.month, kind, criterion), caps.get(criterion, rules.general_bonus_cap)
        before = sums.get(key, Decimal(0))
        result.append(engine.overrun(kind, before, p.points, limit))
        sums[key] = before + p.points
    return result


def void_all(entry_ids) -> None:
    user = admin()
    for entry_id in entry_ids:
        void_entry(entry_id, user, "录入错误")
    db.session.commit()


def veto_all(competition, pairs) -> None:
    for section, month in pairs:
        create_veto(competition, admin(), {"section": section, "team": None, "period": month, "reason": "事故"})
    db.session.commit()


def boards(competition) -> dict:
    return {(board, key): board_rows(competition, board, key) for board in ("sections", "teams") for key in MONTHS}


def expected_boards(competition, stream: list[Posting], vetoed_pairs) -> dict:
    """The boards computed by the pure engine from the raw postings, with no database in between."""
    rules = rules_of(competition)
    result = {}
    for board in ("sections", "teams"):
        codes = SECTIONS if board == "sections" else tuple(TEAMS.values())
        subjects = [engine.Subject(code, code) for code in codes]  # names are not compared
        previous = None
        for key in MONTHS:
            sums: dict[str, engine.Tally] = {}
            for p in stream:
                if p.month != key or (board == "teams" and not p.with_team):
                    continue
                code = p.section if board == "sections" else TEAMS[p.section]
                sums.setdefault(code, engine.Tally()).add(p.slot[0], p.slot[1], p.slot[2], p.points)
            vetoed = {s: "事故" for s, m in vetoed_pairs if m == key} if board == "sections" else {}
            rows = engine.standings(rules, subjects, sums, vetoed, previous_ranks=previous,
                                    flags={} if board == "sections" else None)
            previous = {row.code: row.rank for row in rows}
            result[(board, key)] = rows
    return result


def comparable(rows_by_board: dict) -> dict:
    """Everything on a board but the subject's display name."""
    return {k: [(r.rank, r.code, r.total, r.criteria, r.deductions, r.bonus, r.vetoed, r.veto_reason, r.assessed,
                 r.movement, r.flags) for r in rows] for k, rows in rows_by_board.items()}


@PROPERTY_SETTINGS
@given(stream=streams, voids=st.sets(st.integers(0, 23)), veto_pairs=vetoes, batch=st.integers(1, 8))
def test_live_aggregates_equal_a_recomputation(app, world, stream, voids, veto_pairs, batch):
    with app.app_context():
        competition = new_competition()
        ids = post_all(competition, stream, batch)
        voided = sorted(i for i in voids if i < len(ids))
        void_all(ids[i] for i in voided)
        veto_all(competition, veto_pairs)

        assert tallies.stored(competition.id) == tallies.recomputed(competition.id)
        kept = [p for i, p in enumerate(stream) if i not in voided]
        assert comparable(boards(competition)) == comparable(expected_boards(competition, kept, veto_pairs))
        tallies.rebuild(competition.id)  # the nightly rebuild agrees with the running sums
        assert tallies.stored(competition.id) == tallies.recomputed(competition.id)
        db.session.rollback()


@PROPERTY_SETTINGS
@given(stream=streams, voids=st.sets(st.integers(0, 23)), order=st.randoms(use_true_random=False),
       batches=st.tuples(st.integers(1, 8), st.integers(1, 8)))
def test_order_never_matters_and_a_void_is_as_if_never_posted(app, world, stream, voids, order, batches):
    with app.app_context():
        posted_then_voided = new_competition()
        ids = post_all(posted_then_voided, stream, batches[0])
        void_all(ids[i] for i in sorted(voids) if i < len(ids))

        never_posted = new_competition()
        kept = [p for i, p in enumerate(stream) if i not in voids]
        order.shuffle(kept)
        post_all(never_posted, kept, batches[1])

        assert comparable(boards(posted_then_voided)) == comparable(boards(never_posted))
        assert comparable(boards(never_posted)) == comparable(expected_boards(never_posted, kept, []))
