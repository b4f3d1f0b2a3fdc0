from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..clock import utcnow
from ..competitions.models import Section, Team
from ..extensions import db
from ..types import UTCDateTime


class Veto(db.Model):
    """一票否决: the section (and the team, when given) leaves the ranking of that period."""

    __tablename__ = "vetoes"
    # One active veto per subject and month, kept by the database too (the check in operations answers 409
    # first; these refuse the second of two requests racing past it). A revoked veto stays and leaves room.
    __table_args__ = (
        Index("uq_vetoes_active_section", "competition_id", "section_id", "period", unique=True,
              postgresql_where=text("team_id IS NULL AND revoked_at IS NULL"),
              sqlite_where=text("team_id IS NULL AND revoked_at IS NULL")),
        Index("uq_vetoes_active_team", "competition_id", "team_id", "period", unique=True,
              postgresql_where=text("team_id IS NOT NULL AND revoked_at IS NULL"),
              sqlite_where=text("team_id IS NOT NULL AND revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    period: Mapped[str] = mapped_column(String(7))
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The revocation's time, on the veto's own row for the unique indexes above (the revocation is the record).
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    section: Mapped[Section] = relationship(lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(lazy="joined", foreign_keys=[created_by_id])
    revocation: Mapped[VetoRevocation | None] = relationship(lazy="joined")


class VetoRevocation(db.Model):
    """A lifted veto: the veto stays on record beside it."""

    __tablename__ = "veto_revocations"

    veto_id: Mapped[int] = mapped_column(ForeignKey("vetoes.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    revoked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    revoked_by: Mapped[User] = relationship(lazy="joined")
