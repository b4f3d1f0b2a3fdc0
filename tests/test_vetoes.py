"""一票否决: vetoes and their revocation (CONTRACT.md §3 "Vetoes", §4)."""
import pytest
from conftest import entry
from core_support import assert_problem, board, dump_tables, headers_for


def veto(client, world, who="admin", **body):
    body = {"section": "LJ-01", "period": "2026-11", "reason": "发生一般安全事故", **body}
    return client.post(world.url("/vetoes"), json=body, headers=headers_for(world, who))


def revoke(client, world, veto_id, who="admin", reason="复核后撤销"):
    return client.post(world.url(f"/vetoes/{veto_id}/revoke"), json={"reason": reason}, headers=headers_for(world, who))


@pytest.fixture
def scored(client, world):
    """Deductions in November for LJ-01 (via TJD-1) and LJ-02; LJ-03 is not assessed."""
    for body, who in ((entry(points=1, team="TJD-1"), "sup1"), (entry(section="LJ-02", points=2), "sup2"),
                      (entry(observed_at="2026-10-09T09:00:00+08:00"), "sup1")):
        assert client.post(world.url("/entries"), json=body, headers=world.headers(who)).status_code == 201


def test_a_vetoed_section_keeps_its_scores_on_show_but_has_no_rank(client, world, scored):
    r = veto(client, world)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert {k: created[k] for k in ("section", "team", "period", "reason", "created_by", "revoked")} == \
        {"section": "LJ-01", "team": None, "period": "2026-11", "reason": "发生一般安全事故",
         "created_by": "admin", "revoked": False}
    rows = board(client, world)
    assert (rows["LJ-01"]["vetoed"], rows["LJ-01"]["total"], rows["LJ-01"]["rank"]) == (True, 0, None)
    assert rows["LJ-01"]["veto_reason"] == "发生一般安全事故" and rows["LJ-01"]["criteria"]["safety"] == 24
    assert (rows["LJ-02"]["rank"], rows["LJ-02"]["vetoed"]) == (1, False)
    assert board(client, world, "2026-10")["LJ-01"]["vetoed"] is False  # another month
    assert board(client, world, board="teams")["TJD-1"]["vetoed"] is False  # a section veto spares its teams
    assert client.get(world.url("/vetoes"), headers=world.headers("viewer")).get_json() == [created]


def test_a_team_veto_vetoes_the_team_and_its_section(client, world, scored):
    r = veto(client, world, team="TJD-1", reason="突击队违规作业")
    assert r.status_code == 201 and r.get_json()["team"] == "TJD-1"
    assert board(client, world, board="teams")["TJD-1"]["vetoed"] is True
    assert board(client, world)["LJ-01"]["vetoed"] is True
    assert board(client, world)["LJ-02"]["vetoed"] is False


def test_revoking_lifts_the_veto_and_leaves_it_on_record(client, world, scored):
    created = veto(client, world).get_json()
    r = revoke(client, world, created["id"])
    assert r.status_code == 200, r.get_json()
    revoked = r.get_json()
    assert (revoked["revoked"], revoked["revoke_reason"], revoked["revoked_by"]) == (True, "复核后撤销", "admin")
    assert revoked["revoked_at"] and revoked["reason"] == created["reason"]
    rows = board(client, world)
    assert (rows["LJ-01"]["vetoed"], rows["LJ-01"]["rank"], rows["LJ-01"]["total"]) == (False, 1, 99)
    assert client.get(world.url("/vetoes"), headers=world.headers()).get_json() == [revoked]
    assert_problem(revoke(client, world, created["id"]), 409)
    assert_problem(revoke(client, world, 999999), 404)


def test_list_filters(client, world):
    ids = [veto(client, world, **body).get_json()["id"] for body in (
        {}, {"section": "LJ-02", "period": "2026-10"}, {"section": "LJ-02", "team": "TJD-2"})]

    def listed(query):
        r = client.get(world.url(f"/vetoes{query}"), headers=world.headers("sup1"))
        assert r.status_code == 200
        return [v["id"] for v in r.get_json()]

    assert listed("") == ids
    assert listed("?period=2026-11") == [ids[0], ids[2]]
    assert listed("?section=LJ-02") == ids[1:]
    assert listed("?section=LJ-02&period=2026-10&per_page=1") == [ids[1]]
    assert_problem(client.get(world.url("/vetoes?period=11-2026"), headers=world.headers()), 422, "period")


INVALID_VETOES = {
    "unknown section": ({"section": "LJ-99"}, "section"),
    "unknown team": ({"team": "TJD-9"}, "team"),
    "team of another section": ({"team": "TJD-2"}, "team"),
    "period not a month": ({"period": "2026-13"}, "period"),
    "period a year": ({"period": "2026"}, "period"),
    "no reason": ({"reason": ""}, "reason"),
    "unknown field": ({"severity": "high"}, "severity"),
}


@pytest.mark.parametrize("case", INVALID_VETOES, ids=list(INVALID_VETOES))
def test_invalid_veto_is_a_422_and_stores_nothing(app, client, world, case):
    change, field = INVALID_VETOES[case]
    before = dump_tables(app)
    assert_problem(veto(client, world, **change), 422, field)
    assert dump_tables(app) == before


@pytest.mark.parametrize("who,status", [("sup1", 403), ("viewer", 403), ("wall", 403), (None, 401), ("bad", 401)])
def test_only_admin_vetoes_and_revokes(app, client, world, who, status):
    created = veto(client, world).get_json()
    before = dump_tables(app)
    assert_problem(veto(client, world, who=who, section="LJ-02"), status)
    assert_problem(revoke(client, world, created["id"], who=who), status)
    assert dump_tables(app) == before
    if who == "wall":
        assert_problem(client.get(world.url("/vetoes"), headers=world.headers("wall")), 403)


def test_a_veto_of_another_competition_is_not_found_here(client, world):
    from conftest import competition_body

    other = client.post("/api/v1/competitions", json=competition_body(name="另一赛"), headers=world.headers())
    other_id = other.get_json()["id"]
    created = veto(client, world).get_json()
    r = client.post(f"/api/v1/competitions/{other_id}/vetoes/{created['id']}/revoke", json={"reason": "x"},
                    headers=world.headers())
    assert_problem(r, 404)
    assert client.get(world.url("/vetoes"), headers=world.headers()).get_json()[0]["revoked"] is False
