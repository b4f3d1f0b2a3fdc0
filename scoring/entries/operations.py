"""Posting and voiding entries. These change data; the caller commits.

Tablets resend. Every entry carries a `client_id` made on the tablet and the database holds it
unique per competition, so an entry is stored once however often, and however concurrently, it
arrives: the INSERT skips ids already present (ON CONFLICT DO NOTHING) and those are then compared
with what is stored: the same content is a duplicate, other content a conflict.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import marshmallow as ma
from cachetools import LRUCache, cached
from sqlalchemy import bindparam, select

from ..audit.operations import record, record_many
from ..auth.models import User
from ..clock import utcnow
from ..competitions.models import Competition, Section, Team
from ..competitions.operations import bump_revision, check_writable
from ..errors import Problem
from ..extensions import db, upsert_insert
from ..fields import format_chainage
from ..month import Month
from ..notices.operations import cancel_notice, open_notices
from ..periods.operations import lock_month, lock_months
from ..photos.models import Photo
from ..standings import tallies
from ..standings.engine import GENERAL, overrun, tally_key
from .models import Entry, EntryPhoto, EntryVoid

# A tablet's clock may run a little fast; anything further ahead is a typo.
FUTURE_SLACK = timedelta(hours=24)
MAX_RECTIFY = timedelta(days=366)


@dataclass
class Outcome:
    client_id: str | None
    status: str  # created | duplicate | conflict | invalid | forbidden
    entry_id: int | None = None
    errors: dict | None = None
    entry_status: str | None = None  # the stored entry's: counted | late | void
    row: dict | None = None  # a created entry's values as stored, to answer with (see `as_posted`)
    warnings: list[str] | None = None  # a created entry past its item's maximum or its bonus cap (`_warnings`)


def period_of(observed_at, timezone: str) -> str:
    """The month of `observed_at` on the competition's own calendar."""
    return Month.at(observed_at, timezone)


def _codes(payloads: list, field: str) -> set[str]:
    return {p[field] for p in payloads if isinstance(p, dict) and isinstance(p.get(field), str)}


def _photo_ids(payloads: list) -> set[str]:
    return {i.lower() for p in payloads if isinstance(p, dict) and isinstance(p.get("photos"), list)
            for i in p["photos"] if isinstance(i, str)}


@cached(LRUCache(maxsize=256), key=lambda competition: (competition.id, competition.created_at))
def _item_criteria(competition: Competition) -> dict[str, str]:
    """Item code -> criterion code. A competition's rules never change once created, so each
    process reads them once (keyed with created_at: a reset database may reuse the id)."""
    return {i.code: c.code for c in competition.criteria for i in c.items}


# Core rows with the columns a posting needs, by statements built once: building a statement, or ORM
# objects, cost about as much as running the query (bench/, a single POST).
_SECTIONS = select(Section.id, Section.code, Section.start_km, Section.end_km).where(
    Section.competition_id == bindparam("cid"), Section.code.in_(bindparam("codes", expanding=True)))
_TEAMS = select(Team.id, Team.code, Team.section_id, Team.active).where(
    Team.competition_id == bindparam("cid"), Team.code.in_(bindparam("codes", expanding=True)))


@cached(LRUCache(maxsize=256), key=lambda competition: (competition.id, competition.created_at))
def _limits(competition: Competition) -> tuple[dict[str, Decimal], dict[str, Decimal], dict[str, str]]:
    """Item code -> max_points, criterion code -> bonus_cap (GENERAL -> general_bonus_cap), criterion code ->
    name: what a warning measures an entry against (fixed once the competition exists, read once)."""
    caps = {c.code: c.bonus_cap for c in competition.criteria}
    caps[GENERAL] = competition.general_bonus_cap
    return ({i.code: i.max_points for c in competition.criteria for i in c.items}, caps,
            {c.code: c.name for c in competition.criteria})


