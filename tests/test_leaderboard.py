"""GET …/leaderboard through the API: boards, periods, ETags, movement, flags, the year board, history."""
from datetime import date
from decimal import Decimal

import pytest
from standings_support import board, close, post, reopen, revoke, rows, veto, void

from scoring.competitions.operations import get_competition
from scoring.extensions import db
from scoring.standings.models import SubjectTally
from scoring.standings.operations import take_daily_snapshot


def test_entry_shows_on_the_board_as_soon_as_posted(client, world):
    assert rows(client, world)["LJ-01"]["assessed"] is False
    post(client, world, who="sup1", criterion="quality", item="Q2", points=2.5)
    row = rows(client, world)["LJ-01"]
    assert row == {**row, "rank": 1, "total": 97.5, "deductions": 2.5, "bonus": 0, "assessed": True,
                   "vetoed": False, "veto_reason": None}
    assert row["criteria"] == {"quality": 22.5, "safety": 25, "schedule": 20, "environment": 15, "management": 15}


def test_sections_and_teams_boards(client, world):
    post(client, world, section="LJ-01", team="TJD-1", points=2)
    post(client, world, section="LJ-01", team=None, points=1)  # the section only
    post(client, world, who="sup2", section="LJ-02", team="TJD-2", kind="bonus", criterion="safety", item=None,
         points=5)
    sections = rows(client, world, kind="sections")
    teams = rows(client, world, kind="teams")
    assert sections["LJ-01"]["total"] == 97 and sections["LJ-02"]["total"] == 103  # bonus capped at 3
    assert teams["TJD-1"]["total"] == 98 and teams["TJD-2"]["total"] == 103
    assert teams["TJD-3"]["assessed"] is False and teams["TJD-3"]["rank"] is None
    assert [r["code"] for r in board(client, world, kind="teams")["rows"]] == ["TJD-2", "TJD-1", "TJD-3"]
    assert board(client, world, kind="teams")["board"] == "teams"
    assert all(r["flags"] is None for r in teams.values())
    assert all(r["flags"] == 0 for r in sections.values())


def test_period_current_month_and_year(client, world):
    post(client, world, points=3)
    current = board(client, world, period="current")
    assert current["period"] == "2026-11"  # today is 2026-11-27 in Asia/Shanghai
    assert current["rows"] == board(client, world, period="2026-11")["rows"]
    assert board(client, world, period="2026")["period"] == "2026"
    assert board(client, world, period="2026-10")["rows"][0]["assessed"] is False


def test_bad_board_or_period_is_a_422(client, world):
    for query in ("board=people", "period=2026-13", "period=last", "period=26-11"):
        r = client.get(world.url(f"/leaderboard?{query}"), headers=world.headers("viewer"))
        assert r.status_code == 422, query
        assert r.headers["Content-Type"].startswith("application/problem+json")


def test_veto_and_its_revoke_through_the_api(client, world):
    post(client, world, who="sup1", points=1)
    post(client, world, who="sup2", section="LJ-02", points=4)
    v = veto(client, world, "LJ-01", reason="发生一般安全事故")
    r = rows(client, world)
    assert r["LJ-01"]["vetoed"] is True and r["LJ-01"]["total"] == 0 and r["LJ-01"]["rank"] is None
    assert r["LJ-01"]["veto_reason"] == "发生一般安全事故"
    assert r["LJ-01"]["criteria"]["safety"] == 24  # still on show
    assert r["LJ-02"]["rank"] == 1
    assert [row["code"] for row in board(client, world)["rows"]] == ["LJ-02", "LJ-01", "LJ-03"]
    revoke(client, world, v["id"])
    r = rows(client, world)
    assert r["LJ-01"] == {**r["LJ-01"], "vetoed": False, "veto_reason": None, "total": 99, "rank": 1}
    assert r["LJ-02"]["rank"] == 2


def test_team_veto_vetoes_the_team_and_its_section(client, world):
    post(client, world, team="TJD-1", points=1)
    veto(client, world, "LJ-01", team="TJD-1")
    assert rows(client, world, kind="teams")["TJD-1"]["vetoed"] is True
    assert rows(client, world, kind="sections")["LJ-01"]["vetoed"] is True


