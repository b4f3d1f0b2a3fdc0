"""一票否决: vetoes and their revocation (CONTRACT.md §3 "Vetoes", §4)."""
import pytest
from conftest import competition_body


@pytest.fixture
def scored(api, months):
    """Deductions this month for LJ-01 (via TJD-1) and LJ-02, one last month; LJ-03 is not assessed."""
    api.post(points=1, team="TJD-1", who="sup1")
    api.post(section="LJ-02", points=2, who="sup2")
    api.post(month=months.last, who="sup1")


def test_a_vetoed_section_keeps_its_scores_on_show_but_has_no_rank(api, months, scored):
    created = api.veto()
    assert {k: created[k] for k in ("section", "team", "period", "reason", "created_by", "revoked")} == \
        {"section": "LJ-01", "team": None, "period": months.this, "reason": "发生一般安全事故",
         "created_by": "admin", "revoked": False}
    rows = api.rows()
    assert (rows["LJ-01"]["vetoed"], rows["LJ-01"]["total"], rows["LJ-01"]["rank"]) == (True, 0, None)
    assert rows["LJ-01"]["veto_reason"] == "发生一般安全事故" and rows["LJ-01"]["criteria"]["safety"] == 24
    assert (rows["LJ-02"]["rank"], rows["LJ-02"]["vetoed"]) == (1, False)
    assert api.rows(months.last)["LJ-01"]["vetoed"] is False  # another month
    assert api.rows(kind="teams")["TJD-1"]["vetoed"] is False  # a section veto spares its teams
    assert api.get("/vetoes", who="viewer").get_json() == [created]


def test_a_team_veto_vetoes_the_team_and_its_section(api, scored):
    assert api.veto(team="TJD-1", reason="突击队违规作业")["team"] == "TJD-1"
    assert api.rows(kind="teams")["TJD-1"]["vetoed"] is True
    assert api.rows()["LJ-01"]["vetoed"] is True
    assert api.rows()["LJ-02"]["vetoed"] is False


def test_revoking_lifts_the_veto_and_leaves_it_on_record(api, scored):
    created = api.veto()
    revoked = api.revoke(created["id"])
    assert (revoked["revoked"], revoked["revoke_reason"], revoked["revoked_by"]) == (True, "复核后撤销", "admin")
    assert revoked["revoked_at"] and revoked["reason"] == created["reason"]
    rows = api.rows()
    assert (rows["LJ-01"]["vetoed"], rows["LJ-01"]["rank"], rows["LJ-01"]["total"]) == (False, 1, 99)
    assert api.get("/vetoes").get_json() == [revoked]
    api.revoke(created["id"], status=409)
    api.revoke(999999, status=404)


def test_list_filters(client, world, api, months):
    ids = [api.veto(**body)["id"] for body in (
        {}, {"section": "LJ-02", "period": months.last}, {"section": "LJ-02", "team": "TJD-2"})]

    def listed(query):
        return [v["id"] for v in api.get(f"/vetoes{query}", who="sup1").get_json()]

    assert listed("") == ids
    assert listed(f"?period={months.this}") == [ids[0], ids[2]]
    assert listed("?section=LJ-02") == ids[1:]
    assert listed(f"?section=LJ-02&period={months.last}&per_page=1") == [ids[1]]
    api.problem(client.get(world.url("/vetoes?period=11-2026"), headers=world.headers()), 422, "period")


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
def test_invalid_veto_is_a_422_and_stores_nothing(client, world, api, case):
    change, field = INVALID_VETOES[case]
    before = api.stored()
    api.problem(client.post(world.url("/vetoes"), json={"section": "LJ-01", "period": api.months.this,
                                                         "reason": "发生一般安全事故", **change},
                            headers=world.headers()), 422, field)
    assert api.stored() == before


@pytest.mark.parametrize("who,status", [("sup1", 403), ("viewer", 403), ("wall", 403), (None, 401), ("bad", 401)])
def test_only_admin_vetoes_and_revokes(api, who, status):
    created = api.veto()
    before = api.stored()
    api.veto(who=who, section="LJ-02", status=status)
    api.revoke(created["id"], who=who, status=status)
    assert api.stored() == before
    if who == "wall":
        api.get("/vetoes", who="wall", status=403)


def test_a_veto_of_another_competition_is_not_found_here(client, world, api):
    other = client.post("/api/v1/competitions", json=competition_body(name="另一赛"), headers=world.headers())
    other_id = other.get_json()["id"]
    created = api.veto()
    r = client.post(f"/api/v1/competitions/{other_id}/vetoes/{created['id']}/revoke", json={"reason": "x"},
                    headers=world.headers())
    api.problem(r, 404)
    assert api.get("/vetoes").get_json()[0]["revoked"] is False


def test_the_database_refuses_a_second_active_veto_or_recipient_itself(app, api, months):
    """The check in operations answers 409; behind it, partial unique indexes refuse what a request racing past
    the check would store (tests/test_races_live.py races two real clients). A revoked veto or a removed
    recipient leaves room for a new one."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from scoring.extensions import db
    from scoring.reports.models import Recipient
    from scoring.vetoes.models import Veto

    api.post(points=1)
    section_veto = api.veto("LJ-01")
    team_veto = api.veto("LJ-01", team="TJD-1")  # a team's veto is another subject
    api.veto("LJ-01", status=409)
    api.veto("LJ-01", team="TJD-1", status=409)
    api.answer(api.client.post(api.world.url("/recipients"), json={"email": "boss@example.org", "name": "甲"},
                               headers=api.world.headers()), 201)
    with app.app_context():
        for veto_id in (section_veto["id"], team_veto["id"]):
            twin = db.session.get(Veto, veto_id)
            db.session.add(Veto(competition_id=twin.competition_id, section_id=twin.section_id, team_id=twin.team_id,
                                period=twin.period, reason="重复", created_by_id=twin.created_by_id))
            with pytest.raises(IntegrityError):
                db.session.flush()
            db.session.rollback()
        original = db.session.scalar(select(Recipient))
        db.session.add(Recipient(competition_id=original.competition_id, email="BOSS@example.org", name="乙"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        db.session.remove()
    api.revoke(section_veto["id"])
    assert api.veto("LJ-01")["id"] != section_veto["id"]  # after a revoke: room again
