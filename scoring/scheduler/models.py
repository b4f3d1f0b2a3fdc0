from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db
from ..types import UTCDateTime


class JobClaim(db.Model):
    """A job run for one key (a day, a period): inserted in the same transaction as the job's work,
    so when two scheduler processes race, the unique constraint lets exactly one of them commit."""

    __tablename__ = "job_claims"
    __table_args__ = (UniqueConstraint("job", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(80))
    claimed_by: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    result: Mapped[str | None] = mapped_column(String(500))


class Heartbeat(db.Model):
    """The last sign of life of each scheduler process, shown in /healthz."""

    __tablename__ = "scheduler_heartbeats"

    process: Mapped[str] = mapped_column(String(80), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