def test_etag_304_and_a_new_tag_after_every_change(client, world):
    url, headers = world.url("/leaderboard?period=2026-10"), world.headers("wall")
    tags = []

    def tag_changed():
        r = client.get(url, headers=headers)
        assert r.status_code == 200
        tag = r.headers["ETag"]
        assert tag not in tags
        again = client.get(url, headers={**headers, "If-None-Match": tag})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == tag
        tags.append(tag)
        return r.get_json()

    tag_changed()
    e = post(client, world, month="2026-10", points=2)
    assert tag_changed()["rows"][0]["total"] == 98
    void(client, world, e["id"])
    assert tag_changed()["rows"][0]["assessed"] is False
    post(client, world, month="2026-10", points=1)
    tag_changed()
    v = veto(client, world, "LJ-01", period="2026-10")
    assert tag_changed()["rows"][0]["vetoed"] is True
    revoke(client, world, v["id"])
    assert tag_changed()["rows"][0]["vetoed"] is False
    close(client, world, "2026-10")
    assert tag_changed()["status"] == "closed"
    reopen(client, world, "2026-10")
    assert tag_changed()["status"] == "open"
    # A stale tag gets the full board, not a 304.
    assert client.get(url, headers={**headers, "If-None-Match": tags[0]}).status_code == 200


def test_movement_comes_from_the_closed_snapshot_of_last_month(client, world):
    oct_entries = {code: post(client, world, month="2026-10", section=code, points=p)
                   for code, p in (("LJ-01", 1), ("LJ-02", 2), ("LJ-03", 3))}
    close(client, world, "2026-10")  # October: LJ-01 1st, LJ-02 2nd, LJ-03 3rd
    void(client, world, oct_entries["LJ-03"]["id"])  # after the close: the frozen ranks must stay
    post(client, world, section="LJ-01", points=3)
    post(client, world, section="LJ-02", points=2)
    post(client, world, section="LJ-03", points=1)
    r = rows(client, world)
    assert (r["LJ-03"]["rank"], r["LJ-03"]["movement"]) == (1, 2)
    assert (r["LJ-02"]["rank"], r["LJ-02"]["movement"]) == (2, 0)
    assert (r["LJ-01"]["rank"], r["LJ-01"]["movement"]) == (3, -2)


def test_movement_is_null_when_either_month_has_no_rank(client, world):
    post(client, world, month="2026-10", section="LJ-01", points=1)
    veto(client, world, "LJ-02", period="2026-10")
    post(client, world, month="2026-10", section="LJ-02", points=1)
    post(client, world, section="LJ-02", points=1)
    post(client, world, section="LJ-03", points=1)
    r = rows(client, world)
    assert r["LJ-01"]["movement"] is None  # not assessed this month
    assert r["LJ-02"]["movement"] is None  # vetoed last month
    assert r["LJ-03"]["movement"] is None  # not assessed last month


def test_flags_on_the_live_board_and_the_current_holder(client, world):
    post(client, world, month="2026-09", section="LJ-02", points=1)
    post(client, world, month="2026-09", section="LJ-01", points=2)
    close(client, world, "2026-09")  # LJ-02 wins September
    post(client, world, month="2026-10", section="LJ-02", points=1)
    close(client, world, "2026-10")  # and October
    post(client, world, section="LJ-01", points=0)
    live = board(client, world)
    assert live["flag"] == {"period": "2026-10", "section": "LJ-02", "name": "二标段"}
    assert {r["code"]: r["flags"] for r in live["rows"]} == {"LJ-01": 0, "LJ-02": 2, "LJ-03": 0}
    october = board(client, world, period="2026-10")
    assert {r["code"]: r["flags"] for r in october["rows"]}["LJ-02"] == 2  # the one just won included
    periods = {p["key"]: p for p in client.get(world.url("/periods"), headers=world.headers()).get_json()}
    assert periods["2026-09"]["flag"] == {"section": "LJ-02", "name": "二标段"}
    # Reopening October takes its flag back.
    reopen(client, world, "2026-10")
    live = board(client, world)
    assert live["flag"]["period"] == "2026-09"
    assert {r["code"]: r["flags"] for r in live["rows"]}["LJ-02"] == 1


