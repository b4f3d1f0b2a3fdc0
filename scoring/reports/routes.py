import re

from flask_smorest import Blueprint
from sqlalchemy import select

from ..api import Problem, paginate
from ..audit.operations import record
from ..auth.access import roles
from ..competitions.operations import find_section, get_competition
from ..extensions import db
from ..periods.models import Period
from ..types import utcnow
from .models import Delivery, Recipient
from .operations import queue_reports
from .schemas import DeliveryOut, RecipientFilter, RecipientIn, RecipientOut

blp = Blueprint("reports", __name__, url_prefix="/api/v1/competitions/<int:cid>",
                description="Report recipients, the monthly report and its delivery, exports.")


def _closed_period(cid: int, key: str) -> Period:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", key):
        raise Problem(404, f"No period {key!r}; periods are months, YYYY-MM.")
    period = db.session.scalar(select(Period).where(Period.competition_id == cid, Period.key == key))
    if period is None or period.status != "closed":
        raise Problem(409, f"{key} is not closed; its report is made when the month closes.")
    return period


@blp.post("/recipients")
@roles("admin")
@blp.arguments(RecipientIn)
@blp.response(201, RecipientOut)
def post_recipient(data, cid):
    competition = get_competition(cid)
    section = None
    if data["scope"] != "all":
        section = find_section(cid, data["scope"])
        if section is None:
            raise Problem(422, "Unknown section.", {"scope": [f"Use all or a section code, not {data['scope']}."]})
    recipient = Recipient(competition_id=competition.id, email=data["email"], name=data["name"],
                          section_id=section.id if section else None)
    db.session.add(recipient)
    db.session.flush()
    record("recipient.created", competition_id=cid, target=f"recipient:{recipient.id}",
           detail={"email": data["email"], "scope": data["scope"]})
    db.session.commit()
    return recipient


@blp.get("/recipients")
@roles("admin")
@blp.arguments(RecipientFilter, location="query")
@blp.response(200, RecipientOut(many=True))
def list_recipients(args, cid):
    get_competition(cid)
    return paginate(select(Recipient).where(Recipient.competition_id == cid, Recipient.removed_at.is_(None))
                    .order_by(Recipient.id), args)


@blp.delete("/recipients/<int:rid>")
@roles("admin")
@blp.response(204)
def delete_recipient(cid, rid):
    """Stop sending to a recipient. Past deliveries stay on record."""
    recipient = db.session.get(Recipient, rid)
    if recipient is None or recipient.competition_id != cid or recipient.removed_at is not None:
        raise Problem(404, f"No recipient {rid}.")
    recipient.removed_at = utcnow()
    record("recipient.removed", competition_id=cid, target=f"recipient:{rid}", detail={"email": recipient.email})
    db.session.commit()


@blp.post("/reports/<period>/send")
@roles("admin")
@blp.response(202, DeliveryOut(many=True))
def post_send(cid, period):
    """Queue the month's report for every recipient: once per recipient, however often asked."""
    competition = get_competition(cid)
    _closed_period(cid, period)
    queued = queue_reports(competition, period)
    record("report.queued", competition_id=cid, target=f"period:{period}", detail={"new_deliveries": queued})
    db.session.commit()
    return _deliveries(cid, period)


@blp.get("/reports/<period>/deliveries")
@roles("admin")
@blp.response(200, DeliveryOut(many=True))
def list_deliveries(cid, period):
    get_competition(cid)
    return _deliveries(cid, period)


def _deliveries(cid: int, period: str) -> list[Delivery]:
    return db.session.scalars(
        select(Delivery).where(Delivery.competition_id == cid, Delivery.period == period).order_by(Delivery.id)
    ).all()
