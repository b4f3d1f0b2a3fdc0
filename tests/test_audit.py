"""The audit trail (CONTRACT.md §3 "Audit"), and the rule behind it: a rejected request changes
nothing stored — no entry, veto, tally, period or audit event."""
import pytest

TABLET = {"User-Agent": "ScoreTablet/2.1 (Android 12)"}


def test_every_change_is_recorded_oldest_first_with_who_what_why_and_from_where(client, world, api, months):
    h = {**world.headers("sup1"), **TABLET}
    posted = client.post(world.url("/entries"), json=api.entry(points=2), headers=h).get_json()
    # One of them last month: a month without any entry cannot be closed.
    client.post(world.url("/entries"), json={"entries": [api.entry(months.last), api.entry()]}, headers=h)
    client.post(f"/api/v1/entries/{posted['id']}/void", json={"reason": "重复录入"}, headers=h)
    veto = api.veto("LJ-02", reason="安全事故")
    client.post(world.url(f"/vetoes/{veto['id']}/revoke"), json={"reason": "复核撤销"}, headers=world.headers())
    client.post(world.url(f"/periods/{months.last}/close"), headers=world.headers())
    client.post(world.url(f"/periods/{months.last}/reopen"), json={"reason": "补录"}, headers=world.headers())
    client.post("/api/v1/users", json={"username": "office2", "role": "viewer"}, headers=world.headers())
    client.post("/api/v1/auth/token/revoke", headers=world.headers("viewer"))

    events = api.audit("?per_page=500")
    actions = [e["action"] for e in events]
    setup = ["competition.created"] + ["section.created"] * 3 + ["team.created"] * 3 + \
        ["user.created", "token.created"] * len(world.tokens)
    assert actions == setup + ["entry.posted"] * 3 + ["entry.voided", "veto.created", "veto.revoked",
                                                        "period.closed", "period.reopened", "user.created",
                                                        "token.created", "token.revoked"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    first_post, void = events[len(setup)], events[len(setup) + 3]
    assert (first_post["actor"], first_post["target"], first_post["user_agent"], first_post["address"]) == \
        ("sup1", f"entry:{posted['id']}", TABLET["User-Agent"], "127.0.0.1")
    assert first_post["detail"]["client_id"] == posted["client_id"] and first_post["detail"]["points"] == "2.00"
    assert (void["actor"], void["reason"], void["target"]) == ("sup1", "重复录入", f"entry:{posted['id']}")
    by_action = {e["action"]: e for e in events}
    assert by_action["veto.revoked"]["reason"] == "复核撤销" and by_action["veto.revoked"]["actor"] == "admin"
    assert by_action["period.reopened"]["reason"] == "补录"
    assert by_action["token.revoked"]["actor"] == "viewer"


def test_filters_and_pagination(client, world, api):
    api.post(who="sup1")
    api.post(section="LJ-02", who="sup2")
    assert [e["actor"] for e in api.audit("?action=entry.posted")] == ["sup1", "sup2"]
    assert [e["action"] for e in api.audit("?actor=sup2")] == ["entry.posted"]  # the CLI made its token
    assert len(api.audit("?actor=sup2&action=entry.posted")) == 1
    everything = api.audit("?per_page=500")
    last = everything[-1]
    since = api.audit("?since=" + last["at"].replace("+", "%2B"))
    assert since[-1] == last and all(e["at"] >= last["at"] for e in since)
    assert api.audit("?since=2100-01-01T00:00:00%2B08:00") == []
    page = client.get(world.url("/audit?per_page=5&page=2"), headers=world.headers())
    assert page.get_json() == everything[5:10] and page.headers["X-Total-Count"] == str(len(everything))
    api.problem(client.get(world.url("/audit?since=2026-11-01T00:00:00"), headers=world.headers()), 422, "since")


def test_a_long_trail_is_read_newest_first_page_by_page_back(client, world, api):
    """The office reads the newest changes first, then pages back by the last id it has (no offset)."""
    for n in range(7):
        api.post(who="sup1", note=f"第{n}条")
    everything = api.audit("?per_page=500")
    newest = client.get(world.url("/audit?order=newest&per_page=3"), headers=world.headers())
    assert newest.get_json() == everything[::-1][:3] and newest.headers["X-Total-Count"] == str(len(everything))
    back, seen = newest.get_json(), []
    while back:
        seen += back
        back = api.audit(f"?order=newest&per_page=3&before={back[-1]['id']}")
    assert seen == everything[::-1]  # every row once, newest to oldest
    assert api.audit(f"?before={everything[2]['id']}") == everything[:2]  # oldest first, older than a row
    api.problem(client.get(world.url("/audit?order=random"), headers=world.headers()), 422, "order")
    api.problem(client.get(world.url("/audit?before=0"), headers=world.headers()), 422, "before")


@pytest.mark.parametrize("who,status", [("sup1", 403), ("viewer", 403), ("wall", 403), (None, 401), ("bad", 401)])
def test_only_admin_reads_the_audit(api, who, status):
    api.get("/audit", who=who, status=status)


def test_no_endpoint_edits_or_deletes_the_audit(client, world, api):
    for method in ("put", "patch", "delete", "post"):
        api.problem(getattr(client, method)(world.url("/audit"), json={}, headers=world.headers()), 405)
    event_id = api.audit()[0]["id"]
    for method in ("put", "patch", "delete", "get"):
        r = getattr(client, method)(world.url(f"/audit/{event_id}"), json={}, headers=world.headers())
        assert r.status_code in (404, 405)


def test_rejected_requests_change_nothing_stored(client, world, api, months):
    """Some state first (entries, a void, a veto, a closed month), then a series of rejected requests."""
    sup1, sup2, admin = world.headers("sup1"), world.headers("sup2"), world.headers()
    kept = api.entry(points=2, team="TJD-1")
    stored = api.post(kept, who="sup1")
    voided = api.post(who="sup1")
    last_month = api.post(observed_at=months.at(months.last, 8, 8), who="sup1")
    api.void(voided["id"], who="sup1", reason="错")
    veto = api.veto("LJ-02", reason="事故")
    api.revoke(veto["id"], reason="撤")
    api.close(months.last)
    before = api.stored()
    entry = api.entry

    entries_url = world.url("/entries")
    rejected = [
        (422, "post", entries_url, sup1, entry(points=1.005)),
        (422, "post", entries_url, sup1, entry(observed_at=months.observed_at()[:19])),  # no offset
        (422, "post", entries_url, sup1, entry(team="TJD-2")),
        (422, "post", entries_url, sup1, entry(item="P1")),
        (422, "post", entries_url, sup1, entry(month=months.next)),  # a month not begun
        (422, "post", entries_url, sup1, {"entries": [entry()] * 501}),
        (409, "post", entries_url, sup1, {**kept, "points": 3}),
        (403, "post", entries_url, sup2, entry()),
        (403, "post", entries_url, world.headers("viewer"), entry()),
        (401, "post", entries_url, {"Authorization": "Bearer revoked-or-never-issued"}, entry()),
        (400, "post", entries_url, sup1, b'{"client_id": "abc", "points": 1'),
        (409, "post", f"/api/v1/entries/{voided['id']}/void", admin, {"reason": "again"}),
        (403, "post", f"/api/v1/entries/{stored['id']}/void", sup2, {"reason": "not mine"}),
        (403, "post", f"/api/v1/entries/{last_month['id']}/void", sup1, {"reason": "closed month"}),
        (404, "post", "/api/v1/entries/999999/void", admin, {"reason": "none"}),
        (422, "post", f"/api/v1/entries/{stored['id']}/void", admin, {}),
        (422, "post", world.url("/vetoes"), admin, {"section": "LJ-01", "team": "TJD-3", "period": months.this,
                                                    "reason": "x"}),
        (403, "post", world.url("/vetoes"), sup1, {"section": "LJ-01", "period": months.this, "reason": "x"}),
        (409, "post", world.url(f"/vetoes/{veto['id']}/revoke"), admin, {"reason": "again"}),
        (409, "post", world.url("/sections"), admin, {"code": "LJ-01", "name": "x", "start_km": 0, "end_km": 1,
                                                      "contractor": "c"}),
        (422, "post", world.url("/teams"), admin, {"code": "TJD-8", "name": "x", "leader": "y", "section": "LJ-8"}),
        (422, "post", "/api/v1/competitions", admin, {"name": "x", "organizer": "y", "criteria": []}),
        (409, "post", "/api/v1/users", admin, {"username": "sup1", "role": "viewer"}),
        (403, "post", "/api/v1/users", sup1, {"username": "sneaky", "role": "admin"}),
        (409, "post", world.url(f"/periods/{months.this}/reopen"), admin, {"reason": "not closed"}),
        (403, "post", world.url(f"/periods/{months.last}/reopen"), sup1, {"reason": "let me"}),
        (405, "delete", world.url("/entries"), admin, None),
        (400, "post", world.url("/vetoes"), admin, b"\xff"),
    ]
    for status, method, url, headers, body in rejected:
        kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, bytes) else {"json": body}
        r = getattr(client, method)(url, headers=headers, **kwargs)
        api.problem(r, status)
    assert api.stored() == before


