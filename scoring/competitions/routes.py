from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from ..api import PageArgs, paginate
from ..auth.access import READERS, roles
from .models import Competition, Section, Team
from .operations import create_competition, create_section, create_team, get_competition
from .schemas import CompetitionDetail, CompetitionIn, CompetitionOut, SectionIn, SectionOut, TeamIn, TeamOut

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
@blp.arguments(PageArgs, location="query")
@blp.response(200, CompetitionOut(many=True))
def list_competitions(args):
    return paginate(select(Competition).order_by(Competition.id), args)


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