class _Rulebook:
    """The sections and teams a batch names, and the competition's items, loaded once per request.

    Only those named: loading all of a large competition's sections and teams for every posting
    cost more than the posting itself (bench/: 200 sections, 600 teams)."""

    def __init__(self, competition: Competition, payloads: list):
        cid = competition.id
        self.competition = competition
        sections, teams = _codes(payloads, "section"), _codes(payloads, "team")
        connection = db.session.connection()
        self.sections = {s.code: s for s in connection.execute(
            _SECTIONS, {"cid": cid, "codes": sorted(sections)})} if sections else {}
        self.teams = {t.code: t for t in connection.execute(
            _TEAMS, {"cid": cid, "codes": sorted(teams)})} if teams else {}
        photos = _photo_ids(payloads)
        self.photos = set(db.session.scalars(select(Photo.sha256).where(
            Photo.competition_id == cid, Photo.sha256.in_(photos)))) if photos else set()
        self.item_criterion = _item_criteria(competition)
        self.now = utcnow()
        self._section_ids: dict[int, set[int]] = {}

    def _assigned(self, user: User) -> set[int]:
        """The user's sections, once per batch rather than once per entry."""
        if user.id not in self._section_ids:
            self._section_ids[user.id] = user.section_ids
        return self._section_ids[user.id]

    def check(self, data: dict, user: User) -> tuple[dict, bool]:
        """Field errors of an entry against this competition; True with them when it is the role."""
        section = self.sections.get(data["section"])
        if section is None:
            return {"section": [f"Unknown section {data['section']}."]}, False
        if user.role == "supervisor" and section.id not in self._assigned(user):
            return {"section": [f"Section {section.code} is not assigned to {user.username}."]}, True
        errors = {}
        if data["team"] is not None:
            team = self.teams.get(data["team"])
            if team is None:
                errors["team"] = [f"Unknown team {data['team']}."]
            elif team.section_id != section.id:
                errors["team"] = [f"Team {team.code} belongs to section {_section_code(team.section_id)}, "
                                  f"not {section.code}."]
            elif not team.active:
                errors["team"] = [f"突击队 {team.code} 已解散，不再接受新的记分。"
                                  f"Team {team.code} is disbanded and takes no new entries."]
        if data["criterion"] is None and data["kind"] == "bonus" and not self.competition.general_bonus_cap:
            errors["criterion"] = ["本竞赛未设通用加分上限，加分必须注明所属考核项目。"
                                   "A bonus must name its criterion: this competition has no general_bonus_cap."]
        elif data["item"] is not None:
            criterion = self.item_criterion.get(data["item"])
            if criterion is None:
                errors["item"] = [f"Unknown item {data['item']}."]
            elif criterion != data["criterion"]:
                errors["item"] = [f"Item {data['item']} belongs to {criterion}, not {data['criterion']}."]
        if data["observed_at"] > self.now + FUTURE_SLACK:
            errors["observed_at"] = ["Lies in the future."]
        if data["chainage_m"] is not None and not _within(section, data["chainage_m"]):
            stake, start, end = (format_chainage(m) for m in (data["chainage_m"], *_metres(section)))
            errors["chainage"] = [f"桩号 {stake} 不在标段 {section.code} 的范围 {start}–{end} 内。"
                                  f"Chainage {stake} lies outside section {section.code} ({start}–{end})."]
        if data["rectify_by"] is not None:
            found_on = data["observed_at"].astimezone(ZoneInfo(self.competition.timezone)).date()
            if not found_on <= data["rectify_by"] <= found_on + MAX_RECTIFY:
                errors["rectify_by"] = [f"整改期限应在检查日 {found_on} 之后的一年内。"
                                        f"The deadline must lie within a year from the day of the finding."]
        unknown = [p for p in data["photos"] if p not in self.photos]
        if unknown:
            errors["photos"] = [f"照片 {p} 尚未上传到本竞赛，请先上传照片。"
                                f"Photo {p} is not uploaded to this competition; upload it first." for p in unknown]
        return errors, False

    def row(self, data: dict, user: User) -> dict:
        location = data["location"] or {}
        return {
            "competition_id": self.competition.id,
            "client_id": data["client_id"],
            "section_id": self.sections[data["section"]].id,
            "team_id": self.teams[data["team"]].id if data["team"] else None,
            "criterion": data["criterion"],
            "item": data["item"],
            "kind": data["kind"],
            "points": data["points"],
            "observed_at": data["observed_at"],
            "period": period_of(data["observed_at"], self.competition.timezone),
            "note": data["note"],
            "lat": location.get("lat"),
            "lon": location.get("lon"),
            "chainage_m": data["chainage_m"],
            "photos": data["photos"],
            "rectify_by": data["rectify_by"],
            "received_at": self.now,
            "supervisor_id": user.id,
            "section_code": data["section"],  # for the answer only, like "photos": not a column
            "team_code": data["team"],
        }


