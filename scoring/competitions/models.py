from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from ..types import Points, UTCDateTime


class Competition(db.Model):
    __tablename__ = "competitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    organizer: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # Criterion codes, comma-separated, in the order that breaks equal totals.
    tie_break_codes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped in the same transaction as every change that can move a board: the leaderboard's
    # ETag and response cache are keyed by it, so no worker or host ever serves a stale board.
    revision: Mapped[int] = mapped_column(default=0)
    # Close policy (CONTRACT.md §3 Periods): the day of the next month and the local time at which the
    # scheduler closes a month by itself; no day: the office closes by hand.
    auto_close_day: Mapped[int | None] = mapped_column()
    auto_close_time: Mapped[str | None] = mapped_column(String(5))
    # True: a closed month's report is a draft until an admin approves it; only then is it mailed.
    report_approval: Mapped[bool] = mapped_column(default=False)
    # True: when a quarter's months are all closed (and approved), its 季度考核通报 is mailed to every recipient.
    quarter_reports: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Archived (a finished season, a sandbox): read-only, out of the list, nothing deleted.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Points deducted, once, for each rectification notice not closed by its deadline (0: none).
    overdue_penalty: Mapped[Decimal] = mapped_column(Points, default=Decimal("0.00"), server_default="0")
    # The most that bonuses tied to no criterion (上级表彰 …) add on top of the five (0: such bonuses are refused).
    general_bonus_cap: Mapped[Decimal] = mapped_column(Points, default=Decimal("0.00"), server_default="0")

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="competition", order_by="Criterion.position"
    )

    @property
    def tie_break(self) -> list[str]:
        return self.tie_break_codes.split(",")

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def auto_close(self) -> dict | None:
        if self.auto_close_day is None:
            return None
        return {"day": self.auto_close_day, "time": self.auto_close_time}


class Criterion(db.Model):
    __tablename__ = "criteria"
    __table_args__ = (UniqueConstraint("competition_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    weight: Mapped[Decimal] = mapped_column(Points)
    bonus_cap: Mapped[Decimal] = mapped_column(Points)
    position: Mapped[int]

    competition: Mapped[Competition] = relationship(back_populates="criteria")
    items: Mapped[list[Item]] = relationship(order_by="Item.position", lazy="selectin")


class Item(db.Model):
    """An assessment item (考核细则) of a criterion; item codes are unique within a competition."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("competition_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    max_points: Mapped[Decimal] = mapped_column(Points)
    position: Mapped[int]


class Section(db.Model):
    """A road section (标段)."""

    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("competition_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    start_km: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    end_km: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    contractor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Team(db.Model):
    """A Party-member commando team (党员突击队), working on one section."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("competition_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    leader: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # False once disbanded: no new entries; the months it was assessed in keep it.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())

    section: Mapped[Section] = relationship(lazy="joined")
