"""Setting up a competition. These change data; the caller commits."""
from __future__ import annotations

from sqlalchemy import select

from ..audit.operations import record
from ..errors import Problem
from ..extensions import db
from .models import Competition, Criterion, Item, Section, Team


def get_competition(cid: int) -> Competition:
    competition = db.session.get(Competition, cid)
    if competition is None:
        raise Problem(404, f"No competition {cid}.")
    return competition


def bump_revision(competition_id: int) -> None:
    """Mark every board of the competition as changed (see `Competition.revision`)."""
    table = Competition.__table__  # Core: the ORM's bulk-update bookkeeping would cost more than the UPDATE
    db.session.execute(table.update().where(table.c.id == competition_id).values(revision=table.c.revision + 1))


def create_competition(data: dict) -> Competition:
    competition = Competition(
        name=data["name"],
        organizer=data["organizer"],
        timezone=data["timezone"],
        tie_break_codes=",".join(data["tie_break"]),
    )
    db.session.add(competition)
    db.session.flush()
    for position, c in enumerate(data["criteria"]):
        criterion = Criterion(competition_id=competition.id, code=c["code"], name=c["name"], weight=c["weight"],
                              bonus_cap=c["bonus_cap"], position=position)
        db.session.add(criterion)
        db.session.flush()
        for item_position, i in enumerate(c["items"]):
            db.session.add(Item(competition_id=competition.id, criterion_id=criterion.id, code=i["code"],
                                name=i["name"], max_points=i["max_points"], position=item_position))
    db.session.flush()
    bump_revision(competition.id)  # its boards exist from now on
    db.session.refresh(competition)
    record("competition.created", competition_id=competition.id, target=f"competition:{competition.id}",
           detail=_jsonable(data))
    return competition


def create_section(competition: Competition, data: dict) -> Section:
    if find_section(competition.id, data["code"]) is not None:
        raise Problem(409, f"Section {data['code']} already exists.")
    section = Section(competition_id=competition.id, **data)
    db.session.add(section)
    db.session.flush()
    bump_revision(competition.id)
    record("section.created", competition_id=competition.id, target=f"section:{section.id}",
           detail=_jsonable(data))
    return section


def create_team(competition: Competition, data: dict) -> Team:
    section = find_section(competition.id, data["section"])
    if section is None:
        raise Problem(422, "Unknown section.", {"section": [f"No section {data['section']} in this competition."]})
    if find_team(competition.id, data["code"]) is not None:
        raise Problem(409, f"Team {data['code']} already exists.")
    team = Team(competition_id=competition.id, section_id=section.id, code=data["code"], name=data["name"],
                leader=data["leader"])
    db.session.add(team)
    db.session.flush()
    bump_revision(competition.id)
    record("team.created", competition_id=competition.id, target=f"team:{team.id}", detail=_jsonable(data))
    return team


def find_section(competition_id: int, code: str) -> Section | None:
    return db.session.scalar(select(Section).where(Section.competition_id == competition_id, Section.code == code))


def find_team(competition_id: int, code: str) -> Team | None:
    return db.session.scalar(select(Team).where(Team.competition_id == competition_id, Team.code == code))


def _jsonable(value):
    """Request data for the audit trail (Decimals as strings, exactly)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
