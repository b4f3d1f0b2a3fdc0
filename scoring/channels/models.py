from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from ..types import UTCDateTime

KINDS = ("wecom", "dingtalk", "feishu")
EVENTS = ("month_closed", "veto", "notice_overdue", "daily_digest")


class Channel(db.Model):
    """A group bot of one competition. The URL and the secret are stored as given (the platform needs
    them whole) and never answered, audited or logged in full (`channels.platforms.mask_url`).
    Removing a channel stamps `removed_at`; the row stays because its messages point at it."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # wecom | dingtalk | feishu
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(String(200))
    events_list: Mapped[str] = mapped_column(String(200))  # comma-separated, in EVENTS order
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The platform answered "too many messages": nothing goes to this bot before then.
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def events(self) -> list[str]:
        return self.events_list.split(",")


class ChannelMessage(db.Model):
    """The outbox: one message of one event to one channel, unique per (channel, event key), so an
    event queued twice (two schedulers, a retried request) is sent once. `body` is the platform's
    JSON, rendered when the event happened; it is signed when it is sent."""

    __tablename__ = "channel_messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "event_key"),
        Index("ix_channel_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    event_key: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued|sending|sent|failed|cancelled
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None on a failed message: not retried (a refused signature, an unknown key, too many attempts).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    channel: Mapped[Channel] = relationship(lazy="joined")


class ChannelAttempt(db.Model):
    """Each request made to a bot: the platforms' rate limit (20 a minute) is counted over these."""

    __tablename__ = "channel_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("channel_messages.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    result: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_channel_attempts_channel_at", "channel_id", "at"),)
