import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import or_, select

from ..api import PageArgs, paginate
from ..auth.access import roles
from ..competitions.operations import get_competition
from ..fields import AwareDateTime
from .models import AuditEvent

blp = Blueprint("audit", __name__, url_prefix="/api/v1/competitions/<int:cid>", description="The audit trail.")


class AuditFilter(PageArgs):
    since = AwareDateTime()  # years 2000-2100: year 1 would overflow on the way to UTC
    actor = ma.fields.String()
    action = ma.fields.String()


class AuditOut(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    actor = ma.fields.String()
    action = ma.fields.String()
    target = ma.fields.String(allow_none=True)
    detail = ma.fields.Dict(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    user_agent = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)


@blp.get("/audit")
@roles("admin")
@blp.arguments(AuditFilter, location="query")
@blp.response(200, AuditOut(many=True))
def list_audit(args, cid):
    """Every change to the competition, oldest first. Append-only: nothing edits or deletes it."""
    get_competition(cid)
    # Office-wide changes (users and tokens without a competition) belong to every trail.
    stmt = (select(AuditEvent)
            .where(or_(AuditEvent.competition_id == cid, AuditEvent.competition_id.is_(None)))
            .order_by(AuditEvent.id))
    if "since" in args:
        stmt = stmt.where(AuditEvent.at >= args["since"])
    if "actor" in args:
        stmt = stmt.where(AuditEvent.actor == args["actor"])
    if "action" in args:
        stmt = stmt.where(AuditEvent.action == args["action"])
    return paginate(stmt, args)
