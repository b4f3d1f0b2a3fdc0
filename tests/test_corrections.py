"""Places and words change (CONTRACT.md §3 "People and places change"): a typo in a section's name, a new
contractor or chainage range, a team's new leader, a team disbanded in June — on record, shown at once on
the live boards, the wall, the exports and the next report, while a closed month keeps the words of its time.
The scoring rules never change. People: test_people.py."""
from __future__ import annotations

import csv
import io

import pytest
from conftest import LiveServer
from playwright.sync_api import expect

OLD, NEW = "一标段", "顾官屯标段"  # NEW does not contain OLD: each is found only where it belongs


@pytest.fixture
def correct(client, world, api):
    """`correct(path, body, status=200)`: PATCH a path of the world's competition as the office; the answer."""

    def correct(path: str, body: dict, status: int = 200, who: str = "admin") -> dict:
        return api.answer(client.patch(world.url(path), json=body, headers=world.headers(who)), status)

    return correct


def csv_text(api, path: str) -> str:
    return api.get(path, "viewer").data.decode("utf-8-sig")


def subject_line(text: str, code: str) -> str:
    """The CSV line of one subject (its code in the second column)."""
    (line,) = [row for row in csv.reader(io.StringIO(text)) if len(row) > 1 and row[1] == code]
    return ",".join(line)


# -- a renamed section --------------------------------------------------------------------------------

def test_a_renamed_section_is_new_on_live_boards_exports_and_the_next_report_old_in_last_month(
        client, world, api, months, correct):
    last = months.last
    api.post(month=last, points=1, who="sup1")
    api.post(month=last, section="LJ-02", points=2, who="sup2")
    api.close(last)  # LJ-01 wins last month's red flag as 一标段
    stale = api.get("/leaderboard?board=sections&period=current", "wall").headers["ETag"]

    section = correct("/sections/LJ-01", {"name": NEW, "reason": "更正标段名称"})
    assert section["name"] == NEW and section["code"] == "LJ-01"
    api.post(points=1.5, who="sup1")

    # The wall's next poll, carrying the tag it had, gets the new name (no worker keeps the old board).
    polled = client.get(world.url("/leaderboard?board=sections&period=current"),
                        headers={**world.headers("wall"), "If-None-Match": stale})
    assert polled.status_code == 200
    rows = {row["code"]: row for row in polled.get_json()["rows"]}
    assert rows["LJ-01"]["name"] == NEW and rows["LJ-01"]["total"] == 98.5
    assert polled.get_json()["flag"] == {"period": last, "section": "LJ-01", "name": NEW}  # held now, named now

    # Last month's snapshot keeps the name of its close, and so does its red flag.
    closed = api.board(last)
    assert {row["code"]: row["name"] for row in closed["rows"]}["LJ-01"] == OLD
    assert closed["flag"] == {"period": last, "section": "LJ-01", "name": OLD}
    listed = {p["key"]: p for p in api.get("/periods", "admin").get_json()}
    assert listed[last]["flag"] == {"section": "LJ-01", "name": OLD}  # the month's list agrees with its board
    assert api.rows(months.year)["LJ-01"]["name"] == NEW  # the year board is live: today's names

    this_csv = csv_text(api, f"/exports/standings.csv?board=sections&period={months.this}")
    assert NEW in subject_line(this_csv, "LJ-01") and OLD not in this_csv
    last_csv = csv_text(api, f"/exports/standings.csv?board=sections&period={last}")
    assert OLD in subject_line(last_csv, "LJ-01") and NEW not in last_csv
    assert NEW in csv_text(api, f"/exports/entries.csv?period={months.this}")

    # The next report (this month's, closed now) says the new name; last month's report its old one.
    api.close(months.this)
    report = api.get(f"/reports/{months.this}?format=text").data.decode()
    assert f"LJ-01 {NEW}  总分 98.5" in report
    old_report = api.get(f"/reports/{last}?format=text").data.decode()
    assert f"LJ-01 {OLD}  总分 99" in old_report and f"LJ-01 {NEW}  总分" not in old_report

    (event,) = api.audit("?action=section.updated")
    assert (event["actor"], event["reason"]) == ("admin", "更正标段名称")
    assert event["detail"] == {"code": "LJ-01", "before": {"name": OLD}, "after": {"name": NEW}}


