"""Rectification notices (CONTRACT.md §7). These change data; the caller commits.

A notice is opened by the posting of a deduction with `rectify_by`, in that posting's transaction; it
moves open → responded (the contractor) → closed (a supervisor's pass) or back to open (a reject), and a
void of its entry cancels it. Every step is a `NoticeStep` row. A notice still not closed when its
`rectify_by` day has ended (the competition's zone) is overdue; the scheduler marks it so once
(`mark_overdue`) and posts the competition's `overdue_penalty` through the normal entries operation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from ..audit.operations import record, record_many
from ..auth.access import check_section
from ..clock import utcnow
from ..competitions.models import Competition
from ..competitions.operations import bump_revision
from ..entries.models import Entry
from ..errors import Problem
from ..extensions import db, upsert_insert
from ..photos.models import Photo
from .models import Notice, NoticeCounter, NoticeStep, NoticeStepPhoto

OPEN = ("open", "responded")  # the states in which a notice can go overdue
STATUS_NAMES = {"open": "待整改", "responded": "待复核", "closed": "已闭环", "cancelled": "已撤销"}


def deadline(rectify_by: date, timezone: str) -> datetime:
    """The end of the rectify_by day on the competition's calendar: the notice is overdue from then."""
    return datetime.combine(rectify_by + timedelta(days=1), time(0), ZoneInfo(timezone))


def is_overdue(notice: Notice, timezone: str, now: datetime | None = None) -> bool:
    return notice.status in OPEN and (now or utcnow()) >= deadline(notice.rectify_by, timezone)


def today(timezone: str, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(timezone)).date()


# -- opening, numbering ---------------------------------------------------------------------------------

def next_number(competition_id: int, month: str) -> str:
    """The next notice number of the month, ZG-YYYYMM-NNNN. One statement bumps the month's counter and
    returns it: concurrent postings queue on the counter's row until the first commits (PostgreSQL) or
    run one at a time anyway (SQLite's BEGIN IMMEDIATE), and a posting rolled back takes its bump with it."""
    table = NoticeCounter.__table__
    stmt = upsert_insert(table).values(competition_id=competition_id, month=month, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["competition_id", "month"],
                                      set_={"last": table.c.last + 1}).returning(table.c.last)
    last = db.session.execute(stmt).scalar_one()
    return f"ZG-{month.replace('-', '')}-{last:04d}"


def open_notices(competition_id: int, user, rows: list[dict], ids: dict[str, int]) -> list[Notice]:
    """A notice for each newly stored deduction row that carries rectify_by (entries.post_entries)."""
    # Months in one order for every writer: two batches never wait for each other's counters crosswise.
    rows = sorted(rows, key=lambda r: (r["period"], r["client_id"]))
    notices = [Notice(competition_id=competition_id, number=next_number(competition_id, row["period"]),
                      entry_id=ids[row["client_id"]], section_id=row["section_id"], rectify_by=row["rectify_by"],
                      status="open", issued_at=row["received_at"]) for row in rows]
    if not notices:
        return notices
    db.session.add_all(notices)
    db.session.flush()
    db.session.add_all([NoticeStep(notice_id=n.id, action="issued", actor_id=user.id, at=n.issued_at,
                                   note=row["note"]) for n, row in zip(notices, rows, strict=True)])
    record_many("notice.issued", [(f"notice:{n.id}", {"number": n.number, "entry_id": n.entry_id,
                                                      "rectify_by": n.rectify_by.isoformat()}) for n in notices],
                competition_id=competition_id, actor=user)
    return notices


def cancel_notice(entry, user, reason: str) -> Notice | None:
    """The entry is being voided: its notice, if still open or waiting for review, is cancelled."""
    notice = _locked(select(Notice).where(Notice.entry_id == entry.id))
    if notice is None or notice.status not in OPEN:
        return notice
    _step(notice, "cancelled", user, reason)
    notice.status = "cancelled"
    record("notice.cancelled", competition_id=notice.competition_id, target=f"notice:{notice.id}", reason=reason,
           detail={"number": notice.number})
    return notice


