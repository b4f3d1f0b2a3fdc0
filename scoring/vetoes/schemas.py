import marshmallow as ma

from ..api import PageArgs
from ..fields import Strict, Text
from ..month import MonthField


class VetoIn(Strict):
    section = ma.fields.String(required=True)
    team = ma.fields.String(load_default=None, allow_none=True)
    period = MonthField(required=True)
    # One line: it stands beside the row on the boards, the wall and in the report.
    reason = Text(2000, required=True)


class VetoOut(ma.Schema):
    id = ma.fields.Integer()
    section = ma.fields.Function(lambda v: v.section.code)
    team = ma.fields.Function(lambda v: v.team.code if v.team else None)
    period = ma.fields.String()
    reason = ma.fields.String()
    created_by = ma.fields.Function(lambda v: v.created_by.username)
    created_at = ma.fields.DateTime()
    revoked = ma.fields.Function(lambda v: v.revocation is not None)
    revoke_reason = ma.fields.Function(lambda v: v.revocation.reason if v.revocation else None)
    revoked_by = ma.fields.Function(lambda v: v.revocation.revoked_by.username if v.revocation else None)
    revoked_at = ma.fields.Function(lambda v: v.revocation.revoked_at.isoformat() if v.revocation else None)


class VetoFilter(PageArgs):
    period = MonthField()
    section = ma.fields.String()
