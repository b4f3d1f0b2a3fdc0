from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db
from ..types import UTCDateTime

SIZES = ("full", "thumb")


class Photo(db.Model):
    """A photo uploaded as evidence to one competition. Its id is the SHA-256 of the bytes uploaded
    (content-addressed: a resend is the same row). The row keeps what the camera wrote — the time and
    the GPS position — since the stored copy is re-encoded without EXIF; width, height and byte_count are
    those of the stored copy (upright, at most 2048 px on its long side)."""

    __tablename__ = "photos"

    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), primary_key=True)
    # Indexed alone too: GET /photos/{id} names no competition.
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    width: Mapped[int]
    height: Mapped[int]
    byte_count: Mapped[int]
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhotoFile(db.Model):
    """The bytes of a stored photo (`full` or `thumb`, JPEG) when PHOTO_STORE is the database.

    Keyed by the SHA-256 of the upload alone, so a photo sent to two competitions is stored once."""

    __tablename__ = "photo_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[str] = mapped_column(String(5), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
