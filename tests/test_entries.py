"""Entries, the score postings from the tablets (CONTRACT.md §3 "Entries")."""
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from conftest import SHANGHAI, competition_body


def listed(api, query="", who="admin"):
    return api.get(f"/entries{query}", who).get_json()


def test_supervisor_posts_an_entry_and_the_board_shows_it(client, world, api, months):
    body = api.entry(points=1.5, team="TJD-1", location={"lat": 36.65, "lon": 117.12})
    r = client.post(world.url("/entries"), json=body, headers=world.headers("sup1"))
    assert r.status_code == 201, r.get_json()
    stored = json.loads(r.get_data())
    assert {k: stored[k] for k in body} == body
    assert stored["period"] == months.this and stored["status"] == "counted" and stored["supervisor"] == "sup1"
    assert stored["received_at"] and isinstance(stored["id"], int)
    assert stored["void_reason"] is stored["voided_by"] is stored["voided_at"] is None
    assert listed(api) == [r.get_json()]
    row = api.rows()["LJ-01"]
    assert (row["total"], row["criteria"]["safety"], row["deductions"], row["rank"]) == (98.5, 23.5, 1.5, 1)
    assert api.rows(kind="teams")["TJD-1"]["total"] == 98.5


def test_admin_posts_for_any_section_and_a_zero_deduction_records_an_inspection(api):
    posted = api.post(section="LJ-03", item="E1", criterion="environment", points=0, who="admin")
    assert posted["supervisor"] == "admin"
    row = api.rows()["LJ-03"]
    assert row["assessed"] is True and row["total"] == 100


