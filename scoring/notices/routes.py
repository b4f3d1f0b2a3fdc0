from flask import g
from flask_smorest import Blueprint

from ..api import paginate
from ..auth.access import READERS, check_section, readable_sections, roles
from ..competitions.operations import find_section, get_competition
from .operations import get_notice, notices_query, respond, review
from .schemas import NoticeDetail, NoticeFilter, NoticeOut, ResponseIn, ReviewIn

blp = Blueprint("notices", __name__, url_prefix="/api/v1",
                description="Rectification notices (整改通知单): a finding, its deadline, the fix and its re-check.")


@blp.get("/competitions/<int:cid>/notices")
@roles(*READERS)
@blp.arguments(NoticeFilter, location="query")
@blp.response(200, NoticeOut(many=True))
def list_notices(args, cid):
    """The competition's notices; a contractor sees its own sections' only."""
    competition = get_competition(cid)
    if g.user.role == "contractor" and "section" in args:
        section = find_section(cid, args["section"])
        if section is not None:
            check_section(g.user, section.id, section.code)
    return paginate(notices_query(competition, args, readable_sections(g.user)), args)


@blp.get("/notices/<int:notice_id>")
@roles(*READERS)
@blp.response(200, NoticeDetail)
def show_notice(notice_id):
    """One notice with its entry, photos and whole history."""
    return get_notice(notice_id, g.user)


@blp.post("/notices/<int:notice_id>/responses")
@roles("contractor", "admin")
@blp.arguments(ResponseIn)
@blp.alt_response(200, schema=NoticeDetail, description="The same answer (client_id) again: stored once.")
@blp.response(201, NoticeDetail)
def post_response(data, notice_id):
    """The contractor's answer: what was done, with after-photos. open → responded; otherwise 409."""
    notice, created = respond(notice_id, g.user, data)
    return notice, 201 if created else 200


@blp.post("/notices/<int:notice_id>/review")
@roles("supervisor", "admin")
@blp.arguments(ReviewIn)
@blp.response(200, NoticeDetail)
def post_review(data, notice_id):
    """The re-check: pass → closed; reject (with the reason) → open again. Only a responded notice."""
    return review(notice_id, g.user, data)