def _section_code(section_id: int) -> str:
    return db.session.scalar(select(Section.code).where(Section.id == section_id))


def _metres(section) -> tuple[int, int]:
    return int(section.start_km * 1000), int(section.end_km * 1000)


def _within(section, chainage_m: int) -> bool:
    start, end = _metres(section)
    return start <= chainage_m <= end


_CONTENT = ("section_id", "team_id", "criterion", "item", "kind", "points", "note", "lat", "lon", "chainage_m",
            "rectify_by")


def _same_content(row: dict, entry: Entry) -> bool:
    return (all(row[f] == getattr(entry, f) for f in _CONTENT) and row["observed_at"] == entry.observed_at
            and row["photos"] == entry.photo_ids)


def post_entries(competition: Competition, user: User, payloads: list, load) -> list[Outcome]:
    """Store a batch of entries; one outcome per payload, in order. One bad entry blocks nothing.
    `load` is the entry schema's load (the caller's: EntryIn().load), raising ma.ValidationError."""
    check_writable(competition)
    book = _Rulebook(competition, payloads)
    outcomes: list[Outcome | None] = [None] * len(payloads)
    rows: dict[str, dict] = {}  # client_id -> row, first occurrence in the batch
    waiting: list[tuple[int, dict]] = []
    refused: list[tuple[int, dict]] = []
    for i, payload in enumerate(payloads):
        client_id = payload.get("client_id") if isinstance(payload, dict) else None
        client_id = client_id if isinstance(client_id, str) else None
        try:
            data = load(payload)
        except ma.ValidationError as error:
            messages = error.messages if isinstance(error.messages, dict) else {"_entry": error.messages}
            outcomes[i] = Outcome(client_id, "invalid", errors=messages)
            continue
        errors, forbidden = book.check(data, user)
        if errors:
            outcomes[i] = Outcome(client_id, "forbidden" if forbidden else "invalid", errors=errors)
            refused.append((i, data))
            continue
        row = book.row(data, user)
        rows.setdefault(row["client_id"], row)
        waiting.append((i, row))
    _answer_stored_resends(book, user, refused, outcomes)
    if not waiting:
        return outcomes

    months = lock_months(competition.id, {row["period"] for row in rows.values()})
    for row in rows.values():
        row["status"] = "late" if months[row["period"]] == "closed" else "counted"
    created = _insert_new(list(rows.values()))
    existing = {}
    if len(created) < len(rows):
        stored = db.session.scalars(
            select(Entry).where(Entry.competition_id == competition.id,
                                Entry.client_id.in_([c for c in rows if c not in created]))
        )
        existing = {e.client_id: e for e in stored}

    first_seen: set[str] = set()
    for i, row in waiting:
        cid = row["client_id"]
        if cid in created and cid not in first_seen:
            first_seen.add(cid)
            outcomes[i] = Outcome(cid, "created", created[cid], entry_status=row["status"], row=row)
            continue
        stored_row = rows[cid]
        if cid in created:  # the same id twice in one batch: compare with the one stored
            same = all(row[f] == stored_row[f] for f in (*_CONTENT, "observed_at", "photos"))
            outcomes[i] = Outcome(cid, "duplicate" if same else "conflict", created[cid],
                                  entry_status=stored_row["status"])
        else:
            entry = existing[cid]
            outcomes[i] = Outcome(cid, "duplicate" if _same_content(row, entry) else "conflict", entry.id,
                                  entry_status=entry.status)

    new_rows = [row for cid, row in rows.items() if cid in created]  # in the order posted
    _link_photos(new_rows, created)
    if new_rows:
        deltas = tallies.deltas_for(r for r in new_rows if r["status"] == "counted")
        warned = _warnings(book, new_rows, deltas, tallies.apply_deltas(competition.id, deltas))
        for outcome in outcomes:
            if outcome.status == "created" and outcome.client_id in warned:
                outcome.warnings = warned[outcome.client_id]
        bump_revision(competition.id)
        _audit_posted(competition.id, user, new_rows, created, book)
        open_notices(competition.id, user, [r for r in new_rows if r["rectify_by"] is not None], created)
    return outcomes