def test_who_changed_this_and_why(client, world, api, months, clock):
    """Issue 13, point 8: filter by target, things named by their codes, times in the competition's zone too."""
    mine = api.post(who="sup2", section="LJ-02", team="TJD-2", criterion="environment", item="E1", points=3)
    other = api.post(who="sup1", points=1)
    api.void(mine["id"], reason="照片与标段不符")
    trail = api.audit(f"?target=entry:{mine['id']}")
    assert [(e["action"], e["actor"], e["reason"]) for e in trail] == [
        ("entry.posted", "sup2", None), ("entry.voided", "admin", "照片与标段不符")]
    for event in trail:
        assert {k: event["detail"][k] for k in ("section", "team", "criterion", "item", "kind")} == {
            "section": "LJ-02", "team": "TJD-2", "criterion": "environment", "item": "E1", "kind": "deduction"}
        assert "section_id" not in event["detail"]
    assert [e["target"] for e in api.audit("?target=entry")] == [f"entry:{mine['id']}", f"entry:{other['id']}",
                                                                  f"entry:{mine['id']}"]
    assert api.audit("?target=entry:999999") == [] and api.audit("?target=entr") == []

    # A close at 00:31 on the 3rd in Beijing is 16:31 UTC on the 2nd: both are given. (Last month, closed on this
    # month's 3rd: a clock moved into next month would outlive the world's tokens when the suite runs on the 1st.)
    api.post(month=months.last, who="sup1", points=1)
    clock.move_to(f"{months.this}-03T00:31:00+08:00")
    api.close(months.last)
    (closed,) = api.audit(f"?target=period:{months.last}")
    assert closed["at_local"].startswith(f"{months.this}-03T00:31") and closed["at_local"].endswith("+08:00")
    assert closed["at"].startswith(f"{months.this}-02T16:31")
    period = {p["key"]: p for p in api.get("/periods").get_json()}[months.last]
    assert period["closed_at_local"].startswith(f"{months.this}-03T00:31")