@pytest.mark.browser
def test_the_wall_shows_a_renamed_section_without_a_reload(page, client, world, api, database_url, correct):
    api.post(who="sup1")
    server = LiveServer(database_url, workers=1).start()
    try:
        page.goto(f"{server.url}/wall/{world.cid}?token={world.tokens['wall']}")
        name = page.locator("#board-sections .row[data-code='LJ-01'] .name .text")
        expect(name).to_have_text(OLD, timeout=15_000)
        correct("/sections/LJ-01", {"name": NEW})
        correct("", {"name": "市大外环五比五赛（2027）"})
        expect(name).to_have_text(NEW, timeout=15_000)  # the page polls every 5 s
        expect(page.locator("#competition-name")).to_have_text("市大外环五比五赛（2027）", timeout=15_000)
        assert page.console_errors == []
    finally:
        server.stop()


# -- words of the rulebook ----------------------------------------------------------------------------

def test_words_of_the_rulebook_are_corrected_and_shown(client, world, api, months, correct):
    api.post(who="sup1", criterion="safety", item="S2", points=1)
    words = {"name": "市大外环五比五赛（更正）", "organizer": "市公路事业发展中心外环指挥部"}
    competition = correct("", words)
    assert (competition["name"], competition["organizer"]) == (words["name"], words["organizer"])
    assert correct("/criteria/safety", {"name": "比平安稳定、赛安全生产管理"})["name"] == "比平安稳定、赛安全生产管理"
    item = correct("/criteria/safety/items/S2", {"name": "安全管理制度", "reason": "与考核细则原文一致"})
    assert item == {"code": "S2", "name": "安全管理制度", "max_points": 10}

    detail = api.get("", "viewer").get_json()
    safety = next(c for c in detail["criteria"] if c["code"] == "safety")
    assert safety["name"] == "比平安稳定、赛安全生产管理" and safety["weight"] == 25
    assert [i["name"] for i in safety["items"]] == ["安全防护", "安全管理制度"]
    assert api.board()["competition"]["name"] == "市大外环五比五赛（更正）"
    assert "安全管理制度" in csv_text(api, f"/exports/entries.csv?period={months.this}")
    actions = [(e["action"], e["target"].split(":")[0]) for e in api.audit()[-3:]]
    assert actions == [("competition.updated", "competition"), ("criterion.updated", "criterion"),
                       ("item.updated", "item")]
    assert api.audit("?action=item.updated")[0]["detail"] == {
        "code": "S2", "before": {"name": "安全管理"}, "after": {"name": "安全管理制度"}}


SCORING_FIELDS = [
    ("", {"tie_break": ["quality", "safety", "schedule", "environment", "management"]}, "tie_break"),
    ("", {"general_bonus_cap": 5}, "general_bonus_cap"),
    ("", {"criteria": []}, "criteria"),
    ("/criteria/safety", {"weight": 30}, "weight"),
    ("/criteria/safety", {"bonus_cap": 5, "name": "安全"}, "bonus_cap"),
    ("/criteria/safety/items/S1", {"max_points": 20}, "max_points"),
]


def test_scoring_fields_are_immutable_and_the_422_says_so(client, world, api):
    before = api.stored()
    for path, body, field in SCORING_FIELDS:
        problem = api.problem(client.patch(world.url(path), json=body, headers=world.headers()), 422, field)
        assert "不能修改" in problem["errors"][field][0], (path, problem)
    assert api.stored() == before


BAD = [
    ("", {"nickname": "外环"}, 422, "nickname"),  # unknown field
    ("", {"name": ""}, 422, "name"),
    ("", {"organizer": "   "}, 422, "organizer"),
    ("", {"timezone": "Asia/Urumqi"}, 422, "timezone"),
    ("/criteria/safety", {"name": None}, 422, "name"),
    ("/criteria/safety", {"code": "safe"}, 422, "code"),
    ("/criteria/safety/items/S1", {"name": "防护\n【一票否决】"}, 422, "name"),
    ("/sections/LJ-01", {"start_km": 20, "end_km": 10}, 422, "end_km"),  # inverted
    ("/sections/LJ-01", {"end_km": 0}, 422, "end_km"),  # inverted against the stored start
    ("/sections/LJ-02", {"start_km": 30}, 422, "start_km"),  # inverted against the stored end
    ("/sections/LJ-01", {"start_km": -1}, 422, "start_km"),
    ("/sections/LJ-01", {"name": ""}, 422, "name"),
    ("/sections/LJ-01", {"code": "LJ-11"}, 422, "code"),
    ("/sections/LJ-01", {"lanes": 4}, 422, "lanes"),
    ("/teams/TJD-1", {"section": "LJ-02"}, 422, "section"),
    ("/teams/TJD-1", {"active": "no"}, 422, "active"),
    ("/teams/TJD-1", {"leader": ""}, 422, "leader"),
    ("/sections/LJ-99", {"name": "九"}, 404, None),
    ("/teams/TJD-99", {"name": "九"}, 404, None),
    ("/criteria/speed", {"name": "速度"}, 404, None),
    ("/criteria/quality/items/S1", {"name": "安全"}, 404, None),  # S1 is safety's
]


