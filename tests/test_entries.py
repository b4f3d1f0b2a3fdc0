"""Entries, the score postings from the tablets (CONTRACT.md §3 "Entries")."""
import json
import uuid
from decimal import Decimal

import pytest
from conftest import entry
from core_support import assert_problem, board, dump_tables, headers_for


def post(client, world, body, who="sup1"):
    return client.post(world.url("/entries"), json=body, headers=world.headers(who))


def listed(client, world, query="", who="admin"):
    r = client.get(world.url(f"/entries{query}"), headers=world.headers(who))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_supervisor_posts_an_entry_and_the_board_shows_it(client, world):
    body = entry(points=1.5, team="TJD-1", location={"lat": 36.65, "lon": 117.12})
    r = post(client, world, body)
    assert r.status_code == 201, r.get_json()
    stored = json.loads(r.get_data())
    assert {k: stored[k] for k in body} == body
    assert stored["period"] == "2026-11" and stored["status"] == "counted" and stored["supervisor"] == "sup1"
    assert stored["received_at"] and isinstance(stored["id"], int)
    assert stored["void_reason"] is stored["voided_by"] is stored["voided_at"] is None
    assert listed(client, world) == [r.get_json()]
    row = board(client, world)["LJ-01"]
    assert (row["total"], row["criteria"]["safety"], row["deductions"], row["rank"]) == (98.5, 23.5, 1.5, 1)
    assert board(client, world, board="teams")["TJD-1"]["total"] == 98.5


def test_admin_posts_for_any_section_and_a_zero_deduction_records_an_inspection(client, world):
    r = post(client, world, entry(section="LJ-03", item="E1", criterion="environment", points=0), who="admin")
    assert r.status_code == 201 and r.get_json()["supervisor"] == "admin"
    row = board(client, world)["LJ-03"]
    assert row["assessed"] is True and row["total"] == 100


def test_identical_resend_answers_200_with_the_first_entry_and_stores_nothing(app, client, world):
    body = entry()
    first = post(client, world, body)
    assert first.status_code == 201
    before = dump_tables(app)
    # A tablet resending after a lost answer; the same instant written in UTC is the same content.
    for again in (body, {**body, "observed_at": "2026-11-02T02:15:00Z"}):
        r = post(client, world, again)
        assert r.status_code == 200, r.get_json()
        assert r.get_json() == first.get_json()
    assert dump_tables(app) == before


@pytest.mark.parametrize("change", [{"points": 2}, {"note": "另一条"}, {"item": "S2"}, {"team": "TJD-1"},
                                    {"observed_at": "2026-11-02T10:16:00+08:00"}, {"kind": "bonus"},
                                    {"location": {"lat": 1, "lon": 2}}])
def test_same_client_id_with_other_content_is_a_409(app, client, world, change):
    body = entry()
    first = post(client, world, body).get_json()
    before = dump_tables(app)
    problem = assert_problem(post(client, world, {**body, **change}), 409)
    assert body["client_id"] in problem["detail"]
    assert dump_tables(app) == before
    assert listed(client, world) == [first]


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
    "naive timestamp": ({"observed_at": "2026-11-02T10:15:00"}, "observed_at"),
    "date only": ({"observed_at": "2026-11-02"}, "observed_at"),
    "not a time": ({"observed_at": "yesterday"}, "observed_at"),
    "far in the future": ({"observed_at": "2027-01-01T10:00:00+08:00"}, "observed_at"),
    "unknown field": ({"photo": "x.jpg"}, "photo"),
    "unknown kind": ({"kind": "penalty"}, "kind"),
    "unknown criterion": ({"criterion": "speed"}, "criterion"),
    "no client_id": ({"client_id": None}, "client_id"),
    "client_id with spaces": ({"client_id": "a b"}, "client_id"),
    "latitude out of range": ({"location": {"lat": 91, "lon": 0}}, "location"),
    "location with unknown field": ({"location": {"lat": 1, "lon": 2, "alt": 3}}, "location"),
}


@pytest.mark.parametrize("case", INVALID_ENTRIES, ids=list(INVALID_ENTRIES))
def test_invalid_entry_is_a_422_naming_the_field_and_stores_nothing(app, client, world, case):
    change, field = INVALID_ENTRIES[case]
    body = entry(**change)
    if change.get("points", 0) is None or change.get("client_id", "") is None:
        body = {k: v for k, v in body.items() if v is not None or k not in change}
    before = dump_tables(app)
    assert_problem(post(client, world, body), 422, field)
    assert dump_tables(app) == before


