from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Float, ForeignKey, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..clock import utcnow
from ..competitions.models import Competition, Section, Team
from ..extensions import db
from ..types import Points, UTCDateTime

STATUSES = ("counted", "late", "void")


class Entry(db.Model):
    """One score posting from a tablet: a deduction (扣分) or a bonus (加分).

    Never edited: a correction is a void (an `EntryVoid` row) plus a new entry. `status` is the
    entry's standing for the boards: `late` when it arrived for a closed month (it counts once the
    month is reopened), `void` once voided.
    """

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("competition_id", "client_id"),
        Index("ix_entries_competition_period_status", "competition_id", "period", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    # None: a general bonus (上级表彰 …), tied to no criterion; counted up to the competition's general_bonus_cap.
    criterion: Mapped[str | None] = mapped_column(String(20))
    item: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    points: Mapped[Decimal] = mapped_column(Points)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    period: Mapped[str] = mapped_column(String(7))
    note: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # The stake where the finding was made, in metres from K0+000 (K23+450 is 23450).
    chainage_m: Mapped[int | None]
    # A deduction's rectification deadline (§7): it opens a notice.
    rectify_by: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # A replacement (POST /entries/{id}/correct): the entry it corrects (unique: one replacement each) and
    # who corrected it; `supervisor` stays the one who posted the original.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), unique=True)
    corrector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    competition: Mapped[Competition] = relationship(lazy="joined", viewonly=True)
    section: Mapped[Section] = relationship(lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")
    supervisor: Mapped[User] = relationship(lazy="joined", foreign_keys=[supervisor_id])
    corrector: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[corrector_id])
    void: Mapped[EntryVoid | None] = relationship(lazy="joined")
    photo_links: Mapped[list[EntryPhoto]] = relationship(order_by="EntryPhoto.position", lazy="selectin")
    # The entry that replaces this one (the other side of `corrects_id`), loaded with a page of entries.
    replacement: Mapped[Entry | None] = relationship(foreign_keys=[corrects_id], uselist=False, viewonly=True,
                                                     lazy="selectin")

    @property
    def photo_ids(self) -> list[str]:
        return [link.photo_id for link in self.photo_links]


class EntryVoid(db.Model):
    """Who voided an entry, when and why. One per entry; the entry itself stays."""

    __tablename__ = "entry_voids"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    voided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    voided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    voided_by: Mapped[User] = relationship(lazy="joined")


class EntryPhoto(db.Model):
    """A photo of an entry, in the order the tablet sent them; a photo may back several entries."""

    __tablename__ = "entry_photos"
    __table_args__ = (
        ForeignKeyConstraint(["competition_id", "photo_id"], ["photos.competition_id", "photos.sha256"]),
        Index("ix_entry_photos_photo", "competition_id", "photo_id"),
    )

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int]
    photo_id: Mapped[str] = mapped_column(String(64))
