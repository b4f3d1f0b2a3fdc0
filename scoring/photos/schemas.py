from __future__ import annotations

from zoneinfo import ZoneInfo

import marshmallow as ma

from ..competitions.models import Competition
from ..extensions import db
from ..fields import Strict
from .models import SIZES


class PhotoOut(ma.Schema):
    """A stored photo: width, height and bytes of the stored copy; when and where the camera says
    it was taken (null when it did not say)."""

    id = ma.fields.String(attribute="sha256", metadata={"description": "SHA-256 (hex) of the bytes uploaded"})
    width = ma.fields.Integer()
    height = ma.fields.Integer()
    bytes = ma.fields.Integer(attribute="byte_count")
    taken_at = ma.fields.Method("_taken_at", allow_none=True)
    location = ma.fields.Function(lambda p: None if p.lat is None else {"lat": p.lat, "lon": p.lon},
                                  allow_none=True)

    @staticmethod
    def _taken_at(photo) -> str | None:
        """In the competition's time zone, like an entry's observed_at: the clock the inspector read."""
        if photo.taken_at is None:
            return None
        competition = db.session.get(Competition, photo.competition_id)
        return photo.taken_at.astimezone(ZoneInfo(competition.timezone)).isoformat()


class PhotoArgs(Strict):
    size = ma.fields.String(load_default="full", validate=ma.validate.OneOf(SIZES))