# -- reading --------------------------------------------------------------------------------------------

def get_notice(notice_id: int, user=None) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        raise Problem(404, f"没有整改通知 {notice_id}。No notice {notice_id}.")
    if user is not None and user.role == "contractor":
        check_section(user, notice.section_id, notice.section.code)
    return notice


def notices_query(competition: Competition, args: dict, sections: set[int] | None):
    """The competition's notices, newest number last, filtered as GET …/notices says."""
    from ..competitions.models import Section

    stmt = select(Notice).where(Notice.competition_id == competition.id).order_by(Notice.id)
    if sections is not None:
        stmt = stmt.where(Notice.section_id.in_(sections))
    if "status" in args:
        stmt = stmt.where(Notice.status == args["status"])
    if "section" in args:
        stmt = stmt.where(Notice.section_id.in_(select(Section.id).where(
            Section.competition_id == competition.id, Section.code == args["section"])))
    if "overdue" in args:
        late = Notice.status.in_(OPEN) & (Notice.rectify_by < today(competition.timezone))
        stmt = stmt.where(late if args["overdue"] else ~late)
    return stmt


# -- the loop -------------------------------------------------------------------------------------------

def _locked(stmt) -> Notice | None:
    """The notice under its row lock (PostgreSQL; SQLite's writers run one at a time), read afresh."""
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Notice)
    return db.session.scalar(stmt.execution_options(populate_existing=True))


def _refuse(notice: Notice, doing: str) -> None:
    name = STATUS_NAMES[notice.status]
    raise Problem(409, f"整改通知 {notice.number} 当前状态为{name}（{notice.status}），不能{doing}。"
                       f"Notice {notice.number} is {notice.status}.", {"status": [notice.status]})


def _step(notice: Notice, action: str, user, note: str | None, photos: list[str] = (),
          client_id: str | None = None) -> NoticeStep:
    step = NoticeStep(notice_id=notice.id, action=action, actor_id=getattr(user, "id", None), note=note,
                      client_id=client_id, at=utcnow())
    db.session.add(step)
    db.session.flush()
    if photos:
        db.session.execute(NoticeStepPhoto.__table__.insert(), [
            {"step_id": step.id, "position": i, "competition_id": notice.competition_id, "photo_id": p}
            for i, p in enumerate(photos)])
    return step


def _resent(notice: Notice, client_id: str | None, action: tuple[str, ...]) -> bool:
    """The same step sent again (a tablet's outbox resending): True when it is stored already."""
    return client_id is not None and any(s.client_id == client_id and s.action in action for s in notice.steps)


def respond(notice_id: int, user, data: dict) -> tuple[Notice, bool]:
    """The contractor's answer: what was done, with after-photos. Returns (notice, created)."""
    notice = get_notice(notice_id, user)
    notice = _locked(select(Notice).where(Notice.id == notice.id))
    if _resent(notice, data.get("client_id"), ("responded",)):
        return notice, False
    if notice.status != "open":
        _refuse(notice, "回复")
    unknown = [p for p in data["photos"] if db.session.get(Photo, (notice.competition_id, p)) is None]
    if unknown:
        raise Problem(422, "照片尚未上传。Some photos are not uploaded.", {"photos": [
            f"照片 {p} 尚未上传到本竞赛，请先上传照片。Photo {p} is not uploaded to this competition."
            for p in unknown]})
    _step(notice, "responded", user, data["note"], data["photos"], data.get("client_id"))
    notice.status = "responded"
    record("notice.responded", competition_id=notice.competition_id, target=f"notice:{notice.id}",
           detail={"number": notice.number, "photos": len(data["photos"])})
    db.session.flush()
    db.session.expire(notice, ["steps"])
    return notice, True


