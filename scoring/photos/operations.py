"""Storing and finding photos. These change data; the caller commits.

A photo is content-addressed: its id is the SHA-256 of the bytes uploaded, so a tablet knows the id
before it sends, and a resend — however often, however concurrently — finds the row the first one
stored (INSERT … ON CONFLICT DO NOTHING, then read what is there).
"""
from __future__ import annotations

import hashlib
import re
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..audit.operations import record
from ..competitions.models import Competition, Section
from ..errors import Problem
from ..extensions import db, upsert_insert
from .images import Prepared
from .models import Photo
from .storage import photo_store

PHOTO_ID = re.compile(r"[0-9a-f]{64}")


def photo_id_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_uploader(user, competition: Competition) -> None:
    """A supervisor uploads evidence only to a competition where they are assigned a section."""
    if user.role != "supervisor":
        return
    assigned = select(Section.id).where(Section.competition_id == competition.id, Section.id.in_(user.section_ids))
    if db.session.scalar(assigned.limit(1)) is None:
        raise Problem(403, f"{user.username} 在本竞赛中没有分配标段，不能上传照片。")


def find_photo(competition_id: int, photo_id: str) -> Photo | None:
    return db.session.get(Photo, (competition_id, photo_id))


def get_photo(photo_id: str) -> Photo:
    """A stored photo by its id, of whichever competition holds it."""
    photo = db.session.scalar(select(Photo).where(Photo.sha256 == photo_id).limit(1)) \
        if PHOTO_ID.fullmatch(photo_id) else None
    if photo is None:
        raise Problem(404, f"没有照片 {photo_id[:64]}。")
    return photo


def save_photo(competition_id: int, timezone: str, user, photo_id: str, prepared: Prepared) -> tuple[Photo, bool]:
    """Store a checked upload; returns the photo and whether this call stored it (False: a
    concurrent upload of the same bytes did, and its row is the answer)."""
    photo_store().put(photo_id, {"full": prepared.full, "thumb": prepared.thumb})
    taken_at = prepared.taken_at
    if taken_at is not None and taken_at.tzinfo is None:  # no offset in the EXIF: the competition's clock
        taken_at = taken_at.replace(tzinfo=ZoneInfo(timezone))
    stmt = upsert_insert(Photo.__table__).on_conflict_do_nothing(index_elements=["competition_id", "sha256"])
    inserted = db.session.execute(stmt.returning(Photo.sha256), {
        "competition_id": competition_id, "sha256": photo_id, "width": prepared.width, "height": prepared.height,
        "byte_count": len(prepared.full), "taken_at": taken_at, "lat": prepared.lat, "lon": prepared.lon,
        "uploaded_by_id": user.id,
    }).first()
    if inserted is not None:
        record("photo.uploaded", competition_id=competition_id, target=f"photo:{photo_id}", actor=user,
               detail={"width": prepared.width, "height": prepared.height, "bytes": len(prepared.full)})
    return find_photo(competition_id, photo_id), inserted is not None
