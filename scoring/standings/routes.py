from datetime import date, timedelta
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import current_app, g, request
from flask_smorest import Blueprint

from ..api import QueryArgsParser
from ..auth.access import READERS, Along, check_competition, roles
from ..clock import utcnow
from ..competitions.operations import get_competition
from ..errors import Problem
from ..fields import Strict
from ..month import MonthField
from .operations import BOARDS, STAMP_COLUMNS, board_stamp, etag_for, history, leaderboard_body, resolve_period
from .schemas import HistoryOut, LeaderboardOut

blp = Blueprint("standings", __name__, url_prefix="/api/v1/competitions/<int:cid>",
                description="Live and closed leaderboards, the year board and daily history.")
blp.ARGUMENTS_PARSER = QueryArgsParser()


class BoardArgs(Strict):
    board = ma.fields.String(load_default="sections", validate=ma.validate.OneOf(BOARDS))
    period = MonthField(current=True, year=True, quarter=True)
    provisional = ma.fields.Boolean(load_default=False, metadata={
        "description": "Year and quarter boards: also count the months begun and still open (the running "
                       "month); without it they count the closed months only, the official results."})


# The years AwareDateTime accepts: a day near year 1 would overflow when the default window is counted back.
DAYS = ma.validate.Range(date(2000, 1, 1), date(2100, 12, 31), error="Must be between {min} and {max}.")


class HistoryArgs(Strict):
    board = ma.fields.String(load_default="sections", validate=ma.validate.OneOf(BOARDS))
    from_ = ma.fields.Date(data_key="from", validate=DAYS)
    to = ma.fields.Date(validate=DAYS)


# The board's stamp (its revision) is read in the token's own query: a wall's poll answered 304 is one
# round trip, and a revoked token still fails on its very next request.
BOARD_STAMP = Along(STAMP_COLUMNS[0], "cid", STAMP_COLUMNS)


@blp.get("/leaderboard")
@roles(*READERS, "display", along=BOARD_STAMP)
@blp.arguments(BoardArgs(), location="query")
@blp.response(200, LeaderboardOut, description="The board, with its ETag.")  # sent as cached bytes, not dumped
@blp.alt_response(304, description="Not modified: If-None-Match carries the board's current ETag.")
def get_leaderboard(args, cid):
    check_competition(g.user, cid)
    stamp = board_stamp(cid, g.along)
    key = resolve_period(stamp, args["period"])
    etag = etag_for(stamp, args["board"], key, args["provisional"])
    if request.if_none_match.contains(etag):  # a 304 needs the ETag, not the body
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(
            leaderboard_body(stamp, args["board"], key, args["provisional"])[1], mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(etag)
    return response


@blp.get("/leaderboard/history")
@roles(*READERS, "display")
@blp.arguments(HistoryArgs, location="query")
@blp.response(200, HistoryOut)
def get_history(args, cid):
    check_competition(g.user, cid)
    competition = get_competition(cid)
    end = args.get("to") or utcnow().astimezone(ZoneInfo(competition.timezone)).date()
    start = args.get("from_") or end - timedelta(days=31)
    if start > end:
        raise Problem(422, "from is after to.", {"from": ["Must not be after to."]})
    return history(competition, args["board"], start, end)