def test_shared_rank_one_awards_no_flag_and_ends_the_holders_tenure(client, world):
    post(client, world, month="2026-09", section="LJ-01", points=1)
    close(client, world, "2026-09")  # LJ-01 holds the flag
    post(client, world, month="2026-10", section="LJ-01", points=1)
    post(client, world, month="2026-10", section="LJ-02", criterion="safety", item="S2", points=1)
    close(client, world, "2026-10")
    october = rows(client, world, period="2026-10")
    assert october["LJ-01"]["rank"] == october["LJ-02"]["rank"] == 1
    periods = {p["key"]: p for p in client.get(world.url("/periods"), headers=world.headers()).get_json()}
    assert periods["2026-10"]["flag"] is None
    assert board(client, world)["flag"] is None
    assert {r["code"]: r["flags"] for r in board(client, world)["rows"]} == {"LJ-01": 1, "LJ-02": 0, "LJ-03": 0}


def test_year_board_means(client, world):
    post(client, world, month="2026-09", section="LJ-01", points=2)  # 98
    post(client, world, month="2026-09", section="LJ-02", points=1)  # 99
    post(client, world, month="2026-10", section="LJ-01", points=4)  # 96
    post(client, world, month="2026-10", section="LJ-02", points=0)  # vetoed: 0
    veto(client, world, "LJ-02", period="2026-10")
    post(client, world, section="LJ-02", criterion="quality", item="Q1", points=0.5)  # 99.5; LJ-01 skips November
    close(client, world, "2026-09")
    year = board(client, world, period="2026")
    r = {row["code"]: row for row in year["rows"]}
    assert r["LJ-01"]["total"] == 97 and r["LJ-01"]["rank"] == 1
    assert r["LJ-02"]["total"] == Decimal("66.17") and r["LJ-02"]["rank"] == 2  # (99 + 0 + 99.5) / 3
    assert r["LJ-03"]["assessed"] is False and r["LJ-03"]["rank"] is None
    assert year["status"] == "open"


@pytest.mark.tampers_with_board_tables
def test_read_reads_aggregates_not_entries(client, world, app):
    """A board is built from SubjectTally rows alone: change them behind the API's back and the board follows."""
    post(client, world, points=1)
    with app.app_context():
        tally = db.session.query(SubjectTally).filter_by(board="sections").one()
        tally.deductions += 2
        db.session.commit()
    veto(client, world, "LJ-03")  # a write bumps the revision: the cached body goes
    assert rows(client, world)["LJ-01"]["total"] == 97


def test_history_after_daily_snapshots(client, world, app):
    post(client, world, section="LJ-01", points=1)
    with app.app_context():
        take_daily_snapshot(get_competition(world.cid), date(2026, 11, 25))
        db.session.commit()
    post(client, world, who="sup2", section="LJ-02", points=0.5)
    with app.app_context():
        take_daily_snapshot(get_competition(world.cid), date(2026, 11, 26))
        db.session.commit()
    r = client.get(world.url("/leaderboard/history?board=sections&from=2026-11-01&to=2026-11-30"),
                   headers=world.headers("wall"))
    assert r.status_code == 200, r.get_json()
    series = {s["code"]: s["history"] for s in r.get_json()["subjects"]}
    assert series["LJ-01"] == [{"day": "2026-11-25", "period": "2026-11", "total": 99, "rank": 1},
                               {"day": "2026-11-26", "period": "2026-11", "total": 99, "rank": 2}]
    assert series["LJ-02"] == [{"day": "2026-11-25", "period": "2026-11", "total": None, "rank": None},
                               {"day": "2026-11-26", "period": "2026-11", "total": 99.5, "rank": 1}]
    teams = client.get(world.url("/leaderboard/history?board=teams&from=2026-11-25&to=2026-11-25"),
                       headers=world.headers("wall")).get_json()
    assert {s["code"] for s in teams["subjects"]} == {"TJD-1", "TJD-2", "TJD-3"}
    bad = client.get(world.url("/leaderboard/history?from=2026-11-30&to=2026-11-01"), headers=world.headers())
    assert bad.status_code == 422
