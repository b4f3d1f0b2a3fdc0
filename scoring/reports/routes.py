import re

from flask import current_app, g
from flask_smorest import Blueprint
from sqlalchemy import select

from ..api import PageArgs, paginate
from ..auth.access import check_section, roles
from ..competitions.operations import get_competition
from ..errors import Problem
from ..extensions import db
from ..month import SPAN_PATTERN, Month, is_span, span_months
from ..notices.operations import notices_table, period_notices
from ..periods.operations import approve_edition
from ..standings.operations import leaderboard, resolve_period
from . import exports, render
from .models import Delivery, Recipient
from .operations import add_recipient, remove_recipient, scope_section, send_report
from .schemas import (
    ApprovalOut,
    DeliveryOut,
    EntriesExportArgs,
    RecipientIn,
    RecipientOut,
    ReportArgs,
    SendIn,
    StandingsExportArgs,
)

# Reports and exports are read by the competition office and management: admin and viewer.
# Supervisors post scores and read the boards, display tokens read the boards only.
REPORT_READERS = ("admin", "viewer")

blp = Blueprint("reports", __name__, url_prefix="/api/v1/competitions/<int:cid>",
                description="Report recipients, the monthly report and its delivery, exports.")


@blp.post("/recipients")
@roles("admin")
@blp.arguments(RecipientIn)
@blp.response(201, RecipientOut)
def post_recipient(data, cid):
    return add_recipient(get_competition(cid), data["email"], data["name"], data["scope"])


@blp.get("/recipients")
@roles("admin")
@blp.arguments(PageArgs, location="query")
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
    remove_recipient(cid, rid)


@blp.post("/reports/<mailed:period>/send")
@roles("admin")
@blp.arguments(SendIn(), required=False)
@blp.response(202, DeliveryOut(many=True))
def post_send(data, cid, period):
    """Queue the month's report for every recipient: once per recipient, however often asked.
    `{"resend_failed": true}` also queues the failed deliveries again (after the office has checked them).
    A quarter (`YYYY-Qn`): its report, once every month of it is closed (409 before)."""
    resend = bool((data or {}).get("resend_failed"))
    send_report(get_competition(cid), period, resend_failed=resend, by="api" if resend else None)
    return _deliveries(cid, period)


@blp.post("/reports/<month:period>/approve")
@roles("admin")
@blp.response(200, ApprovalOut)
def post_approve(cid, period):
    """Approve the closed month's draft report (when the competition asks for approval): it is mailed now.
    Approving an approved edition changes nothing."""
    event, queued = approve_edition(get_competition(cid), period, actor=g.user)
    return {"period": period, "edition": event.edition, "approved_at": event.approved_at,
            "approved_by": event.approved_by.username if event.approved_by else None, "queued": queued}


@blp.get("/reports/<mailed:period>/deliveries")
@roles("admin")
@blp.arguments(PageArgs, location="query")
@blp.response(200, DeliveryOut(many=True))
def list_deliveries(args, cid, period):
    get_competition(cid)
    return paginate(_deliveries_query(cid, period), args)


def _deliveries_query(cid: int, period: str):
    return select(Delivery).where(Delivery.competition_id == cid, Delivery.period == period).order_by(Delivery.id)


def _deliveries(cid: int, period: str) -> list[Delivery]:
    return db.session.scalars(_deliveries_query(cid, period)).all()


@blp.get("/reports/<period>")
@roles(*REPORT_READERS, "contractor")
@blp.arguments(ReportArgs, location="query")
@blp.response(200, description="The monthly report as mailed: text/html, text/plain or an XLSX workbook. "
                               "`scope` shows what a recipient of that section gets. A month not yet closed "
                               "is shown live and marked so. `YYYY-Qn` (or `YYYY`): the quarter's (year's) "
                               "report on demand, over its closed months.")
