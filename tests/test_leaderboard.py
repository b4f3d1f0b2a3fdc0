"""GET …/leaderboard through the API: boards, periods, ETags, movement, flags, the year board, history."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from scoring.competitions.models import Section
from scoring.competitions.operations import bump_revision, get_competition
from scoring.extensions import db
from scoring.standings.models import MonthRevision, SubjectTally
from scoring.standings.operations import take_daily_snapshot


def test_entry_shows_on_the_board_as_soon_as_posted(client, world, api):
    assert api.rows()["LJ-01"]["assessed"] is False
    api.post(who="sup1", criterion="quality", item="Q2", points=2.5)
    row = api.rows()["LJ-01"]
    assert row == {**row, "rank": 1, "total": 97.5, "deductions": 2.5, "bonus": 0, "assessed": True,
                   "vetoed": False, "veto_reason": None}
    assert row["criteria"] == {"quality": 22.5, "safety": 25, "schedule": 20, "environment": 15, "management": 15}


def test_sections_and_teams_boards(client, world, api):
    api.post(section="LJ-01", team="TJD-1", points=2)
    api.post(section="LJ-01", team=None, points=1)  # the section only
    api.post(who="sup2", section="LJ-02", team="TJD-2", kind="bonus", criterion="safety", item=None,
         points=5)
    sections = api.rows(kind="sections")
    teams = api.rows(kind="teams")
    assert sections["LJ-01"]["total"] == 97 and sections["LJ-02"]["total"] == 103  # bonus capped at 3
    assert teams["TJD-1"]["total"] == 98 and teams["TJD-2"]["total"] == 103
    assert teams["TJD-3"]["assessed"] is False and teams["TJD-3"]["rank"] is None
    assert [r["code"] for r in api.board(kind="teams")["rows"]] == ["TJD-2", "TJD-1", "TJD-3"]
    assert api.board(kind="teams")["board"] == "teams"
    assert all(r["flags"] is None for r in teams.values())
    assert all(r["flags"] == 0 for r in sections.values())


def test_period_current_month_and_year(client, world, api, months):
    api.post(points=3)
    current = api.board(period="current")
    assert current["period"] == months.this
    assert current["rows"] == api.board(period=months.this)["rows"]
    assert api.board(period=months.year)["period"] == months.year
    assert api.board(period=months.last)["rows"][0]["assessed"] is False


def test_bad_board_or_period_is_a_422(client, world):
    for query in ("board=people", "period=2026-13", "period=last", "period=26-11"):
        r = client.get(world.url(f"/leaderboard?{query}"), headers=world.headers("viewer"))
        assert r.status_code == 422, query
        assert r.headers["Content-Type"].startswith("application/problem+json")


def test_veto_and_its_revoke_through_the_api(client, world, api):
    api.post(who="sup1", points=1)
    api.post(who="sup2", section="LJ-02", points=4)
    v = api.veto("LJ-01", reason="发生一般安全事故")
    r = api.rows()
    assert r["LJ-01"]["vetoed"] is True and r["LJ-01"]["total"] == 0 and r["LJ-01"]["rank"] is None
    assert r["LJ-01"]["veto_reason"] == "发生一般安全事故"
    assert r["LJ-01"]["criteria"]["safety"] == 24  # still on show
    assert r["LJ-02"]["rank"] == 1
    assert [row["code"] for row in api.board()["rows"]] == ["LJ-02", "LJ-01", "LJ-03"]
    api.revoke(v["id"])
    r = api.rows()
    assert r["LJ-01"] == {**r["LJ-01"], "vetoed": False, "veto_reason": None, "total": 99, "rank": 1}
    assert r["LJ-02"]["rank"] == 2


def test_team_veto_vetoes_the_team_and_its_section(client, world, api):
    api.post(team="TJD-1", points=1)
    api.veto("LJ-01", team="TJD-1")
    assert api.rows(kind="teams")["TJD-1"]["vetoed"] is True
    assert api.rows(kind="sections")["LJ-01"]["vetoed"] is True


def test_etag_304_and_a_new_tag_after_every_change(client, world, api, months):
    url, headers = world.url(f"/leaderboard?period={months.last}"), world.headers("wall")
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
    e = api.post(month=months.last, points=2)
    assert tag_changed()["rows"][0]["total"] == 98
    api.void(e["id"])
    assert tag_changed()["rows"][0]["assessed"] is False
    api.post(month=months.last, points=1)
    tag_changed()
    v = api.veto("LJ-01", period=months.last)
    assert tag_changed()["rows"][0]["vetoed"] is True
    api.revoke(v["id"])
    assert tag_changed()["rows"][0]["vetoed"] is False
    api.close(months.last)
    assert tag_changed()["status"] == "closed"
    api.reopen(months.last)
    assert tag_changed()["status"] == "open"
    # A stale tag gets the full board, not a 304.
    assert client.get(url, headers={**headers, "If-None-Match": tags[0]}).status_code == 200


def test_movement_comes_from_the_closed_snapshot_of_last_month(client, world, api, months):
    last_months = {code: api.post(month=months.last, section=code, points=p)
                   for code, p in (("LJ-01", 1), ("LJ-02", 2), ("LJ-03", 3))}
    api.close(months.last)  # last month: LJ-01 1st, LJ-02 2nd, LJ-03 3rd
    api.void(last_months["LJ-03"]["id"])  # after the close: the frozen ranks must stay
    api.post(section="LJ-01", points=3)
    api.post(section="LJ-02", points=2)
    api.post(section="LJ-03", points=1)
    r = api.rows()
    assert (r["LJ-03"]["rank"], r["LJ-03"]["movement"]) == (1, 2)
    assert (r["LJ-02"]["rank"], r["LJ-02"]["movement"]) == (2, 0)
    assert (r["LJ-01"]["rank"], r["LJ-01"]["movement"]) == (3, -2)


def test_movement_follows_every_change_of_an_open_last_month(app, client, world, api, months, runner):
    """Last month's ranks are cached (per worker) while this month is written to; a post, a void, a veto
    and its revocation in last month, and a rebuild of the tallies, each moves them at once."""
    api.post(month=months.last, section="LJ-01", points=1)
    lj02 = api.post(month=months.last, section="LJ-02", points=2)
    api.post(section="LJ-01", points=1)
    api.post(section="LJ-02", points=2)  # this month: LJ-01 1st, LJ-02 2nd, LJ-03 3rd

    def movement():
        api.post(section="LJ-03", points=5)  # a write to this month only: the board is recomputed
        return {code: row["movement"] for code, row in api.rows().items()}

    assert movement() == {"LJ-01": 0, "LJ-02": 0, "LJ-03": None}  # last month: LJ-01 1st, LJ-02 2nd
    api.post(month=months.last, section="LJ-01", points=5)
    assert movement() == {"LJ-01": 1, "LJ-02": -1, "LJ-03": None}  # last month: LJ-02 1st, LJ-01 2nd
    api.void(lj02["id"])
    assert movement() == {"LJ-01": 0, "LJ-02": None, "LJ-03": None}  # LJ-02 not assessed last month
    api.post(month=months.last, section="LJ-02", points=9)
    veto = api.veto("LJ-01", period=months.last)
    assert movement() == {"LJ-01": None, "LJ-02": -1, "LJ-03": None}  # LJ-01 vetoed: LJ-02 1st
    api.revoke(veto["id"])
    assert movement() == {"LJ-01": 0, "LJ-02": 0, "LJ-03": None}  # LJ-01 (6) 1st, LJ-02 (9) 2nd
    with app.app_context():  # the tallies drift (a bug, a hand edit) and the drifted ranks are cached
        lj01 = db.session.scalar(select(Section.id).where(Section.code == "LJ-01"))
        db.session.execute(update(SubjectTally).where(SubjectTally.period == months.last,
                                                      SubjectTally.subject_id == lj01, SubjectTally.board == "sections")
                           .values(deductions=SubjectTally.deductions + 50))
        db.session.execute(update(MonthRevision).where(MonthRevision.period == months.last)
                           .values(revision=MonthRevision.revision + 1))
        bump_revision(world.cid)
        db.session.commit()
    assert movement() == {"LJ-01": 1, "LJ-02": -1, "LJ-03": None}  # drifted: LJ-02 1st last month
    result = runner.invoke(args=["tallies", "rebuild"])
    assert result.exit_code == 0, result.output
    assert movement() == {"LJ-01": 0, "LJ-02": 0, "LJ-03": None}  # rebuilt from the entries


def test_movement_is_null_when_either_month_has_no_rank(client, world, api, months):
    api.post(month=months.last, section="LJ-01", points=1)
    api.veto("LJ-02", period=months.last)
    api.post(month=months.last, section="LJ-02", points=1)
    api.post(section="LJ-02", points=1)
    api.post(section="LJ-03", points=1)
    r = api.rows()
    assert r["LJ-01"]["movement"] is None  # not assessed this month
    assert r["LJ-02"]["movement"] is None  # vetoed last month
    assert r["LJ-03"]["movement"] is None  # not assessed last month


def test_flags_on_the_live_board_and_the_current_holder(client, world, api, months):
    api.post(month=months.ago(2), section="LJ-02", points=1)
    api.post(month=months.ago(2), section="LJ-01", points=2)
    api.close(months.ago(2))  # LJ-02 wins the month before last
    api.post(month=months.last, section="LJ-02", points=1)
    api.close(months.last)  # and last month
    api.post(section="LJ-01", points=0)
    live = api.board()
    assert live["flag"] == {"period": months.last, "section": "LJ-02", "name": "二标段"}
    assert {r["code"]: r["flags"] for r in live["rows"]} == {"LJ-01": 0, "LJ-02": 2, "LJ-03": 0}
    last = api.board(period=months.last)
    assert {r["code"]: r["flags"] for r in last["rows"]}["LJ-02"] == 2  # the one just won included
    periods = {p["key"]: p for p in client.get(world.url("/periods"), headers=world.headers()).get_json()}
    assert periods[months.ago(2)]["flag"] == {"section": "LJ-02", "name": "二标段"}
    # Reopening last month takes its flag back.
    api.reopen(months.last)
    live = api.board()
    assert live["flag"]["period"] == months.ago(2)
    assert {r["code"]: r["flags"] for r in live["rows"]}["LJ-02"] == 1


def test_shared_rank_one_awards_no_flag_and_ends_the_holders_tenure(client, world, api, months):
    api.post(month=months.ago(2), section="LJ-01", points=1)
    api.close(months.ago(2))  # LJ-01 holds the flag
    api.post(month=months.last, section="LJ-01", points=1)
    api.post(month=months.last, section="LJ-02", criterion="safety", item="S2", points=1)
    api.close(months.last)
    last = api.rows(period=months.last)
    assert last["LJ-01"]["rank"] == last["LJ-02"]["rank"] == 1
    periods = {p["key"]: p for p in client.get(world.url("/periods"), headers=world.headers()).get_json()}
    assert periods[months.last]["flag"] is None
    assert api.board()["flag"] is None
    assert {r["code"]: r["flags"] for r in api.board()["rows"]} == {"LJ-01": 1, "LJ-02": 0, "LJ-03": 0}


@pytest.mark.time_machine("2025-11-27T10:00:00+08:00")  # three months of one year
def test_year_board_means(client, world, api):
    api.post(month="2025-09", section="LJ-01", points=2)  # 98
    api.post(month="2025-09", section="LJ-02", points=1)  # 99
    api.post(month="2025-10", section="LJ-01", points=4)  # 96
    api.post(month="2025-10", section="LJ-02", points=0)  # vetoed: 0
    api.veto("LJ-02", period="2025-10")
    api.post(section="LJ-02", criterion="quality", item="Q1", points=0.5)  # 99.5; LJ-01 skips November
    api.close("2025-09")
    # The official year counts the closed months only: September.
    year = api.board(period="2025")
    assert (year["provisional"], year["months"], year["status"]) == (False, ["2025-09"], "open")
    r = {row["code"]: row for row in year["rows"]}
    assert (r["LJ-02"]["total"], r["LJ-02"]["rank"], r["LJ-01"]["total"], r["LJ-01"]["rank"]) == (99, 1, 98, 2)
    api.close("2025-10")
    # provisional=true adds the months begun and still open: the running November.
    year = api.get("/leaderboard?period=2025&provisional=true", "viewer").get_json()
    assert (year["provisional"], year["months"]) == (True, ["2025-09", "2025-10", "2025-11"])
    r = {row["code"]: row for row in year["rows"]}
    assert r["LJ-01"]["total"] == 97 and r["LJ-01"]["rank"] == 1
    assert r["LJ-02"]["total"] == Decimal("66.17") and r["LJ-02"]["rank"] == 2  # (99 + 0 + 99.5) / 3
    assert r["LJ-03"]["assessed"] is False and r["LJ-03"]["rank"] is None


@pytest.mark.tampers_with_board_tables
def test_read_reads_aggregates_not_entries(client, world, app, api):
    """A board is built from SubjectTally rows alone: change them behind the API's back and the board follows."""
    api.post(points=1)
    with app.app_context():
        tally = db.session.query(SubjectTally).filter_by(board="sections").one()
        tally.deductions += 2
        db.session.commit()
    api.veto("LJ-03")  # a write bumps the revision: the cached body goes
    assert api.rows()["LJ-01"]["total"] == 97


