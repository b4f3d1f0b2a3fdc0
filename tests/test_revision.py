"""No stale board: every path that can change what a board shows bumps the competition's revision in
the same transaction, so the ETag moves and no worker, wall or browser keeps the old board.

Three nets, because more paths will come (corrections, renames, disbanding, archive, penalties):
- tests/revision_guard.py watches every statement of every test and fails the test whose code commits
  a change to a board's tables without the bump;
- here, every route that writes and every command is classified as changing boards or not: a new one
  fails `test_every_route_and_command_that_writes_is_classified` until someone decides which it is;
- and each path that changes boards is walked through its real entry point, with a client holding the
  board's old ETag, which must get the new board, not a 304.
"""
from __future__ import annotations

import re

import click
import pytest
from conftest import competition_body
from revision_guard import BOARD_TABLES, GUARD
from sqlalchemy import event, select, text, update
from sqlalchemy.engine import Engine
from test_backup import second_database  # noqa: F401 - a fixture

from scoring.backup import RESTORE_REVISION_JUMP
from scoring.competitions.models import Competition
from scoring.competitions.operations import bump_revision
from scoring.extensions import db
from scoring.periods.operations import ensure_periods
from scoring.standings import operations as standings
from scoring.standings.models import SubjectTally

WRITES = {"POST", "PUT", "PATCH", "DELETE"}

# Routes and commands that change what a board shows, and those that do not (with why).
BOARD_ROUTES = {
    ("POST", "/api/v1/competitions"),
    ("POST", "/api/v1/competitions/<int:cid>/sections"),
    ("POST", "/api/v1/competitions/<int:cid>/teams"),
    ("POST", "/api/v1/competitions/<int:cid>/entries"),
    ("POST", "/api/v1/entries/<int:entry_id>/void"),
    ("POST", "/api/v1/entries/<int:entry_id>/correct"),
    ("POST", "/api/v1/competitions/<int:cid>/vetoes"),
    ("POST", "/api/v1/competitions/<int:cid>/vetoes/<int:veto_id>/revoke"),
    ("POST", "/api/v1/competitions/<int:cid>/periods/<month:key>/close"),
    ("POST", "/api/v1/competitions/<int:cid>/periods/<month:key>/reopen"),
    ("POST", "/api/v1/notices/<int:notice_id>/review"),  # a pass closes a notice: the wall's badges
    # the words a board shows (names, leaders) and whether a team still takes entries
    ("PATCH", "/api/v1/competitions/<int:cid>"),
    ("PATCH", "/api/v1/competitions/<int:cid>/criteria/<code>"),
    ("PATCH", "/api/v1/competitions/<int:cid>/criteria/<code>/items/<item>"),
    ("PATCH", "/api/v1/competitions/<int:cid>/sections/<code>"),
    ("PATCH", "/api/v1/competitions/<int:cid>/teams/<code>"),
}
OTHER_ROUTES = {
    ("POST", "/api/v1/auth/token"): "tokens",
    ("POST", "/api/v1/auth/token/revoke"): "tokens",
    ("POST", "/api/v1/users"): "users and their tokens",
    ("POST", "/api/v1/users/<int:user_id>/tokens/revoke"): "tokens",
    ("POST", "/api/v1/competitions/<int:cid>/recipients"): "mail recipients",
    ("DELETE", "/api/v1/competitions/<int:cid>/recipients/<int:rid>"): "mail recipients",
    ("POST", "/api/v1/competitions/<int:cid>/reports/<mailed:period>/send"):
        "mail deliveries (a month's, or a quarter's: its edition row is no board's)",
    ("POST", "/api/v1/competitions/<int:cid>/reports/<month:period>/approve"):
        "mail deliveries (bumps the revision anyway: it writes the month's history)",
    ("POST", "/api/v1/notices/<int:notice_id>/responses"): "an answered notice is still open on the wall",
    ("PATCH", "/api/v1/users/<int:user_id>"): "users: active, sections, names",
    ("POST", "/api/v1/users/<int:user_id>/password"): "passwords and tokens",
    ("POST", "/api/v1/auth/password"): "passwords and tokens",
    ("POST", "/api/v1/competitions/<int:cid>/photos"): "photos, which an entry names when it is posted",
    ("POST", "/api/v1/competitions/<int:cid>/channels"): "group bots",
    ("DELETE", "/api/v1/competitions/<int:cid>/channels/<int:channel_id>"): "group bots",
}
BOARD_COMMANDS = {"tallies rebuild", "tallies check", "restore", "demo", "scheduler"}
OTHER_COMMANDS = {
    "users create": "users and tokens",
    "users deactivate": "users and tokens",
    "users reactivate": "users",
    "users password": "passwords and tokens",
    "users token": "tokens",
    "backup": "reads only",
    "reports send": "mail deliveries",
    "reports preview": "reads only",
    "db": "Flask-Migrate: the schema, not the rows",
    "openapi": "flask-smorest: prints the OpenAPI document",
}
LIBRARY_GROUPS = ("db", "openapi")