def _warnings(book: _Rulebook, rows: list[dict], deltas: dict[tuple, list],
              after: dict[tuple, tuple[Decimal, Decimal]]) -> dict[str, list[str]]:
    """client_id -> warnings (CONTRACT.md §3 Entries) of the entries just stored, in the order posted: a
    deduction past what its item had left in the month, a bonus past its criterion's cap or the general cap.

    Measured on the section's sums (a team's are a part of its section's, so a team past a limit is its
    section past it too), from the tallies the write just updated (`after`, RETURNING) less what this
    batch added (`deltas`), then entry by entry. A criterion's bonus cap holds over all its items' tallies:
    read once, and only when a counted criterion bonus was posted. A late entry (its month closed, not
    counted) is measured on its own points."""
    item_max, caps, names = _limits(book.competition)
    bonus_keys = {(r["period"], "sections", r["section_id"], r["criterion"]) for r in rows
                  if r["status"] == "counted" and r["kind"] == "bonus" and r["criterion"] is not None}
    criterion_sums = tallies.criterion_bonuses(book.competition.id, bonus_keys)
    running: dict[tuple, Decimal] = {}
    for key, (deducted, added, _) in deltas.items():
        if key[1] != "sections":
            continue
        stood = after.get(key, (Decimal(0), Decimal(0)))
        running[("deduction", *key)] = stood[0] - deducted
        if key[3] == GENERAL:
            running[("bonus", *key)] = stood[1] - added
        else:
            ckey = ("bonus", *key[:4])
            running[ckey] = running.get(ckey, criterion_sums.get(key[:4], Decimal(0))) - added
    result: dict[str, list[str]] = {}
    for r in rows:
        criterion, item = tally_key(r["criterion"], r["item"])
        subject = (r["period"], "sections", r["section_id"])
        if r["kind"] == "deduction":
            key, limit = ("deduction", *subject, criterion, item), item_max.get(item, Decimal(0))
        elif criterion == GENERAL:
            key, limit = ("bonus", *subject, criterion, item), caps[GENERAL]
        else:
            key, limit = ("bonus", *subject, criterion), caps.get(criterion, Decimal(0))
        before = running.get(key, Decimal(0)) if r["status"] == "counted" else Decimal(0)
        if overrun(r["kind"], before, r["points"], limit):
            result[r["client_id"]] = [_warning(r, criterion, item, before + r["points"], limit, names)]
        if r["status"] == "counted":
            running[key] = before + r["points"]
    return result


def _warning(row: dict, criterion: str, item: str, summed: Decimal, limit: Decimal, names: dict[str, str]) -> str:
    where = f"标段 {row['section_code']} {row['period']} "
    shown = f"{summed.normalize():f}", f"{limit.normalize():f}"
    if row["kind"] == "deduction":
        return (f"{where}细则 {item}（满分 {shown[1]} 分）已累计扣 {shown[0]} 分，超出该细则剩余分值："
                f"记录已保存，该细则按 0 分计，多扣的分不计。")
    what = "通用加分（上级表彰等）" if criterion == GENERAL else f"「{names.get(criterion, criterion)}」加分"
    return f"{where}{what}已累计 {shown[0]} 分，超过上限 {shown[1]} 分：记录已保存，只计 {shown[1]} 分。"