def test_identical_resend_answers_200_with_the_first_entry_and_stores_nothing(api):
    body = api.entry()
    first = api.post(body, who="sup1")
    before = api.stored()
    # A tablet resending after a lost answer; the same instant written in UTC is the same content.
    in_utc = datetime.fromisoformat(body["observed_at"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for again in (body, {**body, "observed_at": in_utc}):
        assert api.post(again, who="sup1", status=200) == first
    assert api.stored() == before


@pytest.mark.parametrize("change", [{"points": 2}, {"note": "另一条"}, {"item": "S2"}, {"team": "TJD-1"},
                                    {"observed_at": "a minute later"}, {"kind": "bonus"},
                                    {"location": {"lat": 1, "lon": 2}}])
def test_same_client_id_with_other_content_is_a_409(api, months, change):
    body = api.entry(observed_at=months.at(months.last, 2, 10, 15))
    if change.get("observed_at"):
        change = {"observed_at": months.at(months.last, 2, 10, 16)}
    first = api.post(body, who="sup1")
    before = api.stored()
    problem = api.post({**body, **change}, who="sup1", status=409)
    assert body["client_id"] in problem["detail"]
    assert api.stored() == before
    assert listed(api) == [first]


INVALID_ENTRIES = {
    "3 decimals": ({"points": 1.555}, "points"),
    "negative points": ({"points": -1}, "points"),
    "points over 100": ({"points": 100.01}, "points"),
    "points as text": ({"points": "1.5"}, "points"),
    "points true": ({"points": True}, "points"),
    "points missing": ({"points": None}, "points"),
    "unknown section": ({"section": "LJ-99"}, "section"),
    "unknown item": ({"item": "S9"}, "item"),
    "unknown team": ({"team": "TJD-9"}, "team"),
    "team of another section": ({"team": "TJD-2"}, "team"),
    "item of another criterion": ({"item": "Q1"}, "item"),
    "deduction without item": ({"item": None}, "item"),
    "naive timestamp": ({"observed_at": "2025-11-02T10:15:00"}, "observed_at"),
    "date only": ({"observed_at": "2025-11-02"}, "observed_at"),
    "not a time": ({"observed_at": "yesterday"}, "observed_at"),
    "far in the future": ({"observed_at": "next month"}, "observed_at"),  # beyond the 24 h of slack
    "unknown field": ({"photo": "x.jpg"}, "photo"),
    "unknown kind": ({"kind": "penalty"}, "kind"),
    "unknown criterion": ({"criterion": "speed"}, "criterion"),
    "no client_id": ({"client_id": None}, "client_id"),
    "client_id with spaces": ({"client_id": "a b"}, "client_id"),
    "latitude out of range": ({"location": {"lat": 91, "lon": 0}}, "location"),
    "location with unknown field": ({"location": {"lat": 1, "lon": 2, "alt": 3}}, "location"),
}


@pytest.mark.parametrize("case", INVALID_ENTRIES, ids=list(INVALID_ENTRIES))
def test_invalid_entry_is_a_422_naming_the_field_and_stores_nothing(client, world, api, months, case):
    change, field = INVALID_ENTRIES[case]
    if change.get("observed_at") == "next month":
        change = {"observed_at": months.observed_at(months.next)}
    body = api.entry(**change)
    if change.get("points", 0) is None or change.get("client_id", "") is None:
        body = {k: v for k, v in body.items() if v is not None or k not in change}
    before = api.stored()
    api.problem(client.post(world.url("/entries"), json=body, headers=world.headers("sup1")), 422, field)
    assert api.stored() == before


def test_a_bonus_may_name_no_item(api):
    assert api.post(kind="bonus", item=None, criterion="quality", points=2, who="sup1")["item"] is None
    assert api.rows()["LJ-01"]["bonus"] == 2


@pytest.mark.parametrize("who,status", [("sup2", 403), ("viewer", 403), ("wall", 403), (None, 401), ("bad", 401)])
def test_who_may_post_for_section_lj01(api, who, status):
    before = api.stored()
    problem = api.post(who=who, status=status)
    if who == "sup2":
        assert "LJ-01" in problem["detail"] or "LJ-01" in str(problem.get("errors"))
    assert api.stored() == before


def test_post_with_malformed_json_is_a_400(client, world, api):
    for raw in (b'{"client_id": "x",', b"", b"null"):
        r = client.post(world.url("/entries"), data=raw, content_type="application/json", headers=world.headers("sup1"))
        api.problem(r, 400)
    api.post(["not", "an", "entry"], who="sup1", status=422)


# -- batches ----------------------------------------------------------------------------------------

def batch(client, world, entries, who="sup1"):
    r = client.post(world.url("/entries"), json={"entries": entries}, headers=world.headers(who))
    assert r.status_code == 200, r.get_data(as_text=True)[:1000]
    return r.get_json()["results"]


def test_batch_reports_each_entry_in_order_and_one_bad_entry_blocks_nothing(client, world, api):
    stored = api.entry()
    api.post(stored, who="sup1")
    sent = [api.entry(points=1), stored, {**stored, "points": 3}, api.entry(points=-1), api.entry(section="LJ-02"),
            api.entry(item="Q1"), "not an object", api.entry(kind="bonus", item=None, points=0.5)]
    results = batch(client, world, sent)
    assert [r["status"] for r in results] == ["created", "duplicate", "conflict", "invalid", "invalid", "invalid",
                                              "invalid", "created"]
    assert [r["client_id"] for r in results] == [e["client_id"] if isinstance(e, dict) else None for e in sent]
    assert "points" in results[3]["errors"] and "section" in results[4]["errors"] and "item" in results[5]["errors"]
    assert results[1]["id"] == listed(api)[0]["id"]
    stored_ids = {e["client_id"]: e["id"] for e in listed(api)}
    assert stored_ids == {sent[i]["client_id"]: results[i]["id"] for i in (0, 1, 7)}
    row = api.rows()["LJ-01"]
    assert (row["deductions"], row["bonus"]) == (2, 0.5)


def test_batch_of_500_is_stored_and_501_is_a_422(client, world, api):
    too_many = [api.entry(points=0.01) for _ in range(501)]
    before = api.stored()
    r = client.post(world.url("/entries"), json={"entries": too_many}, headers=world.headers("sup1"))
    api.problem(r, 422, "entries")
    assert api.stored() == before
    results = batch(client, world, too_many[:500])
    assert [r["status"] for r in results] == ["created"] * 500
    assert listed(api, "?per_page=1", who="viewer") and api.get("/entries").headers["X-Total-Count"] == "500"
    assert api.rows()["LJ-01"]["deductions"] == 5


def test_same_client_id_twice_inside_one_batch(client, world, api):
    same, other = api.entry(), api.entry()
    results = batch(client, world, [same, same, other, {**other, "points": 9}])
    assert [r["status"] for r in results] == ["created", "duplicate", "created", "conflict"]
    assert results[0]["id"] == results[1]["id"] and results[2]["id"] == results[3]["id"]
    assert len(listed(api)) == 2
    assert api.rows()["LJ-01"]["deductions"] == 2


MALFORMED_BATCHES = {"empty": lambda entry: {"entries": []}, "not a list": lambda entry: {"entries": "all"},
                     "unknown field": lambda entry: {"entries": [entry], "device": "x"}}


@pytest.mark.parametrize("case", MALFORMED_BATCHES, ids=list(MALFORMED_BATCHES))
def test_malformed_batch_is_a_422(client, world, api, case):
    body = MALFORMED_BATCHES[case](api.entry())
    before = api.stored()
    api.problem(client.post(world.url("/entries"), json=body, headers=world.headers("sup1")), 422)
    assert api.stored() == before


# -- periods -----------------------------------------------------------------------------------------

def test_period_is_the_month_in_shanghai_across_midnight(api, months):
    """Midnight at the start of last month in Shanghai is still the evening before in UTC."""
    midnight = datetime(int(months.last[:4]), int(months.last[5:]), 1, tzinfo=SHANGHAI)
    before_midnight = api.post(who="sup1", observed_at=(midnight - timedelta(minutes=30)).isoformat())
    after_midnight = api.post(who="sup1", observed_at=(midnight + timedelta(minutes=30)).astimezone(UTC)
                              .strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert before_midnight["period"] == months.ago(2)
    assert after_midnight["period"] == months.last
    assert after_midnight["observed_at"] == f"{months.last}-01T00:30:00+08:00"
    assert [e["client_id"] for e in listed(api, f"?period={months.last}")] == [after_midnight["client_id"]]
    assert api.rows(months.ago(2))["LJ-01"]["deductions"] == 1
    assert api.rows(months.last)["LJ-01"]["deductions"] == 1


def test_entries_of_a_closed_month_are_late_and_do_not_change_its_standings(client, world, api, months):
    api.post(observed_at=months.at(months.last, 10, 9), points=2, who="sup1")
    api.close(months.last)
    closed_board = api.rows(months.last)
    late = api.post(observed_at=months.at(months.last, 20, 9), points=5, who="sup1")
    assert late["status"] == "late"
    results = batch(client, world, [api.entry(observed_at=months.at(months.last, 21, 9)), api.entry()])
    assert [r["status"] for r in results] == ["created", "created"]
    assert api.rows(months.last) == closed_board
    late_ids = [e["id"] for e in listed(api, "?status=late")]
    assert late_ids == [late["id"], results[0]["id"]]
    assert [e["status"] for e in listed(api, f"?period={months.this}")] == ["counted"]


# -- voids ---------------------------------------------------------------------------------------------

def test_supervisor_voids_own_entry_it_stays_and_stops_counting(api):
    stored = api.post(points=4, who="sup1")
    api.post(points=1, who="sup1")
    assert api.rows()["LJ-01"]["deductions"] == 5
    voided = api.void(stored["id"], who="sup1")
    assert voided["status"] == "void" and voided["void_reason"] == "录入错误" and voided["voided_by"] == "sup1"
    assert voided["voided_at"] and {k: voided[k] for k in ("client_id", "points", "note")} == \
        {k: stored[k] for k in ("client_id", "points", "note")}
    assert api.rows()["LJ-01"]["deductions"] == 1
    assert [e["id"] for e in listed(api, "?status=void")] == [stored["id"]]
    assert len(listed(api)) == 2
    api.void(stored["id"], who="sup1", status=409)
    api.void(stored["id"], who="admin", status=409)
    assert api.rows()["LJ-01"]["deductions"] == 1


def test_void_boundaries(client, world, api, months):
    mine = api.post(who="sup1")
    admins = api.post(who="admin")
    last_month = api.post(observed_at=months.at(months.last, 5, 8), who="sup1")
    api.close(months.last)
    before = api.stored()
    for entry_id, who, status in ((mine["id"], "sup2", 403), (admins["id"], "sup1", 403),
                                  (last_month["id"], "sup1", 403), (mine["id"], "viewer", 403),
                                  (mine["id"], "wall", 403), (999999, "admin", 404), (mine["id"], None, 401)):
        api.void(entry_id, who=who, reason="x", status=status)
    for body in ({}, {"reason": ""}, {"reason": "x", "by": "me"}):
        r = client.post(f"/api/v1/entries/{mine['id']}/void", json=body, headers=world.headers("sup1"))
        api.problem(r, 422)
    assert api.stored() == before
    # The office voids anything, a closed month included.
    for target in (mine, admins, last_month):
        assert api.void(target["id"], who="admin", reason="复核撤销")["voided_by"] == "admin"


# -- listing ---------------------------------------------------------------------------------------------

def test_filters_and_pagination(client, world, api, months):
    posted = [
        api.post(team="TJD-1", criterion="quality", item="Q1", who="sup1"),
        api.post(section="LJ-02", team="TJD-2", who="sup2"),
        api.post(section="LJ-03", observed_at=months.at(months.last, 3, 8), who="sup2"),
        api.post(who="sup1"),
    ]
    ids = [e["id"] for e in posted]

    def ids_for(query):
        return [e["id"] for e in listed(api, query, who="viewer")]

    assert ids_for("") == ids
    assert ids_for(f"?period={months.last}") == [ids[2]]
    assert ids_for(f"?period={months.this}&section=LJ-01") == [ids[0], ids[3]]
    assert ids_for("?team=TJD-2") == [ids[1]]
    assert ids_for("?criterion=quality") == [ids[0]]
    assert ids_for("?status=counted&section=LJ-03") == [ids[2]]
    assert ids_for("?status=late") == [] and ids_for("?section=LJ-99") == []
    page = client.get(world.url("/entries?per_page=3&page=2&section=LJ-01"), headers=world.headers())
    assert page.get_json() == [] and page.headers["X-Total-Count"] == "2"
    page = client.get(world.url("/entries?per_page=3"), headers=world.headers())
    assert [e["id"] for e in page.get_json()] == ids[:3] and page.headers["X-Total-Count"] == "4"
    assert 'rel="next"' in page.headers["Link"] and "per_page=3" in page.headers["Link"]
    for bad in ("period=2025-13", "period=Nov", "criterion=speed", "status=deleted", "per_page=501", "colour=red"):
        r = client.get(world.url(f"/entries?{bad}"), headers=world.headers())
        assert r.status_code in (200, 422), bad
        if bad != "colour=red":
            api.problem(r, 422)
    api.get("/entries", who="wall", status=403)


def test_points_are_exact_decimals(api):
    for points in (0.1, 0.2):
        api.post(kind="bonus", item=None, points=points, who="sup1")
    r = api.get(f"/leaderboard?period={api.months.this}", who="viewer")
    text = r.get_data(as_text=True)
    row = {row["code"]: row for row in r.get_json()["rows"]}["LJ-01"]
    # Read back as decimals, so 0.30000000000000004 would not pass for 0.3.
    assert (row["bonus"], row["criteria"]["safety"], row["total"]) == (Decimal("0.3"), Decimal("25.3"),
                                                                       Decimal("100.3"))
    assert '"bonus": 0.3,' in text and '"total": 100.3,' in text
    assert [e["points"] for e in listed(api)] == [Decimal("0.1"), Decimal("0.2")]


def test_many_small_deductions_sum_exactly(client, world, api):
    results = batch(client, world, [api.entry(item="S2", points=0.07) for _ in range(30)])
    assert {r["status"] for r in results} == {"created"}
    row = api.rows()["LJ-01"]
    assert (row["deductions"], row["criteria"]["safety"], row["total"]) == (Decimal("2.1"), Decimal("22.9"),
                                                                            Decimal("97.9"))


def test_client_id_is_per_competition(client, world, api):
    other = client.post("/api/v1/competitions", json=competition_body(name="另一赛"),
                        headers=world.headers()).get_json()
    client.post(f"/api/v1/competitions/{other['id']}/sections", headers=world.headers(),
                json={"code": "LJ-01", "name": "x", "start_km": 0, "end_km": 1, "contractor": "c"})
    body = api.entry(client_id=str(uuid.uuid4()))
    api.post(body, who="admin")
    r = client.post(f"/api/v1/competitions/{other['id']}/entries", json=body, headers=world.headers())
    assert r.status_code == 201
    # sup1 is assigned LJ-01 of the first competition only.
    r = client.post(f"/api/v1/competitions/{other['id']}/entries", json=api.entry(), headers=world.headers("sup1"))
    api.problem(r, 403)
