import marshmallow as ma

from ..fields import Pattern, Strict
from .models import ROLES, USERNAME, USERNAME_RULE


class TokenIn(Strict):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class TokenOut(ma.Schema):
    token = ma.fields.String()
    role = ma.fields.String()
    expires_at = ma.fields.DateTime()


class UserIn(Strict):
    username = ma.fields.String(required=True, validate=[
        ma.validate.Length(min=1, max=80), Pattern(USERNAME, USERNAME_RULE)])
    password = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(min=8, max=200))
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))
    competition = ma.fields.Integer(load_default=None, allow_none=True, strict=True,
                                    validate=ma.validate.Range(min=1, max=2**31 - 1))
    sections = ma.fields.List(ma.fields.String(), load_default=list)


class UserOut(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    role = ma.fields.String()
    competition = ma.fields.Integer(attribute="competition_id", allow_none=True)
    sections = ma.fields.Function(lambda u: sorted(s.code for s in u.sections))
    created_at = ma.fields.DateTime()


class UserCreatedOut(UserOut):
    token = ma.fields.String()
    expires_at = ma.fields.DateTime()


class MeOut(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    role = ma.fields.String()
    competition = ma.fields.Integer(allow_none=True)
    sections = ma.fields.List(ma.fields.String())


class RevokedOut(ma.Schema):
    revoked = ma.fields.Integer()