def review(notice_id: int, user, data: dict) -> Notice:
    """A supervisor of the section (or an admin) re-checks the answer: pass closes, reject reopens."""
    notice = get_notice(notice_id)
    if user.role == "supervisor":
        check_section(user, notice.section_id, notice.section.code)
    notice = _locked(select(Notice).where(Notice.id == notice.id))
    action = "passed" if data["result"] == "pass" else "rejected"
    if _resent(notice, data.get("client_id"), (action,)):
        return notice
    if notice.status != "responded":
        _refuse(notice, "复核")
    if action == "rejected" and not (data.get("note") or "").strip():
        raise Problem(422, "退回整改须写明原因。A reject needs its reason.", {"note": ["退回整改须写明原因。"]})
    step = _step(notice, action, user, data.get("note"), client_id=data.get("client_id"))
    notice.status = "closed" if action == "passed" else "open"
    notice.closed_at = step.at if action == "passed" else None
    bump_revision(notice.competition_id)  # the wall's badges count the notices not closed
    record(f"notice.{action}", competition_id=notice.competition_id, target=f"notice:{notice.id}",
           reason=data.get("note"), detail={"number": notice.number})
    db.session.flush()
    db.session.expire(notice, ["steps"])
    return notice


# -- overdue --------------------------------------------------------------------------------------------

@dataclass
class Overdue:
    notice_id: int
    number: str
    competition_id: int
    section: str
    section_name: str
    days_late: int


def mark_overdue(now: datetime | None = None) -> list[Overdue]:
    """Mark every notice whose deadline has passed, not closed, as overdue — each once, whatever number of
    schedulers run — and return those that went overdue in this transaction. The one place where
    something that happens when a notice goes overdue belongs (the penalty here; a bot's message)."""
    now = now or utcnow()
    gone = []
    for competition in db.session.scalars(select(Competition).order_by(Competition.id)).all():
        cutoff = today(competition.timezone, now)  # a rectify_by before today has ended
        n = Notice.__table__.c
        # The UPDATE re-checks overdue_at under each row's lock: of two schedulers, one turns each row.
        rows = db.session.execute(
            update(Notice.__table__).where(n.competition_id == competition.id, n.status.in_(OPEN),
                                           n.overdue_at.is_(None), n.rectify_by < cutoff)
            .values(overdue_at=now).returning(n.id, n.number, n.section_id)
        ).all()
        for notice_id, number, _section in sorted(rows, key=lambda r: r.number):
            notice = db.session.get(Notice, notice_id)
            _step(notice, "overdue", None, f"逾期未整改（期限 {notice.rectify_by.isoformat()}）")
            record("notice.overdue", competition_id=competition.id, target=f"notice:{notice_id}", actor="scheduler",
                   detail={"number": number, "rectify_by": notice.rectify_by.isoformat()})
            gone.append(Overdue(notice_id, number, competition.id, notice.section.code, notice.section.name,
                                (cutoff - notice.rectify_by).days))
        if rows:
            bump_revision(competition.id)  # the wall's overdue badges
    return gone


@dataclass(frozen=True)
class _Scheduler:
    """Who posts a penalty: the scheduler, on behalf of the supervisor who issued the notice (the entry's
    `supervisor`), without the section check a supervisor's own posting gets."""

    id: int
    username: str = "scheduler"
    role: str = "scheduler"


def penalty_client_id(number: str) -> str:
    return f"overdue:{number}"


def penalty(item: Overdue) -> tuple[Competition, _Scheduler, dict] | None:
    """The competition's overdue_penalty for a notice just gone overdue, as an entry to post through the
    normal entries operation (the scheduler does): a deduction on the same item, client_id overdue:<number>,
    so it is stored once however often it is tried. Dated the last second of the rectify_by day, it counts in
    that day's month; a month closed since is a late entry like any other. None: the competition has none."""
    competition = db.session.get(Competition, item.competition_id)
    if not competition.overdue_penalty:
        return None
    notice = db.session.get(Notice, item.notice_id)
    entry = notice.entry
    at = deadline(notice.rectify_by, competition.timezone) - timedelta(seconds=1)
    payload = {"client_id": penalty_client_id(notice.number), "section": entry.section.code,
               "team": entry.team.code if entry.team else None, "criterion": entry.criterion,
               "item": entry.item, "kind": "deduction", "points": competition.overdue_penalty,
               "observed_at": at.isoformat(), "note": f"逾期未整改 {notice.number}"}
    return competition, _Scheduler(entry.supervisor_id), payload


