from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db
from ..types import Points, UTCDateTime


class SubjectTally(db.Model):
    """Running sums of counted entries per (period, board, subject, criterion, item).

    Kept up to date in the same transaction as every entry, void and reopen (as DOMjudge keeps its
    score cache), so a board costs one small read however many entries are stored. `item` is ''
    for a bonus that names no item. `tallies.rebuild` recomputes them from the entries.
    """

    __tablename__ = "subject_tallies"
    __table_args__ = (
        UniqueConstraint("competition_id", "period", "board", "subject_id", "criterion", "item"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"))
    period: Mapped[str] = mapped_column(String(7))
    board: Mapped[str] = mapped_column(String(10))  # sections | teams
    subject_id: Mapped[int]  # a section's or a team's id, by board
    criterion: Mapped[str] = mapped_column(String(20))
    item: Mapped[str] = mapped_column(String(20))
    deductions: Mapped[Decimal] = mapped_column(Points)
    bonuses: Mapped[Decimal] = mapped_column(Points)
    entries: Mapped[int]


class MonthRevision(db.Model):
    """A counter per (competition, month), bumped in the same transaction as every change of that month's
    tallies (`tallies.apply_deltas`, `tallies.rebuild`). A board's movement column needs the month before's
    ranks, which a write to this month leaves as they were: they are cached under this counter
    (`operations.previous_ranks`) instead of being recomputed from that month's tallies after every write.
    Its own table, not a column of `periods`: posting holds the month's row FOR SHARE (PostgreSQL), and two
    postings updating the row they both share-lock would deadlock."""

    __tablename__ = "month_revisions"

    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    revision: Mapped[int] = mapped_column(default=1)


class DailyStanding(db.Model):
    """A subject's total and rank at the daily snapshot of an open month (trend charts)."""

    __tablename__ = "daily_standings"
    __table_args__ = (UniqueConstraint("competition_id", "period", "board", "day", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"))
    period: Mapped[str] = mapped_column(String(7))
    board: Mapped[str] = mapped_column(String(10))
    day: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(40))
    total: Mapped[Decimal | None] = mapped_column(Points)
    rank: Mapped[int | None]
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
