"""The scoring arithmetic of CONTRACT.md §4, on plain values.

No Flask, no SQLAlchemy, no I/O: the live board, the closed snapshots, the daily history, the year
board, the mail and the exports all get their numbers from here, so they cannot disagree.
Points are `Decimal` throughout; 0.1 + 0.2 is 0.3.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

CRITERIA = ("quality", "safety", "schedule", "environment", "management")
DEFAULT_TIE_BREAK = ("safety", "quality", "schedule", "environment", "management")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# The criterion key of a bonus tied to no criterion (上级表彰 …): in a `Tally` and in the stored tallies.
GENERAL = ""


@dataclass(frozen=True)
class ItemRule:
    code: str
    max_points: Decimal


@dataclass(frozen=True)
class CriterionRule:
    code: str
    bonus_cap: Decimal
    items: tuple[ItemRule, ...]


@dataclass(frozen=True)
class Rules:
    criteria: tuple[CriterionRule, ...]
    tie_break: tuple[str, ...] = DEFAULT_TIE_BREAK
    # The most that bonuses tied to no criterion add on top of the five (0: none count).
    general_bonus_cap: Decimal = ZERO


@dataclass(frozen=True)
class Subject:
    """A section or a team: what a board row is about."""

    code: str
    name: str


@dataclass
class Tally:
    """Sums of one subject's counted entries in one period.

    `deductions` is keyed by (criterion, item); `bonuses` by criterion (a bonus need not name an
    item; one that names no criterion either is under `GENERAL`); `entries` counts the counted entries,
    a deduction of 0 (an inspection that found nothing) included, since that is what makes a subject
    assessed.
    """

    deductions: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    bonuses: dict[str, Decimal] = field(default_factory=dict)
    entries: int = 0

    def add(self, criterion: str | None, item: str | None, kind: str, points: Decimal, count: int = 1) -> None:
        if kind == "deduction":
            self.deductions[(criterion, item or "")] = self.deductions.get((criterion, item or ""), ZERO) + points
        else:
            self.bonuses[criterion or GENERAL] = self.bonuses.get(criterion or GENERAL, ZERO) + points
        self.entries += count


def adds(kind: str, points: Decimal) -> tuple[Decimal, Decimal]:
    """The one rule for what a counted entry adds to its subject's sums: (deductions, bonuses); and it
    counts as one entry. It counts for its section and, when it names one, for its team (`subjects_of`)."""
    return (points, ZERO) if kind == "deduction" else (ZERO, points)


def subjects_of(section_id, team_id) -> list[tuple[str, object]]:
    return [("sections", section_id)] + ([("teams", team_id)] if team_id is not None else [])


def tally_key(criterion: str | None, item: str | None) -> tuple[str, str]:
    """Where an entry's points are summed: (criterion, item), '' for what it leaves out (a bonus with no
    item; a general bonus, with neither)."""
    return (criterion or GENERAL, item or "")


def overrun(kind: str, before: Decimal, points: Decimal, limit: Decimal) -> bool:
    """Whether an entry takes its sum past its limit: a deduction past its item's maximum (more than the
    item had left), a bonus past its cap (the criterion's, or the general one). Such an entry is stored
    and counted as posted; `score` stops the item at 0 and the bonus at its cap."""
    return points > 0 and before + points > limit


@dataclass(frozen=True)
class Score:
    criteria: dict[str, Decimal]
    deductions: Decimal  # points actually lost (an item stops at 0)
    bonus: Decimal  # bonus points actually added (after each criterion's cap, and the general bonus)
    total: Decimal
    general: Decimal = ZERO  # the general bonus, min(general_bonus_cap, bonuses tied to no criterion)


@dataclass(frozen=True)
class Row:
    rank: int | None
    code: str
    name: str
    total: Decimal | None
    criteria: dict[str, Decimal | None]
    deductions: Decimal
    bonus: Decimal
    vetoed: bool
    veto_reason: str | None
    assessed: bool
    movement: int | None = None
    flags: int | None = None

    def as_dict(self) -> dict:
        return {
            "rank": self.rank,
            "code": self.code,
            "name": self.name,
            "total": self.total,
            "criteria": dict(self.criteria),
            "deductions": self.deductions,
            "bonus": self.bonus,
            "vetoed": self.vetoed,
            "veto_reason": self.veto_reason,
            "assessed": self.assessed,
            "movement": self.movement,
            "flags": self.flags,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Row:
        def dec(value):
            return None if value is None else Decimal(str(value)).quantize(CENT)

        return cls(
            rank=data["rank"],
            code=data["code"],
            name=data["name"],
            total=dec(data["total"]),
            criteria={k: dec(v) for k, v in data["criteria"].items()},
            deductions=dec(data["deductions"]),
            bonus=dec(data["bonus"]),
            vetoed=data["vetoed"],
            veto_reason=data["veto_reason"],
            assessed=data["assessed"],
            movement=data.get("movement"),
            flags=data.get("flags"),
        )


def score(rules: Rules, tally: Tally) -> Score:
    """Items start at their maximum and never go below 0; bonuses are capped per criterion; the general
    bonus (bonuses tied to no criterion) is capped by `general_bonus_cap` and adds to the total."""
    criteria: dict[str, Decimal] = {}
    lost = added = ZERO
    for criterion in rules.criteria:
        points = ZERO
        for item in criterion.items:
            deducted = tally.deductions.get((criterion.code, item.code), ZERO)
            kept = max(ZERO, item.max_points - deducted)
            lost += item.max_points - kept
            points += kept
        bonus = min(criterion.bonus_cap, tally.bonuses.get(criterion.code, ZERO))
        added += bonus
        criteria[criterion.code] = points + bonus
    general = min(rules.general_bonus_cap, tally.bonuses.get(GENERAL, ZERO))
    return Score(criteria=criteria, deductions=lost, bonus=added + general,
                 total=sum(criteria.values(), ZERO) + general, general=general)


def _ranked(rules: Rules, rows: list[Row]) -> list[Row]:
    """Standard competition ranking (1, 2, 2, 4) by total, then the tie-break chain."""

    def key(row: Row) -> tuple:
        return (row.total, *(row.criteria[code] for code in rules.tie_break))

    ordered = sorted(rows, key=lambda r: r.code)
    ordered.sort(key=key, reverse=True)  # stable: equal keys stay in code order
    result: list[Row] = []
    previous_key = None
    rank = 0
    for position, row in enumerate(ordered, start=1):
        row_key = key(row)
        if row_key != previous_key:
            rank, previous_key = position, row_key
        result.append(replace(row, rank=rank))
    return result


def standings(
    rules: Rules,
    subjects: Iterable[Subject],
    tallies: Mapping[str, Tally],
    vetoes: Mapping[str, str] | None = None,
    previous_ranks: Mapping[str, int | None] | None = None,
    flags: Mapping[str, int] | None = None,
) -> list[Row]:
    """One board of one month: ranked rows first, then vetoed, then not assessed; each by code.

    `vetoes` maps a subject code to the veto's reason; `previous_ranks` holds last month's ranks
    (for `movement`); `flags` how many red flags each section holds (None on a team board).
    """
    vetoes = vetoes or {}
    ranked, vetoed, unassessed = [], [], []
    for subject in subjects:
        tally = tallies.get(subject.code)
        if subject.code in vetoes:
            s = score(rules, tally or Tally())
            vetoed.append(
                Row(None, subject.code, subject.name, ZERO, s.criteria, s.deductions, s.bonus,
                    True, vetoes[subject.code], tally is not None and tally.entries > 0)
            )
        elif tally is None or tally.entries == 0:
            unassessed.append(
                Row(None, subject.code, subject.name, None, dict.fromkeys(CRITERIA), ZERO, ZERO,
                    False, None, False)
            )
        else:
            s = score(rules, tally)
            ranked.append(
                Row(None, subject.code, subject.name, s.total, s.criteria, s.deductions, s.bonus,
                    False, None, True)
            )
    rows = _ranked(rules, ranked) + sorted(vetoed, key=lambda r: r.code) + sorted(
        unassessed, key=lambda r: r.code
    )
    return [
        replace(
            row,
            movement=movement((previous_ranks or {}).get(row.code), row.rank),
            flags=None if flags is None else flags.get(row.code, 0),
        )
        for row in rows
    ]


def movement(previous_rank: int | None, rank: int | None) -> int | None:
    """Positive when the subject moved up; None when either month has no rank."""
    if previous_rank is None or rank is None:
        return None
    return previous_rank - rank


def flag_holder(rows: Sequence[Row]) -> str | None:
    """The section that alone holds rank 1; a shared rank 1 awards no flag automatically."""
    first = [row.code for row in rows if row.rank == 1]
    return first[0] if len(first) == 1 else None


def award_flag(rows: Sequence[Row]) -> tuple[str | None, list[Row]]:
    """A closed month's flag holder, and its rows with the flag just won counted."""
    holder = flag_holder(rows)
    return holder, [replace(row, flags=(row.flags or 0) + (row.code == holder)) for row in rows] if holder else rows


def year_board(
    rules: Rules,
    subjects: Iterable[Subject],
    months: Sequence[Sequence[Row]],
    flags: Mapping[str, int] | None = None,
) -> list[Row]:
    """The year: each subject's mean monthly total over the months it was assessed in.

    A vetoed month counts as 0. Criterion scores are the means over the same months; deductions
    and bonus are the year's sums. Means are rounded to the cent (half up) before ranking, so the
    order matches the figures shown.
    """
    counted: dict[str, list[Row]] = defaultdict(list)
    for rows in months:
        for row in rows:
            if row.assessed or row.vetoed:
                counted[row.code].append(row)
    result, unassessed = [], []
    for subject in subjects:
        rows = counted.get(subject.code)
        if not rows:
            unassessed.append(
                Row(None, subject.code, subject.name, None, dict.fromkeys(CRITERIA), ZERO, ZERO,
                    False, None, False)
            )
            continue
        n = Decimal(len(rows))
        result.append(
            Row(
                None,
                subject.code,
                subject.name,
                _mean(sum((r.total for r in rows), ZERO), n),
                {c: _mean(sum((r.criteria[c] for r in rows), ZERO), n) for c in CRITERIA},
                sum((r.deductions for r in rows), ZERO),
                sum((r.bonus for r in rows), ZERO),
                False,
                None,
                True,
            )
        )
    rows = _ranked(rules, result) + sorted(unassessed, key=lambda r: r.code)
    return [replace(r, flags=None if flags is None else flags.get(r.code, 0)) for r in rows]


def _mean(total: Decimal, n: Decimal) -> Decimal:
    return (total / n).quantize(CENT, rounding=ROUND_HALF_UP)
