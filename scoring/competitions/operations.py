"""Setting up a competition. These change data; the caller commits."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import bindparam, select

from ..audit.operations import record
from ..clock import utcnow
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
    db.session.execute(_BUMP, {"cid": competition_id})


# Core, built once: the ORM's bulk-update bookkeeping, or building the statement, would cost more than the UPDATE
_BUMP = (Competition.__table__.update().where(Competition.__table__.c.id == bindparam("cid"))
         .values(revision=Competition.__table__.c.revision + 1))


def create_competition(data: dict) -> Competition:
    config = current_app.config
    default = {"day": config["AUTO_CLOSE_DAY"], "time": config["AUTO_CLOSE_TIME"]} if config["AUTO_CLOSE_DAY"] else None
    auto_close = data.get("auto_close", default)
    competition = Competition(
        name=data["name"],
        organizer=data["organizer"],
        timezone=data["timezone"],
        tie_break_codes=",".join(data["tie_break"]),
        auto_close_day=auto_close["day"] if auto_close else None,
        auto_close_time=auto_close["time"] if auto_close else None,
        report_approval=data.get("report_approval", False),
        quarter_reports=data.get("quarter_reports", False),
        overdue_penalty=data["overdue_penalty"],
        general_bonus_cap=data["general_bonus_cap"],
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


def check_writable(competition: Competition) -> None:
    """An archived competition is read-only: no entries, closes, vetoes or mail (409 until unarchived)."""
    if competition.archived:
        raise Problem(409, f"竞赛“{competition.name}”已归档，只能查看；如需继续使用请先取消归档 "
                           f"(PATCH {{\"archived\": false}}). The competition is archived.")


def set_close_policy(competition: Competition, data: dict, reason: str | None = None) -> Competition:
    """PATCH the close policy: `auto_close` ({day, time} or None: by hand), `report_approval` and
    `quarter_reports` (from the next month published on: a quarter already complete is not mailed for it); and
    `archived` (read-only, out of the list; nothing deleted). Audited with the values before and after;
    takes effect at the scheduler's next round."""
    before = {"auto_close": competition.auto_close, "report_approval": competition.report_approval,
              "quarter_reports": competition.quarter_reports, "archived": competition.archived}
    if "archived" in data and data["archived"] != competition.archived:
        competition.archived_at = utcnow() if data["archived"] else None
    if "auto_close" in data:
        auto_close = data["auto_close"]
        competition.auto_close_day = auto_close["day"] if auto_close else None
        competition.auto_close_time = auto_close["time"] if auto_close else None
    if "report_approval" in data:
        competition.report_approval = data["report_approval"]
    if "quarter_reports" in data:
        competition.quarter_reports = data["quarter_reports"]
    after = {"auto_close": competition.auto_close, "report_approval": competition.report_approval,
             "quarter_reports": competition.quarter_reports, "archived": competition.archived}
    if after != before:
        db.session.flush()
        bump_revision(competition.id)  # the guard treats every change of the competition's row as a board change
        record("competition.updated", competition_id=competition.id, target=f"competition:{competition.id}",
               detail={"before": before, "after": after}, reason=reason)
    db.session.flush()
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


# -- corrections: words, a section's contractor and range, a team's leader, a disbanded team ---------

def update_competition(competition: Competition, changes: dict, reason: str | None = None) -> Competition:
    """Correct the competition's name or organizer. The scoring rules are never among `changes`
    (the schema refuses them): they never change once the competition exists."""
    _correct(competition, changes, reason, "competition.updated", competition.id, f"competition:{competition.id}")
    return competition


def update_criterion(competition: Competition, code: str, changes: dict, reason: str | None = None) -> Criterion:
    criterion = get_criterion(competition, code)
    _correct(criterion, changes, reason, "criterion.updated", competition.id, f"criterion:{criterion.id}",
             code=code)
    return criterion


def update_item(competition: Competition, criterion_code: str, code: str, changes: dict,
                reason: str | None = None) -> Item:
    criterion = get_criterion(competition, criterion_code)
    item = next((i for i in criterion.items if i.code == code), None)
    if item is None:
        raise Problem(404, f"No item {code} in criterion {criterion_code}.")
    _correct(item, changes, reason, "item.updated", competition.id, f"item:{item.id}", code=code)
    return item


def update_section(competition: Competition, code: str, changes: dict, reason: str | None = None) -> Section:
    """Correct a section's name or contractor, or change its chainage range: entries already stored
    outside a new range stay as they are; new ones are checked against it."""
    section = find_section(competition.id, code)
    if section is None:
        raise Problem(404, f"No section {code} in this competition.")
    start, end = changes.get("start_km", section.start_km), changes.get("end_km", section.end_km)
    if end <= start:
        field = "end_km" if "end_km" in changes else "start_km"
        raise Problem(422, "The chainage range is inverted.", {field: [
            f"终点 {end} km 必须大于起点 {start} km。end_km ({end}) must be past start_km ({start})."]})
    _correct(section, changes, reason, "section.updated", competition.id, f"section:{section.id}",
             code=section.code)
    return section


def update_team(competition: Competition, code: str, changes: dict, reason: str | None = None) -> Team:
    """Correct a team's name, record its new leader, disband it (`active` false: no new entries; the
    months it was assessed in keep it) or bring it back."""
    team = find_team(competition.id, code)
    if team is None:
        raise Problem(404, f"No team {code} in this competition.")
    _correct(team, changes, reason, "team.updated", competition.id, f"team:{team.id}", code=team.code)
    return team


def get_criterion(competition: Competition, code: str) -> Criterion:
    criterion = next((c for c in competition.criteria if c.code == code), None)
    if criterion is None:
        raise Problem(404, f"No criterion {code} in this competition.")
    return criterion


def _correct(row, changes: dict, reason: str | None, action: str, competition_id: int, target: str,
             **about) -> None:
    """Apply `changes` to `row`, on record: the audit keeps each changed field's value before and after,
    who and why. Live boards, the wall, exports and mails read the new words at once (the revision
    moves); a closed month's snapshot keeps the words of its close. Nothing changed, nothing recorded."""
    before, after = {}, {}
    for field, value in changes.items():
        if getattr(row, field) != value:
            before[field], after[field] = _jsonable(getattr(row, field)), _jsonable(value)
            setattr(row, field, value)
    if not before:
        return
    db.session.flush()
    bump_revision(competition_id)
    record(action, competition_id=competition_id, target=target, reason=reason,
           detail={**about, "before": before, "after": after})


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