def revision(app, cid: int) -> int:
    with app.app_context():
        value = db.session.scalar(select(Competition.revision).where(Competition.id == cid))
        db.session.remove()
        return value


def board(client, world, period: str, etag: str | None = None, kind: str = "sections"):
    headers = {**world.headers("viewer"), **({"If-None-Match": etag} if etag else {})}
    return client.get(world.url(f"/leaderboard?board={kind}&period={period}"), headers=headers)


# -- the net for what is not written yet ------------------------------------------------------------

def _commands(group: click.Group, prefix: str = "") -> set[str]:
    names = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group) and name not in LIBRARY_GROUPS:
            names |= _commands(command, f"{prefix}{name} ")
        else:
            names.add(prefix + name)
    return names


def test_every_route_and_command_that_writes_is_classified(app):
    """A new route or command that writes must be put in one of the lists above; if it changes what a
    board shows, it bumps the revision and joins the walk below."""
    writing = {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods & WRITES}
    assert writing - BOARD_ROUTES - OTHER_ROUTES.keys() == set(), "classify the new routes above"
    assert (BOARD_ROUTES | OTHER_ROUTES.keys()) - writing == set(), "a route is gone: drop it above"
    commands = _commands(app.cli)
    assert commands - BOARD_COMMANDS - OTHER_COMMANDS.keys() == set(), "classify the new commands above"
    assert (BOARD_COMMANDS | OTHER_COMMANDS.keys()) - commands == set(), "a command is gone: drop it above"


def test_the_guard_watches_every_table_a_board_reads(app, client, world, months, api):
    """Every board variant (live, closed snapshot, year, both boards) reads only tables the guard
    watches; a board that starts reading a new table fails here until the guard watches it too."""
    first = api.post(month=months.last, section="LJ-01", team="TJD-1")
    api.post(month=months.this, section="LJ-02", points=2)
    api.veto("LJ-02", team="TJD-2", reason="事故")
    lifted = api.veto("LJ-03", period=months.last, reason="误报")
    api.revoke(lifted["id"], reason="核实")
    api.close(months.last)
    api.void(first["id"], reason="重复")
    read: set[str] = set()

    def tables(conn, cursor, statement, *_):
        read.update(name.lower() for name in re.findall(r"\b(?:FROM|JOIN)\s+\"?(\w+)", statement, re.IGNORECASE))

    with app.app_context():
        competition = db.session.get(Competition, world.cid)
        event.listen(Engine, "before_cursor_execute", tables)
        try:
            for kind in ("sections", "teams"):
                for period in (months.this, months.last, months.this[:4], months.last[:4]):
                    standings.board_stamp(world.cid)
                    standings.leaderboard(competition, kind, period)
        finally:
            event.remove(Engine, "before_cursor_execute", tables)
        db.session.remove()
    assert {"subject_tallies", "vetoes", "veto_revocations", "snapshots", "periods"} <= read
    assert read <= BOARD_TABLES, read - BOARD_TABLES


