import marshmallow as ma

from ..api import PageArgs
from ..fields import Strict

PERIOD = ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Use YYYY-MM.")


class VetoIn(Strict):
    section = ma.fields.String(required=True)
    team = ma.fields.String(load_default=None, allow_none=True)
    period = ma.fields.String(required=True, validate=PERIOD)
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class RevokeIn(Strict):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


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
    period = ma.fields.String(validate=PERIOD)
    section = ma.fields.String()