def test_a_bonus_may_name_no_item(client, world):
    r = post(client, world, entry(kind="bonus", item=None, criterion="quality", points=2))
    assert r.status_code == 201 and r.get_json()["item"] is None
    assert board(client, world)["LJ-01"]["bonus"] == 2


@pytest.mark.parametrize("who,status", [("sup2", 403), ("viewer", 403), ("wall", 403), (None, 401), ("bad", 401)])
def test_who_may_post_for_section_lj01(app, client, world, who, status):
    before = dump_tables(app)
    r = client.post(world.url("/entries"), json=entry(), headers=headers_for(world, who))
    problem = assert_problem(r, status)
    if who == "sup2":
        assert "LJ-01" in problem["detail"] or "LJ-01" in str(problem.get("errors"))
    assert dump_tables(app) == before


def test_post_with_malformed_json_is_a_400(client, world):
    for raw in (b'{"client_id": "x",', b"", b"null"):
        r = client.post(world.url("/entries"), data=raw, content_type="application/json", headers=world.headers("sup1"))
        assert_problem(r, 400)
    assert_problem(post(client, world, ["not", "an", "entry"]), 422)


# -- batches ----------------------------------------------------------------------------------------

def batch(client, world, entries, who="sup1"):
    r = client.post(world.url("/entries"), json={"entries": entries}, headers=world.headers(who))
    assert r.status_code == 200, r.get_data(as_text=True)[:1000]
    return r.get_json()["results"]


def test_batch_reports_each_entry_in_order_and_one_bad_entry_blocks_nothing(client, world):
    stored = entry()
    assert post(client, world, stored).status_code == 201
    sent = [entry(points=1), stored, {**stored, "points": 3}, entry(points=-1), entry(section="LJ-02"),
            entry(item="Q1"), "not an object", entry(kind="bonus", item=None, points=0.5)]
    results = batch(client, world, sent)
    assert [r["status"] for r in results] == ["created", "duplicate", "conflict", "invalid", "invalid", "invalid",
                                              "invalid", "created"]
    assert [r["client_id"] for r in results] == [e["client_id"] if isinstance(e, dict) else None for e in sent]
    assert "points" in results[3]["errors"] and "section" in results[4]["errors"] and "item" in results[5]["errors"]
    assert results[1]["id"] == listed(client, world)[0]["id"]
    stored_ids = {e["client_id"]: e["id"] for e in listed(client, world)}
    assert stored_ids == {sent[i]["client_id"]: results[i]["id"] for i in (0, 1, 7)}
    row = board(client, world)["LJ-01"]
    assert (row["deductions"], row["bonus"]) == (2, 0.5)


def test_batch_of_500_is_stored_and_501_is_a_422(app, client, world):
    too_many = [entry(points=0.01) for _ in range(501)]
    before = dump_tables(app)
    r = client.post(world.url("/entries"), json={"entries": too_many}, headers=world.headers("sup1"))
    assert_problem(r, 422, "entries")
    assert dump_tables(app) == before
    results = batch(client, world, too_many[:500])
    assert [r["status"] for r in results] == ["created"] * 500
    assert listed(client, world, "?per_page=1", who="viewer") and \
        client.get(world.url("/entries"), headers=world.headers()).headers["X-Total-Count"] == "500"
    assert board(client, world)["LJ-01"]["deductions"] == 5


def test_same_client_id_twice_inside_one_batch(client, world):
    same, other = entry(), entry()
    results = batch(client, world, [same, same, other, {**other, "points": 9}])
    assert [r["status"] for r in results] == ["created", "duplicate", "created", "conflict"]
    assert results[0]["id"] == results[1]["id"] and results[2]["id"] == results[3]["id"]
    assert len(listed(client, world)) == 2
    assert board(client, world)["LJ-01"]["deductions"] == 2


@pytest.mark.parametrize("body", [{"entries": []}, {"entries": "all"}, {"entries": [entry()], "device": "x"}])
def test_malformed_batch_is_a_422(app, client, world, body):
    before = dump_tables(app)
    assert_problem(client.post(world.url("/entries"), json=body, headers=world.headers("sup1")), 422)
    assert dump_tables(app) == before


