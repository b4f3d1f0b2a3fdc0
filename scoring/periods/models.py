from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..clock import utcnow
from ..competitions.models import Section
from ..extensions import db
from ..types import UTCDateTime


class Period(db.Model):
    """A calendar month of one competition. Its history is in `PeriodEvent` rows."""

    __tablename__ = "periods"
    __table_args__ = (UniqueConstraint("competition_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"))
    key: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    status: Mapped[str] = mapped_column(String(10), default="open")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flag_section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id"))

    flag_section: Mapped[Section | None] = relationship(lazy="joined")


class PeriodEvent(db.Model):
    """A close or a reopen, with who and why. A close carries the month's frozen standings."""

    __tablename__ = "period_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))  # close | reopen
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the scheduler
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    flag_section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id"))
    # A close is an edition of the month: 1 the 通报, each later one a 更正 (None on a reopen).
    edition: Mapped[int | None] = mapped_column()
    # When the competition asks for approval: who approved this edition's report, and when.
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    actor: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[actor_id])
    approved_by: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[approved_by_id])


class Snapshot(db.Model):
    """The immutable standings of one board of a closed month, as the engine computed them."""

    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("event_id", "board"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("period_events.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    board: Mapped[str] = mapped_column(String(10))
    rows: Mapped[list] = mapped_column(JSON)
