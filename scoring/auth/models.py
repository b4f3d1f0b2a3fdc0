from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..competitions.models import Section
from ..extensions import db
from ..types import UTCDateTime

ROLES = ("admin", "supervisor", "viewer", "display", "contractor")
# ASCII only: jіngsaiban (a Cyrillic і) or ｊｉｎｇｓａｉｂａｎ (full width) must not pass for jingsaiban.
USERNAME = r"[A-Za-z0-9][A-Za-z0-9._@-]*"
USERNAME_RULE = ("用户名只能用英文字母、数字和 . _ @ -，以字母或数字开头，以免形近字冒充他人。"
                 "Usernames are ASCII letters, digits, '.', '_', '@' and '-', starting with a letter or a digit.")

user_sections = Table(
    "user_sections",
    db.metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("section_id", ForeignKey("sections.id"), primary_key=True),
)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    # The competition a display (and, usually, a supervisor) belongs to; None for office-wide users.
    competition_id: Mapped[int | None] = mapped_column(ForeignKey("competitions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # False once someone has left the project: no token of theirs authenticates, their password is
    # refused like a wrong one; everything they did stays theirs.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    display_name: Mapped[str | None] = mapped_column(String(100))  # the person's name, e.g. 李树荣

    sections: Mapped[list[Section]] = relationship(secondary=user_sections)

    @property
    def section_ids(self) -> set[int]:
        return {s.id for s in self.sections}


class ApiToken(db.Model):
    """A bearer token. Only its SHA-256 is stored: a database dump holds no usable token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class LoginFailure(db.Model):
    """One failed login; counted over a window to rate-limit guessing across all workers."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LoginThrottle(db.Model):
    """Failed (and in-flight) logins per key in a fixed window: `addr:<address>` and
    `user:<address> <username>`. One row per key, counted by an atomic INSERT … ON CONFLICT DO UPDATE
    … RETURNING, so a burst across gunicorn workers cannot try more passwords than the limit."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column()
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
