"""The monthly report (月度考核通报): HTML for mail clients, plain text, and an XLSX attachment.

Every figure comes from `standings.operations.leaderboard` (the boards) and `history` (the daily
trend): the report lays them out and never computes a score. Entry-level details (the largest
deductions, the section's postings) are shown to a section-scoped recipient for their own section
only; the boards themselves are public (they hang on the wall of the project office).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy import select

from ..auth.models import User
from ..competitions.models import Competition, Section, Team
from ..entries.models import Entry, EntryPhoto
from ..extensions import db
from ..month import Month, is_span
from ..notices.operations import OUTCOME_NAMES, notices_table, outcome, period_notices, rectification_table
from ..periods.models import Period, PeriodEvent, Snapshot
from ..standings.operations import active_vetoes, history, leaderboard
from .exports import KINDS, criteria_names, entries_table, number, period_entries, standings_table, to_xlsx
from .models import QuarterEdition

TOP_DEDUCTIONS = 10
BAR_HEIGHT = 40  # pixels of the tallest bar in the trend chart


@dataclass
class Correction:
    """What a later edition tells its readers: the reopen's reasons and the changes against the edition before."""

    edition: int
    reasons: list[str]
    changes: list[str]


@dataclass
class Report:
    competition: Competition
    period: str
    closed: bool
    sections: list[dict]
    teams: list[dict]
    flag: dict | None
    criteria: list[tuple[str, str]]
    vetoes: list[dict]
    top_deductions: list[Entry]
    trend: list[dict]
    trend_days: list[str]
    scope: Section | None = None
    entries: list[Entry] = field(default_factory=list)  # the month's counted entries within the scope
    edition: int = 0  # the closes so far: 1 the 通报, 2… a 更正; 0 while never closed
    correction: Correction | None = None  # for edition 2 on: why it was reopened, what changed
    rectification: list[dict] = field(default_factory=list)  # 整改情况, per section
    notices: list = field(default_factory=list)  # the month's notices of a section-scoped recipient's section

    @property
    def section_entries(self) -> list[Entry]:
        """Every deduction and bonus of a section-scoped recipient's section."""
        return self.entries if self.scope else []

    months: list[str] = field(default_factory=list)  # a quarter's or year's counted (closed) months
    # Rendered pieces every scope's report of the month has in common (the boards, the trend), shared by
    # the reports of one mail run (`build_report(shared=…)`): 200 sections render them once, not 200 times.
    fragments: dict = field(default_factory=dict)

    @property
    def span(self) -> bool:
        return is_span(self.period)

    @property
    def title(self) -> str:
        year = self.period[:4]
        if len(self.period) == 4:
            return f"{self.competition.name} {year}年 年度考核通报"
        if self.span:
            title = f"{self.competition.name} {year}年第{'一二三四'[int(self.period[6]) - 1]}季度考核通报"
        else:
            title = f"{self.competition.name} {year}年{int(self.period[5:])}月 月度考核通报"
        return f"【更正】{title}（第{self.edition}版）" if self.correction else title

    @property
    def scope_label(self) -> str:
        return f"{self.scope.code} {self.scope.name}" if self.scope else "全部标段"

    def filename(self) -> str:
        return f"五比五赛-{self.period}" + (f"-{self.scope.code}" if self.scope else "") + ".xlsx"


def build_report(competition: Competition, period: str, scope: Section | None = None,
                 shared: dict | None = None) -> Report:
    """The month's report for one scope. `shared` keeps what every scope has in common (the
    boards, the vetoes, the trend) across the reports of one mail run, so 500 recipients cost one
    set of boards plus the month's entries, read once."""
    if is_span(period):
        return _span_report(competition, period, scope)
    many, shared = shared is not None, {} if shared is None else shared
    key = ("common", competition.id, period)
    if key not in shared:
        sections = leaderboard(competition, "sections", period)
        teams = leaderboard(competition, "teams", period)
        vetoes = [{"board": board, "code": r["code"], "name": r["name"], "reason": r["veto_reason"]}
                  for board, rows in (("标段", sections["rows"]), ("突击队", teams["rows"]))
                  for r in rows if r["vetoed"]]
        notices = period_notices(competition, period)
        shared[key] = (sections, teams, vetoes, notices,
                       rectification_table(competition, period, notices, sections["rows"]),
                       *_trend(competition, period))
    sections, teams, vetoes, notices, rectification, trend, days = shared[key]
    counted = _counted(competition, period, scope, shared if many else None)
    deductions = sorted((e for e in counted if e.kind == "deduction" and e.points > 0),
                        key=lambda e: (-e.points, e.observed_at, e.id))
    story_key = ("story", competition.id, period)
    if story_key not in shared:
        shared[story_key] = _edition_story(competition, period)
    edition, correction = shared[story_key]
    return Report(
        competition=competition, period=period, closed=sections["status"] == "closed",
        sections=sections["rows"], teams=teams["rows"], flag=sections["flag"], criteria=criteria_names(competition),
        vetoes=vetoes, top_deductions=deductions[:TOP_DEDUCTIONS], trend=trend, trend_days=days, scope=scope,
        entries=counted, edition=edition, correction=correction, rectification=rectification,
        notices=[n for n in notices if n.section_id == scope.id] if scope else [],
        fragments=shared.setdefault(("fragments", competition.id, period), {}),
    )