def _answer_stored_resends(book: _Rulebook, user: User, refused: list[tuple[int, dict]],
                           outcomes: list[Outcome | None]) -> None:
    """A posting refused now that is already stored with the same content is a resend from before the
    place changed (its team disbanded, its section's range or its supervisor's sections changed since):
    answered as every resend is, a duplicate with the entry first stored. Anything else stays refused."""
    if not refused:
        return
    stored = {e.client_id: e for e in db.session.scalars(select(Entry).where(
        Entry.competition_id == book.competition.id, Entry.client_id.in_({d["client_id"] for _, d in refused})))}
    for i, data in refused:
        entry = stored.get(data["client_id"])
        if entry is None or data["section"] not in book.sections or (data["team"] and data["team"] not in book.teams):
            continue
        if _same_content(book.row(data, user), entry):
            outcomes[i] = Outcome(data["client_id"], "duplicate", entry.id)


_NOT_COLUMNS = ("photos", "section_code", "team_code")


def _insert_new(rows: list[dict]) -> dict[str, int]:
    """INSERT the rows whose client_id is not stored yet; returns client_id -> id of those inserted."""
    # One order for every writer: two batches holding the same ids in different orders would each
    # wait for the other's uncommitted insert, a deadlock on PostgreSQL (tablets resend in any order).
    # Sorted, and without the photos (their own table): columns only.
    rows = [{k: v for k, v in row.items() if k not in _NOT_COLUMNS}
            for row in sorted(rows, key=lambda row: row["client_id"])]
    stmt = _insert_entries(db.session.get_bind().dialect.name)
    return {client_id: id_ for id_, client_id in db.session.execute(stmt, rows)}


@cache
def _insert_entries(_dialect: str):
    table = Entry.__table__
    return (upsert_insert(table).on_conflict_do_nothing(index_elements=["competition_id", "client_id"])
            .returning(table.c.id, table.c.client_id))


def _link_photos(rows: list[dict], ids: dict[str, int]) -> None:
    links = [{"entry_id": ids[r["client_id"]], "position": position, "competition_id": r["competition_id"],
              "photo_id": photo_id} for r in rows for position, photo_id in enumerate(r["photos"])]
    if links:
        db.session.execute(EntryPhoto.__table__.insert(), links)


def _audit_posted(competition_id: int, user: User, rows: list[dict], ids: dict[str, int], book: _Rulebook) -> None:
    """One event per new entry, naming things as people do: LJ-09, not section_id 9."""
    sections = {s.id: s.code for s in book.sections.values()}
    teams = {t.id: t.code for t in book.teams.values()}
    record_many("entry.posted", [
        (f"entry:{ids[r['client_id']]}", {"client_id": r["client_id"], "section": sections[r["section_id"]],
                                          "team": teams.get(r["team_id"]), "criterion": r["criterion"],
                                          "item": r["item"], "kind": r["kind"], "points": str(r["points"]),
                                          "period": r["period"], "status": r["status"]})
        for r in rows
    ], competition_id=competition_id, actor=user)


def as_posted(outcome: Outcome, user: User, competition: Competition) -> SimpleNamespace:
    """An entry just created, as EntryOut shows it, from the values in hand: nothing is read back."""
    row = outcome.row
    return SimpleNamespace(
        **({"warnings": outcome.warnings} if outcome.warnings else {}),
        **{k: v for k, v in row.items() if k not in _NOT_COLUMNS}, id=outcome.entry_id, photo_ids=row["photos"],
        section=SimpleNamespace(code=row["section_code"]),
        team=SimpleNamespace(code=row["team_code"]) if row["team_code"] else None,
        supervisor=SimpleNamespace(username=user.username), void=None, corrector=None, corrects_id=None,
        replacement=None,
        competition=competition)


def get_entry(entry_id: int) -> Entry:
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        raise Problem(404, f"No entry {entry_id}.")
    return entry


