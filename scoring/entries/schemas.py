from __future__ import annotations

import marshmallow as ma
from marshmallow import validates_schema

from ..api import PageArgs
from ..fields import AwareDateTime, PointsField, Strict
from ..standings.engine import CRITERIA
from .models import STATUSES

KINDS = ("deduction", "bonus")
MAX_BATCH = 500
MAX_NOTE = 4000


class LocationIn(Strict):
    lat = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(-90, 90))
    lon = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(-180, 180))


class EntryIn(Strict):
    client_id = ma.fields.String(required=True, validate=[
        ma.validate.Length(min=1, max=64),
        ma.validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", error="Letters, digits, '-', '_', '.', ':' only."),
    ])
    section = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    team = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(min=1, max=40))
    criterion = ma.fields.String(required=True, validate=ma.validate.OneOf(CRITERIA))
    item = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(min=1, max=20))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    points = PointsField(required=True)
    observed_at = AwareDateTime(required=True)
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=MAX_NOTE))
    location = ma.fields.Nested(LocationIn, load_default=None, allow_none=True)

    @validates_schema
    def item_for_deduction(self, data, **_):
        if data["kind"] == "deduction" and not data.get("item"):
            raise ma.ValidationError("Required for a deduction.", "item")


class EntryBatchIn(Strict):
    # Raw: an item that is not an object is one "invalid" result; it must not block the others.
    entries = ma.fields.List(ma.fields.Raw(allow_none=True), required=True,
                             validate=ma.validate.Length(min=1, max=MAX_BATCH))


class LocationOut(ma.Schema):
    lat = ma.fields.Float()
    lon = ma.fields.Float()


class EntryOut(ma.Schema):
    id = ma.fields.Integer()
    client_id = ma.fields.String()
    section = ma.fields.Function(lambda e: e.section.code)
    team = ma.fields.Function(lambda e: e.team.code if e.team else None)
    criterion = ma.fields.String()
    item = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    points = PointsField()
    observed_at = ma.fields.Method("_observed_at")
    note = ma.fields.String(allow_none=True)
    location = ma.fields.Function(lambda e: None if e.lat is None else {"lat": e.lat, "lon": e.lon})
    period = ma.fields.String()
    status = ma.fields.String()
    received_at = ma.fields.DateTime()
    supervisor = ma.fields.Function(lambda e: e.supervisor.username)
    void_reason = ma.fields.Function(lambda e: e.void.reason if e.void else None)
    voided_by = ma.fields.Function(lambda e: e.void.voided_by.username if e.void else None)
    voided_at = ma.fields.Function(lambda e: e.void.voided_at.isoformat() if e.void else None)

    def _observed_at(self, entry) -> str:
        # Shown in the competition's own time zone, the clock the inspector read.
        tz = self.context_timezone(entry)
        return entry.observed_at.astimezone(tz).isoformat() if tz else entry.observed_at.isoformat()

    @staticmethod
    def context_timezone(entry):
        from zoneinfo import ZoneInfo

        from ..competitions.models import Competition
        from ..extensions import db

        competition = db.session.get(Competition, entry.competition_id)
        return ZoneInfo(competition.timezone) if competition else None


class BatchResultOut(ma.Schema):
    client_id = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    id = ma.fields.Integer()
    errors = ma.fields.Dict()


class BatchOut(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(BatchResultOut))


class EntryFilter(PageArgs):
    period = ma.fields.String(validate=ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Use YYYY-MM."))
    section = ma.fields.String()
    team = ma.fields.String()
    criterion = ma.fields.String(validate=ma.validate.OneOf(CRITERIA))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))


class VoidIn(Strict):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