def _span_report(competition: Competition, period: str, scope: Section | None) -> Report:
    """A quarter's (or year's) report, on demand: its official boards (closed months only), the vetoes and
    the largest deductions of those months."""
    sections = leaderboard(competition, "sections", period)
    teams = leaderboard(competition, "teams", period)
    months = sections["months"]
    names = {(board, r["code"]): r["name"] for board, board_rows in (("sections", sections["rows"]),
                                                                    ("teams", teams["rows"])) for r in board_rows}
    vetoes = [{"board": label, "code": code, "name": names.get((board, code), ""), "reason": f"{month}：{reason}"}
              for month in months for board, label in (("sections", "标段"), ("teams", "突击队"))
              for code, reason in active_vetoes(competition.id, month, board).items()]
    counted = [e for month in months for e in period_entries(
        competition, month, section_id=scope.id if scope else None, counted_only=True)]
    deductions = sorted((e for e in counted if e.kind == "deduction" and e.points > 0),
                        key=lambda e: (-e.points, e.observed_at, e.id))
    edition, correction = _quarter_story(competition, period) if len(period) == 7 else (0, None)
    return Report(
        competition=competition, period=period, closed=sections["status"] == "closed", sections=sections["rows"],
        teams=teams["rows"], flag=sections["flag"], criteria=criteria_names(competition), vetoes=vetoes,
        top_deductions=deductions[:TOP_DEDUCTIONS], trend=[], trend_days=[], scope=scope, entries=counted,
        months=months, edition=edition, correction=correction,
    )


def _quarter_story(competition: Competition, quarter: str) -> tuple[int, Correction | None]:
    """A quarter report mailed (CONTRACT: `quarter_reports`) and still what the quarter's months say: its
    edition and, from the second on, the correction — the reasons of the quarter's months' reopens since the
    edition before, which months' editions changed, and the differences between the two editions' boards.
    (0, None) when it was never mailed, or a month of it has moved on since (the report is then as on demand.)"""
    made = db.session.scalar(select(QuarterEdition).where(QuarterEdition.competition_id == competition.id,
                                                          QuarterEdition.period == quarter)
                             .order_by(QuarterEdition.edition.desc()).limit(1))
    if made is None:
        return 0, None
    events = db.session.scalars(select(PeriodEvent).join(Period, Period.id == PeriodEvent.period_id).where(
        Period.competition_id == competition.id, Period.key.between(made.first_month, made.last_month))
        .order_by(PeriodEvent.id)).all()
    if any(e.id > made.last_event_id for e in events):
        return 0, None
    if made.edition < 2:
        return made.edition, None
    before = db.session.scalar(select(QuarterEdition).where(
        QuarterEdition.competition_id == competition.id, QuarterEdition.period == quarter,
        QuarterEdition.edition == made.edition - 1))
    reasons = [e.reason for e in events if e.action == "reopen" and before.last_event_id < e.id and e.reason]
    was = {month: f"第{edition}版" for month, edition in before.months.items()}
    changes = [f"{month} 月度通报：{was.get(month, '未计入')} → 第{edition}版"
               for month, edition in sorted(made.months.items()) if before.months.get(month) != edition]
    moved = [f"{label} {line}" for label, old, new in (("标段", before.sections, made.sections),
                                                      ("突击队", before.teams, made.teams))
             for line in board_changes(old or [], new or [])]
    return made.edition, Correction(made.edition, reasons, changes + (moved or ["排名与总分均无变化"]))