# -- periods -----------------------------------------------------------------------------------------

def test_period_is_the_month_in_shanghai_across_midnight(client, world):
    before_midnight = post(client, world, entry(observed_at="2026-10-31T23:30:00+08:00")).get_json()
    after_midnight = post(client, world, entry(observed_at="2026-10-31T16:30:00Z")).get_json()
    assert before_midnight["period"] == "2026-10"
    assert after_midnight["period"] == "2026-11"
    assert after_midnight["observed_at"] == "2026-11-01T00:30:00+08:00"
    assert [e["client_id"] for e in listed(client, world, "?period=2026-11")] == [after_midnight["client_id"]]
    assert board(client, world, "2026-10")["LJ-01"]["deductions"] == 1
    assert board(client, world, "2026-11")["LJ-01"]["deductions"] == 1


def test_entries_of_a_closed_month_are_late_and_do_not_change_its_standings(client, world):
    assert post(client, world, entry(observed_at="2026-10-10T09:00:00+08:00", points=2)).status_code == 201
    r = client.post(world.url("/periods/2026-10/close"), headers=world.headers())
    assert r.status_code == 200
    closed_board = board(client, world, "2026-10")
    late = post(client, world, entry(observed_at="2026-10-20T09:00:00+08:00", points=5))
    assert late.status_code == 201 and late.get_json()["status"] == "late"
    results = batch(client, world, [entry(observed_at="2026-10-21T09:00:00+08:00"), entry()])
    assert [r["status"] for r in results] == ["created", "created"]
    assert board(client, world, "2026-10") == closed_board
    late_ids = [e["id"] for e in listed(client, world, "?status=late")]
    assert late_ids == [late.get_json()["id"], results[0]["id"]]
    assert [e["status"] for e in listed(client, world, "?period=2026-11")] == ["counted"]


# -- voids ---------------------------------------------------------------------------------------------

def void(client, world, entry_id, who="sup1", reason="录入错误"):
    return client.post(f"/api/v1/entries/{entry_id}/void", json={"reason": reason}, headers=world.headers(who))


def test_supervisor_voids_own_entry_it_stays_and_stops_counting(client, world):
    stored = post(client, world, entry(points=4)).get_json()
    post(client, world, entry(points=1))
    assert board(client, world)["LJ-01"]["deductions"] == 5
    r = void(client, world, stored["id"])
    assert r.status_code == 200, r.get_json()
    voided = r.get_json()
    assert voided["status"] == "void" and voided["void_reason"] == "录入错误" and voided["voided_by"] == "sup1"
    assert voided["voided_at"] and {k: voided[k] for k in ("client_id", "points", "note")} == \
        {k: stored[k] for k in ("client_id", "points", "note")}
    assert board(client, world)["LJ-01"]["deductions"] == 1
    assert [e["id"] for e in listed(client, world, "?status=void")] == [stored["id"]]
    assert len(listed(client, world)) == 2
    assert_problem(void(client, world, stored["id"]), 409)
    assert_problem(void(client, world, stored["id"], who="admin"), 409)
    assert board(client, world)["LJ-01"]["deductions"] == 1


def test_void_boundaries(app, client, world):
    mine = post(client, world, entry()).get_json()
    admins = post(client, world, entry(), who="admin").get_json()
    october = post(client, world, entry(observed_at="2026-10-05T08:00:00+08:00")).get_json()
    assert client.post(world.url("/periods/2026-10/close"), headers=world.headers()).status_code == 200
    before = dump_tables(app)
    for entry_id, who, status in ((mine["id"], "sup2", 403), (admins["id"], "sup1", 403),
                                  (october["id"], "sup1", 403), (mine["id"], "viewer", 403),
                                  (mine["id"], "wall", 403), (999999, "admin", 404)):
        assert_problem(void(client, world, entry_id, who=who), status)
    assert_problem(client.post(f"/api/v1/entries/{mine['id']}/void", json={"reason": "x"}), 401)
    for body in ({}, {"reason": ""}, {"reason": "x", "by": "me"}):
        r = client.post(f"/api/v1/entries/{mine['id']}/void", json=body, headers=world.headers("sup1"))
        assert_problem(r, 422)
    assert dump_tables(app) == before
    # The office voids anything, a closed month included.
    for target in (mine, admins, october):
        r = void(client, world, target["id"], who="admin", reason="复核撤销")
        assert r.status_code == 200 and r.get_json()["voided_by"] == "admin"


