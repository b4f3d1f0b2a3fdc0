"""What each event says, in Chinese and short enough for a phone: a title, a few lines, a link.

The scores come from `standings.operations.board_rows`, as every other reader's; nothing here adds
up points of a board. The digest counts and sums the day's postings as they were posted."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from ..competitions.models import Competition, Section
from ..entries.models import Entry
from ..extensions import db
from ..month import Month
from ..periods.models import Period
from ..standings.operations import board_rows
from .platforms import Message

TOP = 3
MAX_LINES = 10  # a list longer than this ends in "……另有 N 项": a phone screen, not a report


def points(value: Decimal | None) -> str:
    if value is None:
        return "—"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text


def month_label(key: str) -> str:
    month = Month(key)
    return f"{month.year}年{month.month}月"


def link(page: str) -> str | None:
    base = current_app.config.get("PUBLIC_URL")
    return f"{base}/app/#/{page}" if base else None


def _capped(lines: list[str], what: str = "项") -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[:MAX_LINES], f"……另有 {len(lines) - MAX_LINES} {what}"]


def month_closed(competition: Competition, key: str, edition: int) -> Message:
    sections = board_rows(competition, "sections", key)
    teams = board_rows(competition, "teams", key)
    holder = db.session.scalar(select(Section.code).join(Period, Period.flag_section_id == Section.id)
                               .where(Period.competition_id == competition.id, Period.key == key))
    firsts = [row for row in sections if row.rank == 1]
    if holder is not None:  # the flag as the close awarded it
        row = next(row for row in sections if row.code == holder)
        flag = f"🚩 流动红旗：{row.code} {row.name}（{points(row.total)}分）"
    elif len(firsts) > 1:
        flag = "🚩 流动红旗：" + "、".join(r.code for r in firsts) + " 并列第一，由竞赛办公室决定"
    else:
        flag = "🚩 流动红旗：本月无参评标段"
    lines = [flag]
    for label, rows in (("标段", sections), ("突击队", teams)):
        top = [row for row in rows if row.rank is not None and row.rank <= TOP]
        if top:
            lines.append(f"**{label}前三**")
            lines += [f"{row.rank}. {row.code} {row.name} {points(row.total)}分" for row in top]
    vetoed = [row for row in [*sections, *teams] if row.vetoed]
    if vetoed:
        lines.append("**一票否决**")
        lines += _capped([f"{row.code} {row.name}：{row.veto_reason}" for row in vetoed])
    title = f"{competition.name} {month_label(key)}评比结果"
    if edition > 1:
        title = f"【更正】{title}（第{edition}版）"
    return Message(title, lines, link("boards"))


def _competition_name(competition_id: int) -> str:
    return db.session.get(Competition, competition_id).name


def veto_imposed(veto) -> Message:
    """Every title starts with the competition's name: a DingTalk bot secured by a keyword (say 五比五赛)
    finds it in every message."""
    subject = f"{veto.section.code} {veto.section.name}"
    if veto.team is not None:
        subject += f" / {veto.team.code} {veto.team.name}"
    name = _competition_name(veto.competition_id)
    return Message(f"{name} 一票否决：{veto.section.code}（{month_label(veto.period)}）", [
        f"对象：{subject}",
        f"原因：{veto.reason}",
        f"决定：{veto.created_by.username}",
        "本月该标段不参加排名。",
    ], link("boards"))


def veto_revoked(veto) -> Message:
    revocation = veto.revocation
    name = _competition_name(veto.competition_id)
    return Message(f"{name} 撤销一票否决：{veto.section.code}（{month_label(veto.period)}）", [
        f"对象：{veto.section.code} {veto.section.name}" + (f" / {veto.team.code}" if veto.team else ""),
        f"原否决原因：{veto.reason}",
        f"撤销原因：{revocation.reason}",
        f"撤销人：{revocation.revoked_by.username}",
        "该标段恢复参加本月排名。",
    ], link("boards"))


def notices_overdue(competition_id: int, notices: list[dict]) -> Message:
    """`notices`: [{"number", "section", "section_name"?, "days_late"}] of the notices that just went overdue."""
    lines = [f"{n['number']} {n['section']}{(' ' + n['section_name']) if n.get('section_name') else ''}"
             f" 逾期{n['days_late']}天" for n in sorted(notices, key=lambda n: n["number"])]
    return Message(f"{_competition_name(competition_id)} 整改通知单逾期：{len(notices)} 份",
                   [*_capped(lines, "份"), "请相关标段尽快整改回复。"], link("notices"))


def daily_digest(competition: Competition, day: date, new_notices: int | None = None) -> Message:
    """The day's postings (received that day, the competition's zone), each section's posted deductions,
    the day's new notices when there is such a count, and the running month's leader."""
    tz = ZoneInfo(competition.timezone)
    start = datetime.combine(day, time(0), tz)
    end = start + timedelta(days=1)
    received = (Entry.competition_id == competition.id, Entry.received_at >= start, Entry.received_at < end)
    counts = dict(db.session.execute(select(Entry.kind, func.count()).where(*received).group_by(Entry.kind)).all())
    voided = db.session.scalar(select(func.count()).select_from(Entry).where(*received, Entry.status == "void"))
    lines = [f"今日录入 {sum(counts.values())} 条：扣分 {counts.get('deduction', 0)} 条，"
             f"加分 {counts.get('bonus', 0)} 条" + (f"（已作废 {voided} 条）" if voided else "")]
    per_section = db.session.execute(
        select(Section.code, Section.name, func.count(), func.sum(Entry.points))
        .join(Section, Section.id == Entry.section_id)
        .where(*received, Entry.kind == "deduction", Entry.status != "void")
        .group_by(Section.code, Section.name).order_by(Section.code)
    ).all()
    if per_section:
        lines.append("**各标段扣分**")
        lines += _capped([f"{code} {name}：{n} 条，共 {points(Decimal(str(total)))} 分"
                          for code, name, n, total in per_section])
    if new_notices is not None:
        lines.append(f"新开整改通知单：{new_notices} 份")
    key = Month.at(day)  # the day's month on the competition's calendar
    leaders = [row for row in board_rows(competition, "sections", key) if row.rank == 1]
    if leaders:
        lines.append(f"{month_label(key)}暂列第一："
                     + "、".join(f"{r.code} {r.name} {points(r.total)}分" for r in leaders))
    return Message(f"{competition.name} 日报 {day.month}月{day.day}日", lines, link("boards"))
