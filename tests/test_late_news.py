"""Late news (issue 13, point 6): late entries are reported as such, counted in the months list, named by the
reopen; vetoes and recipients refuse duplicates, vetoes a closed or future month; a close keeps its reason."""
from conftest import PROBLEM
from reports_support import add_recipients
from sqlalchemy import select

from scoring.extensions import db
from scoring.periods.models import PeriodEvent


def batch(api, *entries, who="admin") -> list[dict]:
    response = api.client.post(api.world.url("/entries"), json={"entries": list(entries)},
                               headers=api.world.headers(who))
    return api.answer(response, 200)["results"]


def listed(api) -> dict[str, dict]:
    return {p["key"]: p for p in api.get("/periods", "viewer").get_json()}


def test_a_batch_says_which_postings_arrived_after_their_month_closed(api, months):
    api.post(month=months.last, points=1)
    api.close(months.last)
    late, counted = api.entry(months.last, section="LJ-03", points=2), api.entry(points=1)
    results = batch(api, late, counted)
    assert [(r["status"], r["entry_status"]) for r in results] == [("created", "late"), ("created", "counted")]
    # A resend (the tablet never heard the answer) tells it again.
    again = batch(api, late, counted)
    assert [(r["status"], r["entry_status"], r["id"]) for r in again] == [
        ("duplicate", "late", results[0]["id"]), ("duplicate", "counted", results[1]["id"])]
    invalid = batch(api, {**api.entry(), "section": "LJ-99"})
    assert invalid[0]["status"] == "invalid" and "entry_status" not in invalid[0]


def test_the_months_list_shows_late_entries_waiting_and_the_reopen_names_them(api, months):
    api.post(month=months.last, points=1)
    api.close(months.last)
    assert listed(api)[months.last] | {"closed_at": None, "closed_at_local": None} == {
        "key": months.last, "status": "closed", "closed_at": None, "closed_at_local": None,
        "flag": {"section": "LJ-01", "name": "一标段"},
        "edition": 1, "late_entries": 0, "approved_at": None, "approved_by": None, "awaiting_approval": False}
    first = api.post(month=months.last, who="sup2", section="LJ-03", team="TJD-3", points=2)
    second = api.post(month=months.last, criterion="quality", item="Q2", points=0.5)
    assert listed(api)[months.last]["late_entries"] == 2

    api.reopen(months.last, reason="三标段补录迟到检查")
    (event,) = api.audit("?action=period.reopened")
    assert event["reason"] == "三标段补录迟到检查"
    assert event["detail"]["late_entries_counted"] == 2
    assert [(e["entry"], e["section"], e["team"], e["item"], e["points"]) for e in event["detail"]["late_entries"]] \
        == [(first["id"], "LJ-03", "TJD-3", "S1", "2"), (second["id"], "LJ-01", None, "Q2", "0.5")]
    assert listed(api)[months.last]["late_entries"] == 0 and listed(api)[months.last]["edition"] == 1
    assert api.close(months.last)["edition"] == 2


def test_a_close_keeps_its_reason(api, app, months):
    api.post(month=months.last, points=1)
    response = api.client.post(api.world.url(f"/periods/{months.last}/close"), json={"reason": "指挥部审定后结账"},
                               headers=api.world.headers())
    assert api.answer(response)["status"] == "closed"
    (event,) = api.audit("?action=period.closed")
    assert event["reason"] == "指挥部审定后结账"
    with app.app_context():
        assert db.session.scalars(select(PeriodEvent.reason)).all() == ["指挥部审定后结账"]
    api.reopen(months.last)
    api.close(months.last)  # a reason is optional
    assert [e["reason"] for e in api.audit("?action=period.closed")] == ["指挥部审定后结账", None]


def test_a_veto_for_a_closed_or_future_month_or_twice_is_refused_with_nothing_changed(api, months):
    api.post(month=months.last, points=1)
    api.close(months.last)
    first = api.veto("LJ-02")
    team = api.veto("LJ-02", team="TJD-2")  # the team is another subject
    before = api.stored()
    api.veto("LJ-02", period=months.last, status=409)  # closed: reopen it first
    body = api.veto("LJ-02", period=months.next, status=422, reason="笔误")  # not begun
    assert "period" in body["errors"]
    twin = api.veto("LJ-02", status=409, reason="同一事故再录一次")
    assert str(first["id"]) in twin["detail"]
    api.veto("LJ-02", team="TJD-2", status=409)
    assert api.stored() == before
    api.revoke(first["id"])
    api.veto("LJ-02", reason="复核后重新认定")  # after the revoke, a new one stands
    assert len(api.get(f"/vetoes?period={months.this}").get_json()) == 3
    assert team["team"] == "TJD-2"


def test_a_recipient_is_added_once(api):
    (first,) = add_recipients(api, ("zhihuibu@example.com", "指挥部", "all"))
    before = api.stored()
    for email, scope in (("zhihuibu@example.com", "all"), ("ZhiHuiBu@Example.com", "LJ-01")):
        response = api.client.post(api.world.url("/recipients"), headers=api.world.headers(),
                                   json={"email": email, "name": "又一次", "scope": scope})
        assert response.mimetype == PROBLEM
        assert api.problem(response, 409)["detail"].startswith(email)
    assert api.stored() == before
    removed = api.client.delete(api.world.url(f"/recipients/{first['id']}"), headers=api.world.headers())
    assert removed.status_code == 204
    add_recipients(api, ("zhihuibu@example.com", "指挥部", "LJ-01"))  # removed: may come back, with a new scope