def test_history_after_daily_snapshots(client, world, app, api, months):
    last = months.last
    day = {n: date(int(last[:4]), int(last[5:]), n) for n in (25, 26)}
    api.post(month=last, section="LJ-01", points=1)
    with app.app_context():
        take_daily_snapshot(get_competition(world.cid), day[25])
        db.session.commit()
    api.post(month=last, who="sup2", section="LJ-02", points=0.5)
    with app.app_context():
        take_daily_snapshot(get_competition(world.cid), day[26])
        db.session.commit()
    r = client.get(world.url(f"/leaderboard/history?board=sections&from={last}-01&to={last}-28"),
                   headers=world.headers("wall"))
    assert r.status_code == 200, r.get_json()
    series = {s["code"]: s["history"] for s in r.get_json()["subjects"]}
    assert series["LJ-01"] == [{"day": f"{last}-25", "period": last, "total": 99, "rank": 1},
                               {"day": f"{last}-26", "period": last, "total": 99, "rank": 2}]
    assert series["LJ-02"] == [{"day": f"{last}-25", "period": last, "total": None, "rank": None},
                               {"day": f"{last}-26", "period": last, "total": 99.5, "rank": 1}]
    teams = client.get(world.url(f"/leaderboard/history?board=teams&from={last}-25&to={last}-25"),
                       headers=world.headers("wall")).get_json()
    assert {s["code"] for s in teams["subjects"]} == {"TJD-1", "TJD-2", "TJD-3"}
    bad = client.get(world.url(f"/leaderboard/history?from={last}-28&to={last}-01"), headers=world.headers())
    assert bad.status_code == 422


