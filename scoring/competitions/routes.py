from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from ..api import PageArgs, paginate
from ..auth.access import READERS, roles
from .models import Competition, Section, Team
from .operations import (
    create_competition,
    create_section,
    create_team,
    get_competition,
    set_close_policy,
    update_competition,
    update_criterion,
    update_item,
    update_section,
    update_team,
)
from .schemas import (
    CompetitionDetail,
    CompetitionFilter,
    CompetitionIn,
    CompetitionOut,
    CompetitionPatch,
    CriterionOut,
    CriterionPatch,
    ItemOut,
    ItemPatch,
    SectionIn,
    SectionOut,
    SectionPatch,
    TeamIn,
    TeamOut,
    TeamPatch,
)

blp = Blueprint("competitions", __name__, url_prefix="/api/v1/competitions",
                description="Competitions, their five criteria and items, sections and commando teams.")


@blp.post("")
@roles("admin")
@blp.arguments(CompetitionIn)
@blp.response(201, CompetitionDetail)
def post_competition(data):
    competition = create_competition(data)
    return competition


@blp.get("")
@roles(*READERS)
@blp.arguments(CompetitionFilter, location="query")
@blp.response(200, CompetitionOut(many=True))
def list_competitions(args):
    """The competitions in use; `?archived=true`: the archived ones (finished seasons, sandboxes)."""
    archived = Competition.archived_at.is_not(None) if args["archived"] else Competition.archived_at.is_(None)
    return paginate(select(Competition).where(archived).order_by(Competition.id), args)


@blp.get("/<int:cid>")
@roles(*READERS)
@blp.response(200, CompetitionDetail)
def get_competition_detail(cid):
    return get_competition(cid)


@blp.post("/<int:cid>/sections")
@roles("admin")
@blp.arguments(SectionIn)
@blp.response(201, SectionOut)
def post_section(data, cid):
    section = create_section(get_competition(cid), data)
    return section


@blp.get("/<int:cid>/sections")
@roles(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, SectionOut(many=True))
def list_sections(args, cid):
    get_competition(cid)
    return paginate(select(Section).where(Section.competition_id == cid).order_by(Section.code), args)


@blp.post("/<int:cid>/teams")
@roles("admin")
@blp.arguments(TeamIn)
@blp.response(201, TeamOut)
def post_team(data, cid):
    team = create_team(get_competition(cid), data)
    return team


@blp.get("/<int:cid>/teams")
@roles(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, TeamOut(many=True))
def list_teams(args, cid):
    get_competition(cid)
    return paginate(select(Team).where(Team.competition_id == cid).order_by(Team.code), args)


# -- corrections: every change audited with the values before and after, and an optional reason ------

@blp.patch("/<int:cid>")
@roles("admin")
@blp.arguments(CompetitionPatch)
@blp.response(200, CompetitionDetail)
def patch_competition(data, cid):
    """Correct the competition's `name` or `organizer`; change its close policy (`auto_close`: `{"day",
    "time"}`, or null: closed by hand; `report_approval`; `quarter_reports`). Its scoring rules never change (422)."""
    reason = data.pop("reason", None)
    policy = {k: data.pop(k) for k in ("auto_close", "report_approval", "quarter_reports", "archived") if k in data}
    competition = update_competition(get_competition(cid), data, reason)
    return set_close_policy(competition, policy, reason) if policy else competition


@blp.patch("/<int:cid>/criteria/<code>")
@roles("admin")
@blp.arguments(CriterionPatch)
@blp.response(200, CriterionOut)
def patch_criterion(data, cid, code):
    """Correct a criterion's `name`; its weight and bonus cap never change (422)."""
    reason = data.pop("reason", None)
    return update_criterion(get_competition(cid), code, data, reason)


@blp.patch("/<int:cid>/criteria/<code>/items/<item>")
@roles("admin")
@blp.arguments(ItemPatch)
@blp.response(200, ItemOut)
def patch_item(data, cid, code, item):
    """Correct an item's `name`; its maximum never changes (422)."""
    reason = data.pop("reason", None)
    return update_item(get_competition(cid), code, item, data, reason)


@blp.patch("/<int:cid>/sections/<code>")
@roles("admin")
@blp.arguments(SectionPatch)
@blp.response(200, SectionOut)
def patch_section(data, cid, code):
    """Correct a section's `name` or `contractor`, or change its range (`start_km`, `end_km`): stored
    entries outside a new range stay, new ones are checked against it."""
    reason = data.pop("reason", None)
    return update_section(get_competition(cid), code, data, reason)


@blp.patch("/<int:cid>/teams/<code>")
@roles("admin")
@blp.arguments(TeamPatch)
@blp.response(200, TeamOut)
def patch_team(data, cid, code):
    """Correct a team's `name`, record a new `leader`, or disband it (`"active": false`: no new entries;
    the months it was assessed in keep it)."""
    reason = data.pop("reason", None)
    return update_team(get_competition(cid), code, data, reason)