# -- listing ---------------------------------------------------------------------------------------------

def test_filters_and_pagination(client, world):
    posted = [
        post(client, world, entry(team="TJD-1", criterion="quality", item="Q1")).get_json(),
        post(client, world, entry(section="LJ-02", team="TJD-2"), who="sup2").get_json(),
        post(client, world, entry(section="LJ-03", observed_at="2026-10-03T08:00:00+08:00"), who="sup2").get_json(),
        post(client, world, entry()).get_json(),
    ]
    ids = [e["id"] for e in posted]

    def ids_for(query):
        return [e["id"] for e in listed(client, world, query, who="viewer")]

    assert ids_for("") == ids
    assert ids_for("?period=2026-10") == [ids[2]]
    assert ids_for("?period=2026-11&section=LJ-01") == [ids[0], ids[3]]
    assert ids_for("?team=TJD-2") == [ids[1]]
    assert ids_for("?criterion=quality") == [ids[0]]
    assert ids_for("?status=counted&section=LJ-03") == [ids[2]]
    assert ids_for("?status=late") == [] and ids_for("?section=LJ-99") == []
    page = client.get(world.url("/entries?per_page=3&page=2&section=LJ-01"), headers=world.headers())
    assert page.get_json() == [] and page.headers["X-Total-Count"] == "2"
    page = client.get(world.url("/entries?per_page=3"), headers=world.headers())
    assert [e["id"] for e in page.get_json()] == ids[:3] and page.headers["X-Total-Count"] == "4"
    assert 'rel="next"' in page.headers["Link"] and "per_page=3" in page.headers["Link"]
    for bad in ("period=2026-13", "period=Nov", "criterion=speed", "status=deleted", "per_page=501", "colour=red"):
        r = client.get(world.url(f"/entries?{bad}"), headers=world.headers())
        assert r.status_code in (200, 422), bad
        if bad != "colour=red":
            assert_problem(r, 422)
    assert_problem(client.get(world.url("/entries"), headers=world.headers("wall")), 403)


def test_points_are_exact_decimals(client, world):
    for points in (0.1, 0.2):
        assert post(client, world, entry(kind="bonus", item=None, points=points)).status_code == 201
    r = client.get(world.url("/leaderboard?period=2026-11"), headers=world.headers("viewer"))
    text = r.get_data(as_text=True)
    row = {row["code"]: row for row in r.get_json()["rows"]}["LJ-01"]
    # Read back as decimals, so 0.30000000000000004 would not pass for 0.3.
    assert (row["bonus"], row["criteria"]["safety"], row["total"]) == (Decimal("0.3"), Decimal("25.3"),
                                                                       Decimal("100.3"))
    assert '"bonus": 0.3,' in text and '"total": 100.3,' in text
    assert [e["points"] for e in listed(client, world)] == [Decimal("0.1"), Decimal("0.2")]


def test_many_small_deductions_sum_exactly(client, world):
    results = batch(client, world, [entry(item="S2", points=0.07) for _ in range(30)])
    assert {r["status"] for r in results} == {"created"}
    row = board(client, world)["LJ-01"]
    assert (row["deductions"], row["criteria"]["safety"], row["total"]) == (Decimal("2.1"), Decimal("22.9"),
                                                                            Decimal("97.9"))


def test_client_id_is_per_competition(client, world):
    from conftest import competition_body

    other = client.post("/api/v1/competitions", json=competition_body(name="另一赛"),
                        headers=world.headers()).get_json()
    client.post(f"/api/v1/competitions/{other['id']}/sections", headers=world.headers(),
                json={"code": "LJ-01", "name": "x", "start_km": 0, "end_km": 1, "contractor": "c"})
    body = entry(client_id=str(uuid.uuid4()))
    assert post(client, world, body, who="admin").status_code == 201
    r = client.post(f"/api/v1/competitions/{other['id']}/entries", json=body, headers=world.headers())
    assert r.status_code == 201
    # sup1 is assigned LJ-01 of the first competition only.
    r = client.post(f"/api/v1/competitions/{other['id']}/entries", json=entry(), headers=world.headers("sup1"))
    assert_problem(r, 403)
