import marshmallow as ma

from ..fields import Pattern, Strict, StrictBoolean, Text
from .models import ROLES, USERNAME, USERNAME_RULE

PASSWORD = ma.validate.Length(min=10, max=200)  # the operations check the rest (not the username)


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
    password = ma.fields.String(load_default=None, allow_none=True, validate=PASSWORD)
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
    active = ma.fields.Boolean()
    display_name = ma.fields.String(allow_none=True)


class UserPatchIn(Strict):
    """What the office changes about a person; each field optional, anything else is a 422."""

    active = StrictBoolean()
    sections = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=40)),
                              validate=ma.validate.Length(max=500))
    display_name = Text(100, allow_none=True)
    reason = Text(2000, multiline=True)


class PasswordSetIn(Strict):
    password = ma.fields.String(required=True, validate=PASSWORD)
    reason = Text(2000, multiline=True)


class PasswordChangeIn(Strict):
    current = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    new = ma.fields.String(required=True, validate=PASSWORD)


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
