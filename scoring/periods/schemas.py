import marshmallow as ma

from ..fields import Strict, Text


class ReopenIn(Strict):
    reason = Text(2000, multiline=True, required=True)


class FlagOut(ma.Schema):
    section = ma.fields.String()
    name = ma.fields.String()


class PeriodOut(ma.Schema):
    key = ma.fields.String()
    status = ma.fields.String()
    closed_at = ma.fields.DateTime(allow_none=True)
    flag = ma.fields.Function(
        lambda p: {"section": p.flag_section.code, "name": p.flag_section.name} if p.flag_section else None
    )