def get_report(args, cid, period):
    competition = get_competition(cid)
    _report_key(competition, period)
    scope = scope_section(cid, args["scope"])
    if g.user.role == "contractor":  # a contractor reads its own sections' report only
        if scope is None:
            raise Problem(403, "承包人只能查看本标段的报告（scope=标段编号）。"
                               "A contractor reads its section's report only.")
        check_section(g.user, scope.id, scope.code)
    report = render.build_report(competition, period, scope)
    if args["format"] == "html":
        # The report is mail HTML: inline styles and nothing else, so that much is allowed here.
        return current_app.response_class(render.render_html(report), mimetype="text/html", headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                                       "form-action 'none'; frame-ancestors 'none'"})
    if args["format"] == "text":
        return current_app.response_class(render.render_text(report), mimetype="text/plain")
    return _download(render.render_xlsx(report), exports.XLSX_TYPE, f"report-{period}.xlsx")


def _report_key(competition, key: str) -> str:
    """A month, or a quarter (`YYYY-Qn`) or a year for their reports on demand; begun already."""
    if re.fullmatch(SPAN_PATTERN, key):
        if span_months(key)[0] > Month.current(competition.timezone):
            raise Problem(404, f"{key} has not begun yet.")
        return key
    try:
        return _month(competition, Month(key))
    except ValueError:
        raise Problem(404, f"No period {key!r}: a month YYYY-MM, a quarter YYYY-Qn or a year YYYY.") from None


def _month(competition, key: str) -> str:
    if key > Month.current(competition.timezone):
        raise Problem(404, f"{key} has not begun yet.")
    return key


def _download(body: bytes, mimetype: str, filename: str):
    return current_app.response_class(body, mimetype=mimetype,
                                      headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _entries_export(cid: int, args: dict):
    competition = get_competition(cid)
    key = _month(competition, resolve_period(competition, args["period"]))
    return key, exports.entries_table(competition, exports.period_entries(competition, key))


def _standings_export(cid: int, args: dict):
    competition = get_competition(cid)
    key = resolve_period(competition, args["period"])
    if not is_span(key):
        _month(competition, key)
    board = leaderboard(competition, args["board"], key, args["provisional"])
    header, table = exports.standings_table(competition, board["rows"])
    return key, header, table


@blp.get("/exports/entries.csv")
@roles(*REPORT_READERS)
@blp.arguments(EntriesExportArgs, location="query")
@blp.response(200, description="Every entry of the month (counted, late and void), CSV in UTF-8 with a BOM.")
def export_entries_csv(args, cid):
    key, (header, table) = _entries_export(cid, args)
    return _download(exports.to_csv(header, table), "text/csv", f"entries-{key}.csv")


@blp.get("/exports/entries.xlsx")
@roles(*REPORT_READERS)
@blp.arguments(EntriesExportArgs, location="query")
@blp.response(200, description="Every entry of the month (counted, late and void), as an XLSX workbook.")
def export_entries_xlsx(args, cid):
    key, (header, table) = _entries_export(cid, args)
    competition = get_competition(cid)
    notices = notices_table(competition, period_notices(competition, key))
    return _download(exports.to_xlsx([("计分明细", header, table), ("整改通知", *notices)]), exports.XLSX_TYPE,
                     f"entries-{key}.xlsx")


@blp.get("/exports/standings.csv")
@roles(*REPORT_READERS)
@blp.arguments(StandingsExportArgs, location="query")
@blp.response(200, description="The leaderboard's rows, CSV in UTF-8 with a BOM.")
def export_standings_csv(args, cid):
    key, header, table = _standings_export(cid, args)
    return _download(exports.to_csv(header, table), "text/csv", f"standings-{args['board']}-{key}.csv")


@blp.get("/exports/standings.xlsx")
@roles(*REPORT_READERS)
@blp.arguments(StandingsExportArgs, location="query")
@blp.response(200, description="The leaderboard's rows as an XLSX workbook.")
def export_standings_xlsx(args, cid):
    key, header, table = _standings_export(cid, args)
    title = "标段排名" if args["board"] == "sections" else "突击队排名"
    return _download(exports.to_xlsx([(title, header, table)]), exports.XLSX_TYPE,
                     f"standings-{args['board']}-{key}.xlsx")
