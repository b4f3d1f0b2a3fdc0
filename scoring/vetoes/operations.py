"""一票否决. These change data; the caller commits."""
from __future__ import annotations

from sqlalchemy import select

from ..api import Problem
from ..audit.operations import record
from ..competitions.models import Competition
from ..competitions.operations import bump_revision, find_section, find_team
from ..extensions import db
from .models import Veto, VetoRevocation


def create_veto(competition: Competition, user, data: dict) -> Veto:
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
    veto = Veto(competition_id=competition.id, section_id=section.id, team_id=team.id if team else None,
                period=data["period"], reason=data["reason"], created_by_id=user.id)
    db.session.add(veto)
    db.session.flush()
    bump_revision(competition.id)
    record("veto.created", competition_id=competition.id, target=f"veto:{veto.id}", reason=data["reason"],
           detail={"section": section.code, "team": team.code if team else None, "period": data["period"]})
    return veto


def get_veto(veto_id: int) -> Veto:
    db.session.execute(select(Veto.id).where(Veto.id == veto_id).with_for_update())
    veto = db.session.get(Veto, veto_id, populate_existing=True)
    if veto is None:
        raise Problem(404, f"No veto {veto_id}.")
    return veto


def revoke_veto(veto: Veto, user, reason: str) -> Veto:
    if veto.revocation is not None:
        raise Problem(409, f"Veto {veto.id} is already revoked.")
    db.session.add(VetoRevocation(veto_id=veto.id, reason=reason, revoked_by_id=user.id))
    bump_revision(veto.competition_id)
    record("veto.revoked", competition_id=veto.competition_id, target=f"veto:{veto.id}", reason=reason)
    db.session.flush()
    db.session.refresh(veto)
    return veto
