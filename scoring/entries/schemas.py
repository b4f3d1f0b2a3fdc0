from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import marshmallow as ma
from marshmallow import validates_schema

from ..api import PageArgs
from ..fields import AwareDateTime, Chainage, OneLine, Pattern, PointsField, Strict, Text
from ..month import MonthField
from ..standings.engine import CRITERIA
from .models import STATUSES

KINDS = ("deduction", "bonus")
MAX_BATCH = 500
MAX_NOTE = 4000
MAX_PHOTOS = 9
class PhotoId(ma.fields.String):
    """A photo's id, the SHA-256 (hex) of its bytes; upper case is read as lower."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
            raise ma.ValidationError("照片编号应为 64 位十六进制 SHA-256。Must be the photo's SHA-256 in hex.")
        return text.lower()


class LocationIn(Strict):
    lat = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(-90, 90))
    lon = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(-180, 180))


class EntryIn(Strict):
    client_id = ma.fields.String(required=True, validate=[
        ma.validate.Length(min=1, max=64),
        Pattern(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", "Letters, digits, '-', '_', '.', ':' only."),
    ])
    section = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=40), OneLine()])
    team = ma.fields.String(load_default=None, allow_none=True,
                            validate=[ma.validate.Length(min=1, max=40), OneLine()])
    criterion = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(CRITERIA), metadata={
        "description": "Required for a deduction. A bonus may leave it out (null) when the competition has a "
                       "general_bonus_cap: a general bonus (上级表彰 …), counted on top of the five criteria."})
    item = ma.fields.String(load_default=None, allow_none=True,
                            validate=[ma.validate.Length(min=1, max=20), OneLine()])
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    points = PointsField(required=True)
    observed_at = AwareDateTime(required=True)
    note = Text(MAX_NOTE, multiline=True, min_length=0, load_default=None, allow_none=True)
    location = ma.fields.Nested(LocationIn, load_default=None, allow_none=True)
    chainage = Chainage(attribute="chainage_m", load_default=None, allow_none=True)
    photos = ma.fields.List(PhotoId(), load_default=list, validate=ma.validate.Length(
        max=MAX_PHOTOS, error=f"一条记录最多 {MAX_PHOTOS} 张照片。At most {MAX_PHOTOS} photos."))
    rectify_by = ma.fields.Date(load_default=None, allow_none=True, metadata={
        "description": "A deduction's rectification deadline (YYYY-MM-DD): opens a notice (§7)."})

    @validates_schema
    def rectify_only_a_deduction(self, data, **_):
        if data.get("rectify_by") is not None and data["kind"] != "deduction":
            raise ma.ValidationError("只有扣分才能下整改通知。Only a deduction opens a rectification notice.",
                                     "rectify_by")

    @validates_schema
    def item_for_deduction(self, data, **_):
        if data["kind"] == "deduction" and not data.get("criterion"):
            raise ma.ValidationError("扣分必须注明考核项目。Required for a deduction.", "criterion")
        if data["kind"] == "deduction" and not data.get("item"):
            raise ma.ValidationError("扣分必须注明考核细则。Required for a deduction.", "item")
        if data.get("item") and not data.get("criterion"):
            raise ma.ValidationError("注明细则时也要注明它所属的考核项目。Name the item's criterion too.",
                                     "criterion")

    @validates_schema
    def photos_once(self, data, **_):
        if len(set(data.get("photos", []))) < len(data.get("photos", [])):
            raise ma.ValidationError("同一张照片只能出现一次。Each photo at most once.", "photos")


class EntryBatchIn(Strict):
    # Raw: an item that is not an object is one "invalid" result; it must not block the others.
    entries = ma.fields.List(ma.fields.Raw(allow_none=True), required=True,
                             validate=ma.validate.Length(min=1, max=MAX_BATCH))


WARNINGS_DOC = ("Only on the answer to a posting that stored this entry now, and only when there is one: in "
                "Chinese, a deduction beyond what its item had left this month, or a bonus beyond its cap "
                "(the criterion's, or general_bonus_cap). The entry is stored as posted; the score stops "
                "the item at 0 and the bonus at its cap.")


class EntryOut(ma.Schema):
    id = ma.fields.Integer()
    client_id = ma.fields.String()
    section = ma.fields.Function(lambda e: e.section.code)
    team = ma.fields.Function(lambda e: e.team.code if e.team else None)
    criterion = ma.fields.String(allow_none=True, metadata={"description": "null: a general bonus."})
    item = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    points = PointsField()
    # Shown in the competition's own time zone, the clock the inspector read.
    observed_at = ma.fields.Function(lambda e: e.observed_at.astimezone(ZoneInfo(e.competition.timezone)).isoformat())
    note = ma.fields.String(allow_none=True)
    location = ma.fields.Function(lambda e: None if e.lat is None else {"lat": e.lat, "lon": e.lon})
    chainage = Chainage(attribute="chainage_m", allow_none=True)
    photos = ma.fields.List(ma.fields.String(), attribute="photo_ids")
    rectify_by = ma.fields.Date(allow_none=True)
    period = ma.fields.String()
    status = ma.fields.String()
    received_at = ma.fields.DateTime()
    supervisor = ma.fields.Function(lambda e: e.supervisor.username)
    void_reason = ma.fields.Function(lambda e: e.void.reason if e.void else None)
    voided_by = ma.fields.Function(lambda e: e.void.voided_by.username if e.void else None)
    voided_at = ma.fields.Function(lambda e: e.void.voided_at.isoformat() if e.void else None)
    corrects = ma.fields.Integer(attribute="corrects_id", allow_none=True, metadata={
        "description": "The entry this one replaces (POST /entries/{id}/correct)."})
    corrected_by = ma.fields.Function(lambda e: e.replacement.id if e.replacement else None, allow_none=True,
                                      metadata={"description": "The entry that replaces this one."})
    corrector = ma.fields.Function(lambda e: e.corrector.username if e.corrector else None, metadata={
        "description": "Who stored this replacement (`supervisor` stays the one who posted the original)."})
    warnings = ma.fields.List(ma.fields.String(), metadata={"description": WARNINGS_DOC})


class BatchResultOut(ma.Schema):
    client_id = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    id = ma.fields.Integer()
    entry_status = ma.fields.String(metadata={"description": "The stored entry's status: counted, late (its month "
                                              "was already closed) or void."})
    errors = ma.fields.Dict()
    warnings = ma.fields.List(ma.fields.String(), metadata={"description": WARNINGS_DOC})


class BatchOut(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(BatchResultOut))


class EntryFilter(PageArgs):
    period = MonthField()
    section = ma.fields.String()
    team = ma.fields.String()
    criterion = ma.fields.String(validate=ma.validate.OneOf(CRITERIA))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    supervisor = ma.fields.String(metadata={"description": "The username of who posted it."})


class CorrectIn(Strict):
    reason = Text(2000, multiline=True, required=True)
    # Checked as an entry of the competition (one error shape with the posting itself).
    entry = ma.fields.Dict(required=True, metadata={"description": "The replacement, as POST …/entries takes it."})