def _locked_for_change(entry_id: int, user: User, verb: str) -> Entry:
    """The entry, for a void or a correction: the month's lock first (an entry's month never changes, so it
    is read without one), so a close or a reopen runs wholly before or after; then the entry's own row
    lock, so of two changes of one entry the second waits and sees the first. A supervisor changes only
    their own entries, while the month is open."""
    found = get_entry(entry_id)
    check_writable(db.session.get(Competition, found.competition_id))
    period = lock_month(found.competition_id, found.period)
    db.session.execute(select(Entry.id).where(Entry.id == entry_id).with_for_update())
    entry = db.session.get(Entry, entry_id, populate_existing=True)
    if user.role == "supervisor":
        if entry.supervisor_id != user.id:
            raise Problem(403, f"A supervisor may {verb} only their own entries.")
        if period.status != "open":
            raise Problem(403, f"The month {entry.period} is closed; ask the competition office.")
    return entry


def void_entry(entry_id: int, user: User, reason: str) -> Entry:
    """Stop an entry counting; it stays, with who voided it, when and why (locks: `_locked_for_change`)."""
    entry = _locked_for_change(entry_id, user, "void")
    if entry.status == "void":
        raise Problem(409, f"Entry {entry.id} is already void.")
    cancel_notice(entry, user, reason)  # before the tallies: the overdue job locks notices, then tallies
    if entry.status == "counted":
        tallies.apply_deltas(entry.competition_id, tallies.deltas_for([tallies.entry_values(entry)], sign=-1))
    entry.status = "void"
    db.session.add(EntryVoid(entry_id=entry.id, reason=reason, voided_by_id=user.id))
    bump_revision(entry.competition_id)
    record("entry.voided", competition_id=entry.competition_id, target=f"entry:{entry.id}", reason=reason,
           detail={"client_id": entry.client_id, "period": entry.period, "section": entry.section.code,
                   "team": entry.team.code if entry.team else None, "criterion": entry.criterion,
                   "item": entry.item, "kind": entry.kind, "points": str(entry.points)})
    db.session.flush()
    db.session.refresh(entry)
    return entry


def correct_entry(entry_id: int, user: User, reason: str, payload, load) -> tuple[Entry, bool]:
    """Void an entry and store its replacement in one transaction (CONTRACT.md §3 Entries): each names the
    other, the replacement keeps the original's supervisor and records who corrected it. An entry already
    void (a mistaken void) is corrected the same way — its replacement carries its content back. A resend of
    the same correction answers the replacement already stored (False: nothing new). `load` checks the
    replacement as a posting (the route's EntryIn)."""
    entry = _locked_for_change(entry_id, user, "correct")
    competition = entry.competition
    replacement = db.session.scalar(select(Entry).where(Entry.corrects_id == entry.id))
    if replacement is not None:
        if isinstance(payload, dict) and payload.get("client_id") == replacement.client_id:
            return replacement, False
        raise Problem(409, f"Entry {entry.id} is already corrected by entry {replacement.id}.")
    if entry.status != "void":
        void_entry(entry.id, user, reason)
    (outcome,) = post_entries(competition, user, [payload], load)
    if outcome.status != "created":
        status = {"forbidden": 403, "invalid": 422}.get(outcome.status, 409)
        detail = {"duplicate": f"An entry {outcome.client_id} is already stored; a replacement needs a new client_id.",
                  "conflict": f"An entry {outcome.client_id} is already stored; a replacement needs a new client_id.",
                  "forbidden": "You may not post for this section.", "invalid": "The replacement is invalid."}
        raise Problem(status, detail[outcome.status], {f"entry.{k}": v for k, v in (outcome.errors or {}).items()}
                      or None)
    db.session.execute(Entry.__table__.update().where(Entry.id == outcome.entry_id)
                       .values(corrects_id=entry.id, supervisor_id=entry.supervisor_id, corrector_id=user.id))
    record("entry.corrected", competition_id=entry.competition_id, target=f"entry:{entry.id}", reason=reason,
           detail={"corrected_by": outcome.entry_id, "section": entry.section.code, "period": entry.period,
                   "supervisor": entry.supervisor.username})
    stored = db.session.get(Entry, outcome.entry_id, populate_existing=True)
    if outcome.warnings:  # for this answer only (EntryOut shows it when there): not a column
        stored.warnings = outcome.warnings
    return stored, True