def _edition_story(competition: Competition, period: str) -> tuple[int, Correction | None]:
    """The month's current edition and, from the second on, its correction: the reasons of the reopens
    since the edition before and the differences between the two frozen snapshots."""
    month = db.session.scalar(select(Period).where(Period.competition_id == competition.id, Period.key == period))
    if month is None or month.status != "closed":
        return 0, None
    events = db.session.scalars(select(PeriodEvent).where(PeriodEvent.period_id == month.id)
                                .order_by(PeriodEvent.id)).all()
    closes = [e for e in events if e.action == "close"]
    if len(closes) < 2:
        return len(closes), None
    before, now = closes[-2], closes[-1]
    reasons = [e.reason for e in events if e.action == "reopen" and before.id < e.id < now.id and e.reason]
    snapshots = {(s.event_id, s.board): s.rows for s in db.session.scalars(
        select(Snapshot).where(Snapshot.event_id.in_((before.id, now.id))))}
    names = dict(db.session.execute(select(Section.id, Section.code + " " + Section.name)
                                    .where(Section.competition_id == competition.id)).all())
    changes = []
    if before.flag_section_id != now.flag_section_id:
        def holder(section_id):
            return names.get(section_id) if section_id else "未授予（第一名并列）"
        changes.append(f"流动红旗：{holder(before.flag_section_id)} → {holder(now.flag_section_id)}")
    for board, label in (("sections", "标段"), ("teams", "突击队")):
        changes += [f"{label} {line}" for line in board_changes(snapshots.get((before.id, board)) or [],
                                                              snapshots.get((now.id, board)) or [])]
    return now.edition or len(closes), Correction(now.edition or len(closes), reasons,
                                                  changes or ["排名、总分与流动红旗均无变化"])


def board_changes(before: list[dict], after: list[dict]) -> list[str]:
    """Each subject whose rank, total or veto differs between two snapshots of a board, in Chinese."""
    old = {row["code"]: row for row in before}

    def place(row: dict | None) -> str:
        if row is None or not (row.get("assessed") or row.get("vetoed")):
            return "未参评"
        if row.get("vetoed"):
            return "一票否决"
        return f"第{row['rank']}名" if row.get("rank") else "无名次"

    def total(row: dict | None) -> str:
        value = (row or {}).get("total")
        return number(Decimal(str(value))) if value is not None else "—"

    lines = []
    for row in after:
        was = old.get(row["code"])
        if (place(was), total(was)) == (place(row), total(row)):
            continue
        parts = []
        if place(was) != place(row):
            parts.append(f"{place(was)} → {place(row)}")
        if total(was) != total(row):
            parts.append(f"总分 {total(was)} → {total(row)}")
        lines.append(f"{row['code']} {row['name']}：{'，'.join(parts)}")
    return lines


def _counted(competition: Competition, period: str, scope: Section | None, shared: dict | None) -> list[Entry]:
    """The month's counted entries within the scope. For the reports of a mail run (`shared`) the
    month is read once and split by section: one query instead of one per scope."""
    if shared is None:
        return period_entries(competition, period, section_id=scope.id if scope else None, counted_only=True)
    key = ("entries", competition.id, period)
    if key not in shared:
        everything = _month_entries(competition, period)
        by_section: dict[int | None, list[Entry]] = {None: everything}
        for entry in everything:  # in the month's order, so each section's list keeps it
            by_section.setdefault(entry.section_id, []).append(entry)
        shared[key] = by_section
    return shared[key].get(scope.id if scope else None, [])


def _month_entries(competition: Competition, period: str) -> list[SimpleNamespace]:
    """The month's counted entries for a mail run's reports, as `period_entries(…, counted_only=True)`
    has them (same order, the attributes the report and its XLSX read), from two Core queries: the
    office-wide report of a month at 1,000,000 entries lists 83,000, and made ORM objects with their
    joined rows they took 8 s, more than the rest of a run's 200 sections."""
    e, s, t, u = Entry.__table__.c, Section.__table__.c, Team.__table__.c, User.__table__.c
    rows = db.session.execute(
        select(Entry.__table__, s.code.label("_section_code"), s.name.label("_section_name"),
               t.code.label("_team_code"), t.name.label("_team_name"), u.username.label("_supervisor"))
        .join_from(Entry.__table__, Section.__table__, e.section_id == s.id)
        .outerjoin(Team.__table__, e.team_id == t.id).join(User.__table__, e.supervisor_id == u.id)
        .where(e.competition_id == competition.id, e.period == period, e.status == "counted")
        .order_by(e.observed_at, e.id)).mappings().all()
    photos: dict[int, list[str]] = {}
    links = EntryPhoto.__table__.c
    for entry_id, photo_id in db.session.execute(
            select(links.entry_id, links.photo_id).join_from(EntryPhoto.__table__, Entry.__table__,
                                                            links.entry_id == e.id)
            .where(e.competition_id == competition.id, e.period == period, e.status == "counted")
            .order_by(links.entry_id, links.position)):
        photos.setdefault(entry_id, []).append(photo_id)
    columns = [c.name for c in Entry.__table__.c]
    return [SimpleNamespace(
        **{name: row[name] for name in columns}, photo_ids=photos.get(row["id"], []), void=None,
        section=SimpleNamespace(id=row["section_id"], code=row["_section_code"], name=row["_section_name"]),
        team=SimpleNamespace(id=row["team_id"], code=row["_team_code"], name=row["_team_name"])
        if row["team_id"] is not None else None,
        supervisor=SimpleNamespace(id=row["supervisor_id"], username=row["_supervisor"]),
    ) for row in rows]  # counted: never void


