from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from ..api import paginate
from ..auth.access import READERS, roles
from ..competitions.models import Section
from ..competitions.operations import get_competition
from ..errors import Problem
from ..fields import ReasonIn
from .models import Veto
from .operations import create_veto, get_veto, revoke_veto
from .schemas import VetoFilter, VetoIn, VetoOut

blp = Blueprint("vetoes", __name__, url_prefix="/api/v1", description="一票否决: vetoes and their revocation.")


@blp.post("/competitions/<int:cid>/vetoes")
@roles("admin")
@blp.arguments(VetoIn)
@blp.response(201, VetoOut)
def post_veto(data, cid):
    veto = create_veto(get_competition(cid), g.user, data)
    return veto


@blp.get("/competitions/<int:cid>/vetoes")
@roles(*READERS)
@blp.arguments(VetoFilter, location="query")
@blp.response(200, VetoOut(many=True))
def list_vetoes(args, cid):
    get_competition(cid)
    stmt = select(Veto).where(Veto.competition_id == cid).order_by(Veto.id)
    if "period" in args:
        stmt = stmt.where(Veto.period == args["period"])
    if "section" in args:
        stmt = stmt.join(Section, Veto.section_id == Section.id).where(Section.code == args["section"])
    return paginate(stmt, args)


@blp.post("/competitions/<int:cid>/vetoes/<int:veto_id>/revoke")
@roles("admin")
@blp.arguments(ReasonIn)
@blp.response(200, VetoOut)
def post_revoke(data, cid, veto_id):
    get_competition(cid)
    veto = get_veto(veto_id)
    if veto.competition_id != cid:
        raise_not_found(veto_id)
    veto = revoke_veto(veto, g.user, data["reason"])
    return veto


def raise_not_found(veto_id):
    raise Problem(404, f"No veto {veto_id} in this competition.")
