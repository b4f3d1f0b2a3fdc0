from flask import g, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import select

from ..api import paginate
from ..auth.access import READERS, readable_sections, roles
from ..auth.models import User
from ..competitions.models import Section, Team
from ..competitions.operations import get_competition
from ..errors import Problem
from ..extensions import db
from ..fields import ReasonIn
from .models import Entry
from .operations import as_posted, correct_entry, get_entry, post_entries, void_entry
from .schemas import BatchOut, CorrectIn, EntryBatchIn, EntryFilter, EntryIn, EntryOut

blp = Blueprint("entries", __name__, url_prefix="/api/v1", description="Score postings from the tablets.")

_STATUS = {"conflict": 409, "invalid": 422, "forbidden": 403}
_entry = EntryIn()
_batch = EntryBatchIn()


@blp.post("/competitions/<int:cid>/entries")
@roles("admin", "supervisor")
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
    "oneOf": [{"$ref": "#/components/schemas/EntryIn"}, {"$ref": "#/components/schemas/EntryBatchIn"}]}}}})
@blp.alt_response(200, schema=BatchOut, description="A batch: one result per entry, in order; "
                  "or a single entry already stored with the same content (its first copy).")
@blp.response(201, EntryOut, description="A single entry, stored now.")
def post_entry(cid):
    """Post one entry, or a batch `{"entries": [...]}` of up to 500."""
    competition = get_competition(cid)
    body = request.get_json(silent=True)
    if body is None:
        raise Problem(400, "The body is not valid JSON.")
    if isinstance(body, dict) and "entries" in body:
        entries = _batch.load(body)["entries"]
        outcomes = post_entries(competition, g.user, entries, _entry.load)
        # A Response passes through the 201 schema above untouched. The results are already what
        # BatchOut dumps (strings, ints, the errors' dicts): built as its output, not dumped one by one.
        return jsonify({"results": [
            {"client_id": o.client_id, "status": "invalid" if o.status == "forbidden" else o.status,
             **({"id": o.entry_id, "entry_status": o.entry_status} if o.entry_id else {}),
             **({"errors": o.errors} if o.errors else {}), **({"warnings": o.warnings} if o.warnings else {})}
            for o in outcomes
        ]})
    (outcome,) = post_entries(competition, g.user, [body], _entry.load)
    if outcome.status in _STATUS:
        detail = {"conflict": f"Entry {outcome.client_id} is already stored with other content.",
                  "invalid": "The entry is invalid.",
                  "forbidden": "You may not post for this section."}[outcome.status]
        raise Problem(_STATUS[outcome.status], detail, outcome.errors)
    if outcome.status == "created":
        return as_posted(outcome, g.user, competition), 201
    return get_entry(outcome.entry_id), 200


@blp.get("/competitions/<int:cid>/entries")
@roles(*READERS)
@blp.arguments(EntryFilter, location="query")
@blp.response(200, EntryOut(many=True))
def list_entries(args, cid):
    get_competition(cid)
    stmt = select(Entry).where(Entry.competition_id == cid).order_by(Entry.id)
    own = readable_sections(g.user)
    if own is not None:  # a contractor: its own sections' entries, never another's
        if "section" in args and not db.session.scalar(select(Section.id).where(
                Section.competition_id == cid, Section.code == args["section"], Section.id.in_(own))):
            raise Problem(403, f"标段 {args['section']} 不属于 {g.user.username}。"
                               f"Section {args['section']} is not assigned to {g.user.username}.")
        stmt = stmt.where(Entry.section_id.in_(own))
    for name in ("period", "criterion", "status"):
        if name in args:
            stmt = stmt.where(getattr(Entry, name) == args[name])
    if "section" in args:
        stmt = stmt.where(Entry.section_id.in_(
            select(Section.id).where(Section.competition_id == cid, Section.code == args["section"])))
    if "team" in args:
        stmt = stmt.where(Entry.team_id.in_(select(Team.id).where(Team.competition_id == cid,
                                                                  Team.code == args["team"])))
    if "supervisor" in args:
        stmt = stmt.where(Entry.supervisor_id.in_(select(User.id).where(User.username == args["supervisor"])))
    return paginate(stmt, args)


@blp.post("/entries/<int:entry_id>/correct")
@roles("admin", "supervisor")
@blp.arguments(CorrectIn)
@blp.response(201, EntryOut, description="The replacement, stored now (200: this correction was already stored).")
def post_correct(data, entry_id):
    """Void an entry and store its replacement in one transaction; each names the other. Also undoes a
    mistaken void (a replacement with the voided entry's content)."""
    replacement, created = correct_entry(entry_id, g.user, data["reason"], data["entry"], _entry.load)
    return replacement, 201 if created else 200


@blp.post("/entries/<int:entry_id>/void")
@roles("admin", "supervisor")
@blp.arguments(ReasonIn)
@blp.response(200, EntryOut)
def post_void(data, entry_id):
    entry = void_entry(entry_id, g.user, data["reason"])
    return entry