def penalty_entry_id(notice: Notice) -> int | None:
    return db.session.scalar(select(Entry.id).where(Entry.competition_id == notice.competition_id,
                                                    Entry.client_id == penalty_client_id(notice.number)))


# -- what the wall, the report and the exports show ---------------------------------------------------------

def wall_badges(competition_id: int) -> dict[str, dict[str, int]]:
    """Per section code, its notices not closed: `open` (within the deadline) and `overdue` (marked by the
    scheduler, which bumps the board's revision, so a cached board is never behind it)."""
    from sqlalchemy import func

    from ..competitions.models import Section

    rows = db.session.execute(
        select(Section.code, Notice.overdue_at.is_not(None), func.count())
        .join(Section, Notice.section_id == Section.id)
        .where(Notice.competition_id == competition_id, Notice.status.in_(OPEN))
        .group_by(Section.code, Notice.overdue_at.is_not(None))).all()
    badges: dict[str, dict[str, int]] = {}
    for code, overdue, n in rows:
        badges.setdefault(code, {"open": 0, "overdue": 0})["overdue" if overdue else "open"] += n
    return badges


def period_notices(competition: Competition, period: str, section_id: int | None = None) -> list[Notice]:
    """The notices issued for findings of the month (cancelled ones too), by number."""
    stmt = (select(Notice).join(Notice.entry).where(Notice.competition_id == competition.id, Entry.period == period)
            .order_by(Notice.number))
    if section_id is not None:
        stmt = stmt.where(Notice.section_id == section_id)
    return list(db.session.scalars(stmt))


def outcome(notice: Notice, timezone: str, now: datetime | None = None) -> str:
    """closed_in_time | closed_late | overdue | open | cancelled, as the report counts it."""
    if notice.status == "cancelled":
        return "cancelled"
    end = deadline(notice.rectify_by, timezone)
    if notice.status == "closed":
        return "closed_in_time" if notice.closed_at < end else "closed_late"
    return "overdue" if (now or utcnow()) >= end else "open"


OUTCOME_NAMES = {"closed_in_time": "按期闭环", "closed_late": "逾期闭环", "overdue": "逾期未整改", "open": "整改中",
                 "cancelled": "已撤销"}


def rectification_table(competition: Competition, period: str, notices: list[Notice],
                        sections: list[dict]) -> list[dict]:
    """整改情况: per section of the board, notices issued (not cancelled), closed in time, closed late, overdue,
    and the rate (closed in time / issued, in %, None when none was issued)."""
    counts = {row["code"]: {"code": row["code"], "name": row["name"], "issued": 0, "closed_in_time": 0,
                            "closed_late": 0, "overdue": 0, "open": 0} for row in sections}
    for notice in notices:
        result = outcome(notice, competition.timezone)
        row = counts.get(notice.section.code)
        if row is None or result == "cancelled":
            continue
        row["issued"] += 1
        row[result] += 1
    table = sorted(counts.values(), key=lambda r: r["code"])
    for row in table:
        row["rate"] = round(100 * row["closed_in_time"] / row["issued"]) if row["issued"] else None
    return table


def notices_table(competition: Competition, notices: list[Notice]) -> tuple[list[str], list[list]]:
    """The notices as an export sheet (整改通知): text as text (exports neutralise formulas)."""
    tz = ZoneInfo(competition.timezone)
    header = ["编号", "标段", "检查时间", "细则", "扣分", "问题", "整改期限", "状态", "结果", "闭环时间", "最近回复",
              "下发人"]
    table = []
    for n in notices:
        answers = [s for s in n.steps if s.action == "responded"]
        table.append([
            n.number, f"{n.section.code} {n.section.name}",
            n.entry.observed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            n.entry.item or "", n.entry.points, n.entry.note or "", n.rectify_by.isoformat(),
            STATUS_NAMES[n.status], OUTCOME_NAMES[outcome(n, competition.timezone)],
            n.closed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if n.closed_at else "",
            answers[-1].note if answers else "", n.entry.supervisor.username,
        ])
    return header, table
