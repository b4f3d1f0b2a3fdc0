"""What the boards answer, for the OpenAPI document. The leaderboard's body is written once per board
revision by `operations.leaderboard_body` (never dumped through these on a request); the history is."""
import marshmallow as ma

from ..fields import PointsField
from ..month import MonthField
from .engine import CRITERIA
from .operations import BOARDS

DAY = {"format": "date"}


def complete(schema: type[ma.Schema]) -> type[ma.Schema]:
    """Every field is always sent: the document says so (they are required), so a client may rely on it."""
    for field in schema._declared_fields.values():
        field.required = True
    return schema


CriteriaOut = complete(ma.Schema.from_dict({c: PointsField(allow_none=True) for c in CRITERIA}, name="CriteriaOut"))


@complete
class CompetitionRef(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    organizer = ma.fields.String()
    timezone = ma.fields.String()


@complete
class FlagOut(ma.Schema):
    period = MonthField()
    section = ma.fields.String()
    name = ma.fields.String()


@complete
class RowOut(ma.Schema):
    rank = ma.fields.Integer(allow_none=True)
    code = ma.fields.String()
    name = ma.fields.String()
    total = PointsField(allow_none=True, metadata={"description": "0 when vetoed; null when not assessed."})
    criteria = ma.fields.Nested(CriteriaOut)
    deductions = PointsField()
    bonus = PointsField()
    vetoed = ma.fields.Boolean()
    veto_reason = ma.fields.String(allow_none=True)
    assessed = ma.fields.Boolean()
    movement = ma.fields.Integer(allow_none=True, metadata={"description": "Last month's rank - this month's."})
    flags = ma.fields.Integer(allow_none=True, metadata={"description": "Red flags held (the section board)."})


@complete
class NoticeBadgeOut(ma.Schema):
    open = ma.fields.Integer()
    overdue = ma.fields.Integer()


class LeaderboardOut(ma.Schema):
    competition = ma.fields.Nested(CompetitionRef, required=True)
    board = ma.fields.String(required=True, validate=ma.validate.OneOf(BOARDS))
    period = MonthField(required=True, year=True, quarter=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(("open", "closed")))
    generated_at = ma.fields.DateTime(required=True)
    flag = ma.fields.Nested(FlagOut, required=True, allow_none=True,
                            metadata={"description": "Who holds the red flag then."})
    rows = ma.fields.List(ma.fields.Nested(RowOut), required=True)
    # Only some boards carry these.
    provisional = ma.fields.Boolean(metadata={"description": "A year or quarter board: the running month counted too."})
    months = ma.fields.List(MonthField(), metadata={"description": "A year or quarter board: the months it counts."})
    notices = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(NoticeBadgeOut), metadata={
        "description": "The sections board: each section's rectification notices not closed (open, overdue)."})


@complete
class PointOut(ma.Schema):
    day = ma.fields.String(metadata=DAY)
    period = MonthField()
    total = PointsField(allow_none=True)
    rank = ma.fields.Integer(allow_none=True)


@complete
class SubjectHistoryOut(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    history = ma.fields.List(ma.fields.Nested(PointOut))


@complete
class HistoryOut(ma.Schema):
    board = ma.fields.String(validate=ma.validate.OneOf(BOARDS))
    from_ = ma.fields.String(data_key="from", attribute="from", metadata=DAY)
    to = ma.fields.String(metadata=DAY)
    subjects = ma.fields.List(ma.fields.Nested(SubjectHistoryOut))