def _trend(competition: Competition, period: str) -> tuple[list[dict], list[str]]:
    """Each section's daily total over the month, from the daily snapshots, scaled to bar heights."""
    start, end = Month(period).first_day, Month(period).last_day
    series = []
    for subject in history(competition, "sections", start, end)["subjects"]:
        points = [p for p in subject["history"] if p["period"] == period]
        if any(p["total"] is not None for p in points):  # a section never assessed that month has no line
            series.append({"code": subject["code"], "name": subject["name"], "points": points})
    totals = [p["total"] for s in series for p in s["points"] if p["total"] is not None]
    days = sorted({p["day"] for s in series for p in s["points"]})
    if not totals:
        return [], []
    low, high = min(totals), max(totals)
    floor = low - max((high - low) / 4, Decimal(1))  # bars show the differences, not 0..100
    for s in series:
        by_day = {p["day"]: p for p in s["points"]}
        s["bars"] = []
        for day in days:
            p = by_day.get(day)
            total = p["total"] if p else None
            height = 0 if total is None else max(2, round(BAR_HEIGHT * (total - floor) / (high - floor)))
            s["bars"].append({"day": day, "total": total, "rank": p["rank"] if p else None, "height": height})
        known = [b["total"] for b in s["bars"] if b["total"] is not None]
        s["first"], s["last"], s["low"], s["high"] = known[0], known[-1], min(known), max(known)
    return series, days


def _context(report: Report) -> dict:
    unit, label = ("本年度", "考核年度") if len(report.period) == 4 else (
        ("本季度", "考核季度") if report.span else ("本月", "考核月份"))
    return {"r": report, "num": number, "arrow": arrow, "continued": continued, "kinds": KINDS,
            "unit": unit, "period_label": label,
            "zone": ZoneInfo(report.competition.timezone),
            "items": {i.code: i.name for c in report.competition.criteria for i in c.items},
            "criteria_names": dict(report.criteria),
            "is_current": report.period == Month.current(report.competition.timezone),
            "outcome": lambda n: OUTCOME_NAMES[outcome(n, report.competition.timezone)],
            "shared": lambda name, macro, *args: _shared_fragment(report, name, macro, *args)}


def _shared_fragment(report: Report, name: str, macro, *args):
    """A template's macro output that is the same in every scope's report of the month (`Report.fragments`),
    rendered once per mail run. `name` says which template and piece (html-sections, text-teams …)."""
    if name not in report.fragments:
        report.fragments[name] = macro(*args)
    return report.fragments[name]


def arrow(movement: int | None) -> str:
    if movement is None:
        return ""
    if movement > 0:
        return f"↑{movement}"
    if movement < 0:
        return f"↓{-movement}"
    return "→"


def continued(text: str | None, indent: str = "      ") -> str:
    """Free text (a note, a reason) on one line of the plain-text report: every further line is
    indented, so nothing typed can pass for a heading of the report (a line 【一票否决】 of its own)."""
    return ("\n" + indent).join((text or "").splitlines())


def render_html(report: Report) -> str:
    return render_template("reports/report.html", **_context(report))


def render_text(report: Report) -> str:
    return render_template("reports/report.txt", **_context(report))


def render_xlsx(report: Report) -> bytes:
    competition = report.competition
    sections = standings_table(competition, report.sections)
    teams = standings_table(competition, report.teams)
    rectification = (["标段", "下发", "按期闭环", "逾期闭环", "逾期未整改", "整改中", "按期整改率%"],
                     [[f"{r['code']} {r['name']}", r["issued"], r["closed_in_time"], r["closed_late"], r["overdue"],
                       r["open"], r["rate"]] for r in report.rectification])
    notices = report.notices if report.scope else period_notices(competition, report.period)
    return to_xlsx([("标段排名", *sections), ("突击队排名", *teams), ("整改情况", *rectification),
                    ("计分明细", *entries_table(competition, report.entries)),
                    ("整改通知", *notices_table(competition, notices))])
