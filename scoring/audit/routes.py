from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import g
from flask_smorest import Blueprint
from sqlalchemy import or_, select

from ..api import PageArgs, paginate
from ..auth.access import roles
from ..competitions.models import Section, Team
from ..competitions.operations import get_competition
from ..extensions import db
from ..fields import AwareDateTime
from .models import AuditEvent

blp = Blueprint("audit", __name__, url_prefix="/api/v1/competitions/<int:cid>", description="The audit trail.")


class AuditFilter(PageArgs):
    since = AwareDateTime()  # years 2000-2100: year 1 would overflow on the way to UTC
    actor = ma.fields.String()
    action = ma.fields.String()
    target = ma.fields.String(validate=ma.validate.Length(max=80), metadata={
        "description": "What the change was made to: `entry:52`, `period:2026-11`, `veto:3`; a kind alone "
                       "(`entry`) gives every change to things of that kind."})
    order = ma.fields.String(load_default="oldest", validate=ma.validate.OneOf(["oldest", "newest"]), metadata={
        "description": "`oldest` first (the default) or `newest` first."})
    before = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "Only the rows older than this id: with `order=newest`, the next page back through a long "
                       "trail (pass the last id shown) without counting past every newer row."})


class AuditOut(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    at_local = ma.fields.Method("_at_local", metadata={"description": "`at` in the competition's time zone."})
    actor = ma.fields.String()
    action = ma.fields.String()
    target = ma.fields.String(allow_none=True)
    detail = ma.fields.Method("_detail", allow_none=True)
    reason = ma.fields.String(allow_none=True)
    user_agent = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)

    def _at_local(self, event) -> str:
        return event.at.astimezone(g.audit_zone).isoformat()

    def _detail(self, event) -> dict | None:
        """Stored rows stay as written; older ones named a section or team by its id: the code rides along."""
        detail = event.detail
        if not detail or not ({"section_id", "team_id"} & detail.keys()):
            return detail
        named = dict(detail)
        if "section_id" in detail and "section" not in detail:
            named["section"] = _codes(Section).get(detail["section_id"])
        if "team_id" in detail and "team" not in detail:
            named["team"] = _codes(Team).get(detail["team_id"])
        return named


def _codes(model) -> dict[int, str]:
    cache = g.setdefault("audit_codes", {})
    if model not in cache:
        cache[model] = dict(db.session.execute(select(model.id, model.code)
                                               .where(model.competition_id == g.audit_cid)).all())
    return cache[model]


@blp.get("/audit")
@roles("admin")
@blp.arguments(AuditFilter, location="query")
@blp.response(200, AuditOut(many=True))
def list_audit(args, cid):
    """Every change to the competition, oldest first (`order=newest`: newest first; `before=<id>`: older than that
    row, to page back). Append-only: nothing edits or deletes it."""
    competition = get_competition(cid)
    g.audit_zone, g.audit_cid = ZoneInfo(competition.timezone), cid
    # Office-wide changes (users and tokens without a competition) belong to every trail.
    stmt = (select(AuditEvent)
            .where(or_(AuditEvent.competition_id == cid, AuditEvent.competition_id.is_(None)))
            .order_by(AuditEvent.id.desc() if args["order"] == "newest" else AuditEvent.id))
    if "before" in args:
        stmt = stmt.where(AuditEvent.id < args["before"])
    if "since" in args:
        stmt = stmt.where(AuditEvent.at >= args["since"])
    if "actor" in args:
        stmt = stmt.where(AuditEvent.actor == args["actor"])
    if "action" in args:
        stmt = stmt.where(AuditEvent.action == args["action"])
    if "target" in args:
        target = args["target"]
        stmt = stmt.where(AuditEvent.target == target if ":" in target
                          else AuditEvent.target.startswith(target + ":", autoescape=True))
    return paginate(stmt, args)