def test_the_guard_fails_a_write_that_forgets_the_bump(app, client, world, months, api):
    api.post()
    with app.app_context():
        db.session.execute(text("UPDATE subject_tallies SET deductions = deductions + 100"))
        db.session.commit()
        caught, GUARD.violations = GUARD.violations, []  # this test's own forgetful write, on purpose
        assert len(caught) == 1 and "subject_tallies" in caught[0] and "test_revision.py" in caught[0]
        db.session.execute(text("UPDATE subject_tallies SET deductions = deductions - 100"))
        bump_revision(world.cid)
        db.session.commit()
    # Writes that change nothing on a board pass: a resend stored nothing, a month's row made open.
    same = api.entry()
    for _ in range(2):
        api.answer(client.post(world.url("/entries"), json={"entries": [same]}, headers=world.headers()))
    with app.app_context():
        ensure_periods(world.cid, {months.ago(2)})
        db.session.commit()
    assert GUARD.violations == []


# -- every path that changes a board, through its entry point ---------------------------------------

def _make_competition(ctx):
    made = ctx.api.answer(ctx.client.post("/api/v1/competitions", json=competition_body(name="新赛季"),
                                          headers=ctx.world.headers()), 201)
    return made["id"]


def _section(ctx):
    ctx.api.answer(ctx.client.post(ctx.world.url("/sections"), json={
        "code": "LJ-04", "name": "四标段", "start_km": 45, "end_km": 60, "contractor": "中铁"},
        headers=ctx.world.headers()), 201)


def _team(ctx):
    ctx.api.answer(ctx.client.post(ctx.world.url("/teams"), json={
        "code": "TJD-9", "name": "九队", "leader": "张三", "section": "LJ-03"}, headers=ctx.world.headers()), 201)


def _entry(ctx):
    ctx.api.post(section="LJ-02", points=3)


def _batch(ctx):
    ctx.api.answer(ctx.client.post(ctx.world.url("/entries"), json={"entries": [
        ctx.api.entry(section="LJ-03"), ctx.api.entry()]}, headers=ctx.world.headers()))


def _void(ctx):
    ctx.api.void(ctx.counted["id"], who="sup1", reason="录错")


def _correct(ctx):
    ctx.api.answer(ctx.client.post(f"/api/v1/entries/{ctx.counted['id']}/correct", headers=ctx.world.headers(),
                                   json={"reason": "分值录错", "entry": ctx.api.entry(
                                       section="LJ-01", team="TJD-1", points=2, observed_at=ctx.months.observed_at())}),
                   201)


def _veto(ctx):
    ctx.api.veto("LJ-01", reason="事故")


def _revoke(ctx):
    made = ctx.api.veto("LJ-01", reason="事故")
    ctx.etag = board(ctx.client, ctx.world, ctx.period).headers["ETag"]  # the board with the veto
    ctx.api.revoke(made["id"], reason="误报")


def _close(ctx):
    ctx.api.close(ctx.months.last)


def _reopen(ctx):
    _close(ctx)
    ctx.api.post(month=ctx.months.last, section="LJ-02", points=4)  # late: waits for the reopen
    ctx.etag = board(ctx.client, ctx.world, ctx.period).headers["ETag"]
    ctx.api.reopen(ctx.months.last, reason="补录")


def _rename_section(ctx):
    ctx.api.answer(ctx.client.patch(ctx.world.url("/sections/LJ-01"), json={"name": "01标 更正名称"},
                                    headers=ctx.world.headers("admin")), 200)


def _rename_team(ctx):
    ctx.api.answer(ctx.client.patch(ctx.world.url("/teams/TJD-1"), json={"name": "更正后的突击队"},
                                    headers=ctx.world.headers("admin")), 200)


def _auto_close(ctx):
    """The scheduler closes a month whose deadline (the 3rd of the next month) is long past."""
    result = ctx.runner.invoke(args=["scheduler", "--once", "close"])
    assert result.exit_code == 0 and f"{ctx.world.cid}:{ctx.months.ago(2)}" in result.output, result.output


def _drifted(ctx):
    """The aggregates drift (a bug, a hand edit) and a board is cached while they are wrong."""
    with ctx.app.app_context():
        db.session.execute(update(SubjectTally).where(SubjectTally.board == "sections")
                           .values(deductions=SubjectTally.deductions + 7))
        bump_revision(ctx.world.cid)
        db.session.commit()
    wrong = board(ctx.client, ctx.world, ctx.period)
    assert {r["code"]: r["total"] for r in wrong.get_json()["rows"]}["LJ-01"] == 92  # 99 - 7
    ctx.etag = wrong.headers["ETag"]


