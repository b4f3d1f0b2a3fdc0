from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..clock import utcnow
from ..competitions.models import Section
from ..entries.models import Entry
from ..extensions import db
from ..types import UTCDateTime

STATUSES = ("open", "responded", "closed", "cancelled")
ACTIONS = ("issued", "responded", "passed", "rejected", "cancelled", "overdue")


class NoticeCounter(db.Model):
    """The last number given to a notice of one competition and month: one row per month, bumped by an
    INSERT … ON CONFLICT DO UPDATE … RETURNING in the posting's transaction, so its row lock hands the
    numbers out one at a time (PostgreSQL) and a rolled-back posting gives its number back: no gap, no
    duplicate."""

    __tablename__ = "notice_counters"

    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    last: Mapped[int]


class Notice(db.Model):
    """A rectification notice opened by a deduction posted with `rectify_by`, assigned to its section.

    `status` is where the loop stands; each step that moved it is a `NoticeStep` row, never edited."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("competition_id", "number"),
        Index("ix_notices_competition_status", "competition_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"))
    number: Mapped[str] = mapped_column(String(20))  # ZG-YYYYMM-NNNN
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), unique=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    rectify_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once, by the scheduler, when the end of the rectify_by day passed with the notice not closed.
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    entry: Mapped[Entry] = relationship(lazy="joined")
    section: Mapped[Section] = relationship(lazy="joined")
    steps: Mapped[list[NoticeStep]] = relationship(order_by="NoticeStep.id", lazy="selectin")


class NoticeStep(db.Model):
    """One step of a notice's history: who, when, what, the note and the photos."""

    __tablename__ = "notice_steps"
    # A tablet's answer or review carries a client_id: the same one again is the same step (a resend).
    __table_args__ = (UniqueConstraint("notice_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the scheduler
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship(lazy="joined")
    photo_links: Mapped[list[NoticeStepPhoto]] = relationship(order_by="NoticeStepPhoto.position", lazy="selectin")

    @property
    def photo_ids(self) -> list[str]:
        return [link.photo_id for link in self.photo_links]


class NoticeStepPhoto(db.Model):
    """A photo of a step (the contractor's after-photos), in the order sent."""

    __tablename__ = "notice_step_photos"
    __table_args__ = (
        ForeignKeyConstraint(["competition_id", "photo_id"], ["photos.competition_id", "photos.sha256"]),
    )

    step_id: Mapped[int] = mapped_column(ForeignKey("notice_steps.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int]
    photo_id: Mapped[str] = mapped_column(String(64))
