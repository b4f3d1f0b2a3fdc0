from flask_smorest import Blueprint
from sqlalchemy import select

from ..api import PageArgs, paginate
from ..auth.access import READERS, roles
from ..competitions.operations import get_competition
from ..fields import ReasonIn
from .models import Period
from .operations import close_period, period_views, reopen_period
from .schemas import CloseIn, PeriodOut

blp = Blueprint("periods", __name__, url_prefix="/api/v1/competitions/<int:cid>/periods",
                description="Months: closing (snapshot and red flag) and reopening.")


@blp.get("")
@roles(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, PeriodOut(many=True))
def list_periods(args, cid):
    """The competition's months, oldest first: status, when closed, the red flag's holder, `edition` (how often
    closed), `late_entries` (waiting for a reopen) and, when the competition asks for approval
    (`report_approval`), the current edition's `approved_at`/`approved_by` and `awaiting_approval` (its report
    is a draft until `POST …/reports/{key}/approve`)."""
    competition = get_competition(cid)
    periods, headers = paginate(select(Period).where(Period.competition_id == cid).order_by(Period.key), args)
    return period_views(competition, periods), headers


@blp.post("/<month:key>/close")
@roles("admin")
@blp.arguments(CloseIn)
@blp.response(200, PeriodOut)
def post_close(data, cid, key):
    """Freeze the month's standings and award the red flag; closing a closed month changes nothing."""
    competition = get_competition(cid)
    period, _ = close_period(competition, key, reason=data["reason"])
    return period_views(competition, [period])[0]


@blp.post("/<month:key>/reopen")
@roles("admin")
@blp.arguments(ReasonIn)
@blp.response(200, PeriodOut)
def post_reopen(data, cid, key):
    competition = get_competition(cid)
    return period_views(competition, [reopen_period(competition, key, data["reason"])])[0]