def _rebuild(ctx):
    _drifted(ctx)
    result = ctx.runner.invoke(args=["tallies", "rebuild"])
    assert result.exit_code == 0, result.output


def _repair(ctx):
    _drifted(ctx)
    result = ctx.runner.invoke(args=["tallies", "check", "--repair"])
    assert result.exit_code == 0 and "drifted (repaired)" in result.output, result.output


PATHS = {
    "POST competitions": _make_competition,
    "POST sections": _section,
    "POST teams": _team,
    "POST entries (one)": _entry,
    "POST entries (batch)": _batch,
    "POST void": _void,
    "POST correct": _correct,
    "POST vetoes": _veto,
    "POST revoke": _revoke,
    "POST close": _close,
    "POST reopen": _reopen,
    "PATCH section": _rename_section,
    "PATCH team": _rename_team,
    "scheduler --once close": _auto_close,
    "tallies rebuild": _rebuild,
    "tallies check --repair": _repair,
}
# Which board each path changes: the running month's, or last month's (closing and reopening it).
PERIOD_OF = {"POST close": "last", "POST reopen": "last", "scheduler --once close": "before"}


class Walk:
    def __init__(self, app, client, runner, api, name):
        self.app, self.client, self.runner, self.api, self.world, self.months = (app, client, runner, api, api.world,
                                                                                 api.months)
        months = api.months
        self.period = {"this": months.this, "last": months.last, "before": months.ago(2)}[PERIOD_OF.get(name, "this")]
        self.counted = api.post(month=months.this, who="sup1", section="LJ-01", team="TJD-1")
        api.post(month=months.last, section="LJ-01")
        api.post(month=months.ago(2), section="LJ-02")
        self.etag = board(client, api.world, self.period).headers["ETag"]


@pytest.mark.parametrize("name", PATHS)
def test_each_path_that_changes_a_board_moves_its_etag(app, client, runner, world, api, name):
    walk = Walk(app, client, runner, api, name)
    before = revision(app, world.cid)
    changed = PATHS[name](walk) or world.cid
    assert revision(app, changed) > (before if changed == world.cid else 0)
    if changed == world.cid:  # a wall holding the old ETag gets the new board
        fresh = board(client, world, walk.period, etag=walk.etag)
        assert fresh.status_code == 200 and fresh.headers["ETag"] != walk.etag


def test_a_rebuild_after_a_board_was_cached_wrong_serves_the_right_board(app, client, runner, world, api):
    """The issue as found: 92 served on where 99 is right, with the same ETag, until the next write."""
    walk = Walk(app, client, runner, api, "tallies rebuild")
    _rebuild(walk)
    for tag in (walk.etag, None):
        r = board(client, world, walk.period, etag=tag)
        assert r.status_code == 200
        assert {row["code"]: row["total"] for row in r.get_json()["rows"]}["LJ-01"] == 99


def test_a_restored_database_never_answers_an_etag_of_the_original(app, client, runner, world, api, months,
                                                                   second_database, tmp_path):  # noqa: F811
    api.post(section="LJ-02")
    path = tmp_path / "backup.jsonl"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    restored = second_database.test_cli_runner().invoke(args=["restore", str(path)])
    assert restored.exit_code == 0, restored.output
    assert revision(second_database, world.cid) == revision(app, world.cid) + RESTORE_REVISION_JUMP
    # Both go on from the backup, differently: no board of the restored database may carry an ETag
    # the original gave a wall or a browser for other data (which would then answer 304 to it).
    copy = second_database.test_client()
    seen, served = set(), set()
    for n in range(3):
        api.post(section="LJ-01", points=n + 1)
        seen.add(board(client, world, months.this).headers["ETag"])
        api.answer(copy.post(world.url("/entries"), json=api.entry(section="LJ-03", points=n + 2),
                     headers=world.headers("sup2")), 201)
        served.add(board(copy, world, months.this).headers["ETag"])
    assert seen.isdisjoint(served)
