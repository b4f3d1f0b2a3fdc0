from __future__ import annotations

import marshmallow as ma

from ..api import PageArgs
from ..entries.schemas import MAX_NOTE, MAX_PHOTOS, EntryOut, PhotoId
from ..fields import Pattern, Strict, Text
from .models import STATUSES


class NoticeFilter(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    section = ma.fields.String()
    overdue = ma.fields.Boolean(metadata={"description": "true: past the end of the rectify_by day, not closed."})


def _client_id():
    return ma.fields.String(load_default=None, validate=[
        ma.validate.Length(min=1, max=64),
        Pattern(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", "Letters, digits, '-', '_', '.', ':' only.")], metadata={
        "description": "Made on the tablet: the same answer sent again is stored once (200)."})


class ResponseIn(Strict):
    note = Text(MAX_NOTE, multiline=True, required=True)
    photos = ma.fields.List(PhotoId(), load_default=list, validate=ma.validate.Length(
        max=MAX_PHOTOS, error=f"最多 {MAX_PHOTOS} 张照片。At most {MAX_PHOTOS} photos."))
    client_id = _client_id()


class ReviewIn(Strict):
    result = ma.fields.String(required=True, validate=ma.validate.OneOf(("pass", "reject")))
    note = Text(MAX_NOTE, multiline=True, min_length=0, load_default=None, allow_none=True)
    client_id = _client_id()


class StepOut(ma.Schema):
    action = ma.fields.String()
    by = ma.fields.Function(lambda s: s.actor.username if s.actor else "scheduler")
    at = ma.fields.DateTime()
    note = ma.fields.String(allow_none=True)
    photos = ma.fields.List(ma.fields.String(), attribute="photo_ids")


class NoticeOut(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    section = ma.fields.Function(lambda n: n.section.code)
    section_name = ma.fields.Function(lambda n: n.section.name)
    status = ma.fields.String()
    rectify_by = ma.fields.Date()
    deadline = ma.fields.Method("_deadline")
    overdue = ma.fields.Method("_overdue")
    issued_at = ma.fields.DateTime()
    issued_by = ma.fields.Function(lambda n: n.entry.supervisor.username)
    closed_at = ma.fields.DateTime(allow_none=True)
    overdue_at = ma.fields.DateTime(allow_none=True)
    entry = ma.fields.Nested(EntryOut)
    photos = ma.fields.Function(lambda n: n.entry.photo_ids)
    steps = ma.fields.List(ma.fields.Nested(StepOut))

    def _deadline(self, notice) -> str:
        from .operations import deadline

        return deadline(notice.rectify_by, _timezone(notice)).isoformat()

    def _overdue(self, notice) -> bool:
        from .operations import is_overdue

        return is_overdue(notice, _timezone(notice))


class NoticeDetail(NoticeOut):
    penalty_entry = ma.fields.Method("_penalty")

    def _penalty(self, notice) -> int | None:
        from .operations import penalty_entry_id

        return penalty_entry_id(notice)


def _timezone(notice) -> str:
    from ..competitions.models import Competition
    from ..extensions import db

    return db.session.get(Competition, notice.competition_id).timezone
