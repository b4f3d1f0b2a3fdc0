"""一票否决. These change data; the caller commits."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit.operations import record
from ..channels import operations as channels
from ..clock import utcnow
from ..competitions.models import Competition
from ..competitions.operations import bump_revision, check_writable, find_section, find_team
from ..errors import Problem
from ..extensions import db
from ..month import Month
from ..periods.operations import lock_month
from .models import Veto, VetoRevocation


def create_veto(competition: Competition, user, data: dict) -> Veto:
    check_writable(competition)
    section = find_section(competition.id, data["section"])
    if section is None:
        raise Problem(422, "Unknown section.", {"section": [f"Unknown section {data['section']}."]})
    team = None
    if data["team"] is not None:
        team = find_team(competition.id, data["team"])
        if team is None:
            raise Problem(422, "Unknown team.", {"team": [f"Unknown team {data['team']}."]})
        if team.section_id != section.id:
            raise Problem(422, "The team is on another section.",
                          {"team": [f"Team {team.code} belongs to section {team.section.code}."]})
    if data["period"] > Month.current(competition.timezone):
        raise Problem(422, f"{data['period']} has not begun yet.", {"period": ["A future month cannot be vetoed."]})
    # Under the month's lock: a close running now either froze the month before (409 here) or
    # waits for this veto and freezes it with the rest (CONTRACT.md: a snapshot never changes).
    if lock_month(competition.id, data["period"]).status == "closed":
        raise Problem(409, f"{data['period']} is closed; reopen it first to veto in it.")
    subject = f"{section.code}{' / ' + team.code if team else ''}"
    twin = db.session.scalar(select(Veto.id).where(
        Veto.competition_id == competition.id, Veto.section_id == section.id, Veto.period == data["period"],
        Veto.team_id.is_(None) if team is None else Veto.team_id == team.id,
        ~Veto.revocation.has()))
    if twin is not None:
        raise Problem(409, f"{subject} is already vetoed for {data['period']} (veto {twin}); "
                           f"revoke that one first to change its reason.")
    veto = Veto(competition_id=competition.id, section_id=section.id, team_id=team.id if team else None,
                period=data["period"], reason=data["reason"], created_by_id=user.id)
    try:
        with db.session.begin_nested():  # a request racing this one past the check above: the index refuses it
            db.session.add(veto)
    except IntegrityError:
        raise Problem(409, f"{subject} is already vetoed for {data['period']}; "
                           f"revoke that one first to change its reason.") from None
    bump_revision(competition.id)
    record("veto.created", competition_id=competition.id, target=f"veto:{veto.id}", reason=data["reason"],
           detail={"section": section.code, "team": team.code if team else None, "period": data["period"]})
    channels.veto_imposed(veto)
    return veto


def get_veto(veto_id: int) -> Veto:
    veto = db.session.get(Veto, veto_id)
    if veto is None:
        raise Problem(404, f"No veto {veto_id}.")
    return veto


def revoke_veto(veto: Veto, user, reason: str) -> Veto:
    # The month's lock first, as every operation on a month's state takes it (a close freezes
    # either the veto or its revocation, never half of it); then the veto's: two revokes, one wins.
    check_writable(db.session.get(Competition, veto.competition_id))
    lock_month(veto.competition_id, veto.period)
    db.session.execute(select(Veto.id).where(Veto.id == veto.id).with_for_update())
    veto = db.session.get(Veto, veto.id, populate_existing=True)
    if veto.revocation is not None:
        raise Problem(409, f"Veto {veto.id} is already revoked.")
    revocation = VetoRevocation(veto_id=veto.id, reason=reason, revoked_by_id=user.id, revoked_at=utcnow())
    db.session.add(revocation)
    veto.revoked_at = revocation.revoked_at  # frees the subject's month for a new veto (the unique indexes)
    bump_revision(veto.competition_id)
    record("veto.revoked", competition_id=veto.competition_id, target=f"veto:{veto.id}", reason=reason)
    db.session.flush()
    db.session.refresh(veto)
    channels.veto_revoked(veto)
    return veto