def test_bad_corrections_change_nothing(client, world, api):
    before = api.stored()
    for path, body, status, field in BAD:
        api.problem(client.patch(world.url(path), json={**body, "reason": "试试"}, headers=world.headers()), status,
                    *filter(None, [field]))
    api.problem(client.patch("/api/v1/competitions/999/sections/LJ-01", json={"name": "一"},
                             headers=world.headers()), 404)
    assert api.stored() == before


# -- a section's contractor and range -------------------------------------------------------------------

def test_a_new_range_keeps_stored_entries_and_checks_new_ones(client, world, api, correct):
    outside_later = api.post(chainage="K14+500", who="sup1", points=2)
    section = correct("/sections/LJ-01", {"end_km": 14, "contractor": "中交一公局", "reason": "标段调整"})
    assert (section["end_km"], section["contractor"], section["chainage"]) == (14, "中交一公局", "K0+000–K14+000")

    stored = api.get("/entries?section=LJ-01").get_json()
    assert [(e["id"], e["chainage"], e["status"]) for e in stored] == [(outside_later["id"], "K14+500", "counted")]
    assert api.rows()["LJ-01"]["total"] == 98
    api.problem(client.post(world.url("/entries"), json=api.entry(chainage="K14+500"), headers=world.headers("sup1")),
                422, "chainage")
    assert api.post(chainage="K13+990", who="sup1")["chainage"] == "K13+990"
    (event,) = api.audit("?action=section.updated")
    assert event["detail"]["before"] == {"end_km": "15.000", "contractor": "山东路桥集团"}
    assert event["detail"]["after"] == {"end_km": "14.000", "contractor": "中交一公局"}


# -- teams: a new leader, a team disbanded --------------------------------------------------------------

def test_a_team_gets_a_new_leader(api, correct):
    assert correct("/teams/TJD-1", {"leader": "徐小军", "reason": "徐大军调任"})["leader"] == "徐小军"
    listed = {t["code"]: t for t in api.get("/teams", "viewer").get_json()}
    assert listed["TJD-1"]["leader"] == "徐小军" and listed["TJD-1"]["active"] is True
    (event,) = api.audit("?action=team.updated")
    assert (event["detail"]["before"], event["detail"]["after"]) == ({"leader": "徐大军"}, {"leader": "徐小军"})


def test_a_disbanded_team_takes_no_entries_and_keeps_its_past(client, world, api, months, correct):
    last = months.last
    api.post(month=last, team="TJD-1", points=0.5, who="sup1")
    api.post(month=last, section="LJ-02", team="TJD-2", points=3, who="sup2")
    api.close(last)
    before = api.entry(team="TJD-1", points=1)
    stored = api.post(before, who="sup1")  # this month, before it is disbanded

    team = correct("/teams/TJD-1", {"active": False, "reason": "任务完成，突击队解散"})
    assert team["active"] is False

    refused = api.problem(client.post(world.url("/entries"), json=api.entry(team="TJD-1"),
                                      headers=world.headers("sup1")), 422, "team")
    assert "解散" in refused["errors"]["team"][0]
    batch = api.answer(client.post(world.url("/entries"), json={"entries": [
        api.entry(team="TJD-1"), api.entry(team=None)]}, headers=world.headers("sup1")))
    assert [r["status"] for r in batch["results"]] == ["invalid", "created"]
    # A tablet resending what it posted before the team was disbanded gets its stored entry, as any resend.
    assert api.post(before, who="sup1", status=200)["id"] == stored["id"]
    changed = api.post({**before, "points": 2}, who="sup1", status=422)
    assert "解散" in changed["errors"]["team"][0]

    # Its past stays: last month's board still ranks it first, and this month's entry from before still counts.
    assert [(r["code"], r["rank"]) for r in api.board(last, "teams")["rows"][:2]] == [("TJD-1", 1), ("TJD-2", 2)]
    assert api.rows(kind="teams")["TJD-1"]["total"] == 99
    assert api.rows(last[:4], kind="teams")["TJD-1"]["assessed"] is True  # the year of its closed month
    # Brought back (a decision reversed): it takes entries again.
    correct("/teams/TJD-1", {"active": True, "reason": "撤销解散"})
    api.post(team="TJD-1", who="sup1")
    assert [e["detail"]["after"] for e in api.audit("?action=team.updated")] == [{"active": False}, {"active": True}]


def test_a_correction_to_the_same_value_records_nothing(api, correct):
    correct("/sections/LJ-02", {"name": "二标段", "start_km": 15, "end_km": 30.0})
    correct("/teams/TJD-2", {})
    assert api.audit("?action=section.updated") == [] and api.audit("?action=team.updated") == []
