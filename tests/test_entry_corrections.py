"""POST /entries/{id}/correct (issue 13, point 7): a void and its replacement in one transaction, each naming
the other; the replacement keeps the original supervisor and records who corrected it; a mistaken void undone."""


def correct(api, entry_id: int, entry: dict, reason: str = "分值录错", who: str = "admin", status: int = 201):
    return api.answer(api.client.post(f"/api/v1/entries/{entry_id}/correct", json={"reason": reason, "entry": entry},
                                      headers=api.world.headers(who)), status)


def test_the_office_corrects_a_supervisors_entry(api):
    original = api.post(who="sup1", points=5, note="未戴安全帽")
    body = api.entry(points=0.5, note="未戴安全帽（复核后改为 0.5 分）")
    replacement = correct(api, original["id"], body)
    assert (replacement["corrects"], replacement["supervisor"], replacement["corrector"]) == (
        original["id"], "sup1", "admin")
    assert replacement["status"] == "counted" and replacement["points"] == 0.5
    voided = api.get("/entries?status=void").get_json()
    assert [(e["id"], e["corrected_by"], e["void_reason"], e["voided_by"]) for e in voided] == [
        (original["id"], replacement["id"], "分值录错", "admin")]
    assert api.rows()["LJ-01"]["total"] == 99.5
    # A resend of the same correction answers what is stored; another one is refused.
    assert correct(api, original["id"], body, status=200)["id"] == replacement["id"]
    before = api.stored()
    api.problem(api.client.post(f"/api/v1/entries/{original['id']}/correct", headers=api.world.headers(),
                                json={"reason": "再改", "entry": api.entry(points=1)}), 409)
    assert api.stored() == before
    trail = api.audit(f"?target=entry:{original['id']}")
    assert [e["action"] for e in trail] == ["entry.posted", "entry.voided", "entry.corrected"]
    assert trail[-1]["detail"]["corrected_by"] == replacement["id"] and trail[-1]["reason"] == "分值录错"


def test_a_mistaken_void_is_undone_with_a_replacement_of_the_same_content(api):
    original = api.post(who="sup2", section="LJ-02", points=2, note="扬尘")
    api.void(original["id"], reason="误操作")
    assert api.rows()["LJ-02"]["assessed"] is False
    restored = correct(api, original["id"], api.entry(section="LJ-02", points=2, note="扬尘",
                                                      observed_at=original["observed_at"]), reason="撤销误作废")
    assert (restored["corrects"], restored["supervisor"], restored["corrector"]) == (original["id"], "sup2", "admin")
    assert api.rows()["LJ-02"]["total"] == 98


def test_a_supervisor_corrects_their_own_entry_while_the_month_is_open_and_nothing_else(api, months):
    mine = api.post(who="sup1", points=3)
    other = api.post(who="sup2", section="LJ-02", points=1)
    last = api.post(who="sup1", month=months.last, points=1)
    api.close(months.last)
    before = api.stored()
    correct(api, other["id"], api.entry(section="LJ-02"), who="sup1", status=403)
    correct(api, last["id"], api.entry(months.last), who="sup1", status=403)  # closed: ask the office
    body = correct(api, mine["id"], api.entry(section="LJ-99"), who="sup1", status=422)
    assert any(field.startswith("entry.") for field in body["errors"])
    correct(api, mine["id"], api.entry(section="LJ-02"), who="sup1", status=403)  # not their section
    correct(api, mine["id"], {**api.entry(), "client_id": other["client_id"]}, status=409)  # an id already used
    api.problem(api.client.post(f"/api/v1/entries/{mine['id']}/correct", json={"entry": api.entry()},
                                headers=api.world.headers()), 422, "reason")
    api.problem(api.client.post("/api/v1/entries/999999/correct", json={"reason": "x", "entry": api.entry()},
                                headers=api.world.headers()), 404)
    correct(api, mine["id"], api.entry(), who="viewer", status=403)
    assert api.stored() == before
    fixed = correct(api, mine["id"], api.entry(points=2), who="sup1")
    assert (fixed["supervisor"], fixed["corrector"]) == ("sup1", "sup1")