@pytest.mark.time_machine("2025-12-01T08:05:00+08:00")  # the 1st of the quarter's last month
def test_quarter_board_counts_its_closed_months_and_provisional_adds_the_running_one(client, world, api):
    """月检查、季考核 (issue 13, points 5 and 12): a single 0-point inspection on the 1st cannot move the quarter."""
    api.post(month="2025-10", section="LJ-01", points=1)  # 99
    api.post(month="2025-10", section="LJ-02", points=3, who="sup2")  # 97
    api.post(month="2025-11", section="LJ-01", points=1)  # 99
    api.post(month="2025-11", section="LJ-02", points=1, who="sup2")  # 99
    api.post(month="2025-11", section="LJ-03", points=2, who="sup2")  # 98
    api.close("2025-10")
    api.close("2025-11")
    api.post(section="LJ-03", points=0, who="sup2")  # December: 100
    api.post(section="LJ-02", points=10, who="sup2")  # December: 90

    official = api.board(period="2025-Q4")
    assert (official["period"], official["provisional"], official["months"], official["status"]) == (
        "2025-Q4", False, ["2025-10", "2025-11"], "open")
    assert [(r["code"], r["rank"], r["total"]) for r in official["rows"]] == [
        ("LJ-01", 1, 99), ("LJ-02", 2, 98), ("LJ-03", 2, 98)]
    assert official["rows"] == api.board(period="2025")["rows"]  # the year has no other month yet

    response = client.get(world.url("/leaderboard?period=2025-Q4&provisional=true"), headers=world.headers("wall"))
    provisional = response.get_json()
    assert (provisional["provisional"], provisional["months"]) == (True, ["2025-10", "2025-11", "2025-12"])
    assert [(r["code"], r["rank"], r["total"]) for r in provisional["rows"]] == [
        ("LJ-01", 1, 99), ("LJ-03", 1, 99), ("LJ-02", 3, Decimal("95.33"))]  # (97 + 99 + 90) / 3
    official_tag = client.get(world.url("/leaderboard?period=2025-Q4"), headers=world.headers("wall")).headers["ETag"]
    assert response.headers["ETag"] != official_tag

    empty = api.board(period="2025-Q3")
    assert empty["months"] == [] and all(r["assessed"] is False for r in empty["rows"])
    for bad in ("2025-Q0", "2025-Q5", "2025Q4", "2025-q4"):
        api.problem(client.get(world.url(f"/leaderboard?period={bad}"), headers=world.headers()), 422, "period")
