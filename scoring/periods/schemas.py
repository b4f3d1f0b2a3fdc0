import marshmallow as ma


class PeriodOut(ma.Schema):
    key = ma.fields.String()
    status = ma.fields.String()
    closed_at = ma.fields.DateTime(allow_none=True)
    flag = ma.fields.Function(
        lambda p: {"section": p.flag_section.code, "name": p.flag_section.name} if p.flag_section else None
    )
