"""Archive (issue 13, point 11): a finished season or a sandbox becomes read-only and leaves the list; nothing
deleted; no entries, closes, vetoes, mail or auto-close; unarchived, it works again."""
from reports_support import add_recipients, run_mail

from scoring.extensions import db
from scoring.scheduler.jobs import close_due_periods


def patch(api, body: dict, who: str = "admin", status: int = 200) -> dict:
    return api.answer(api.client.patch(api.world.url(), json=body, headers=api.world.headers(who)), status)


def test_an_archived_competition_is_read_only_out_of_the_list_and_comes_back(app, api, smtp, months):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, ("director@example.org", "王主任", "all"))
    api.post(month=months.last, points=1)
    api.close(months.last)
    veto = api.veto("LJ-02")
    entry = api.post(points=2)
    patch(api, {"archived": True}, who="viewer", status=403)
    assert patch(api, {"archived": True})["archived"] is True

    listed = api.client.get("/api/v1/competitions", headers=api.world.headers("viewer")).get_json()
    assert api.world.cid not in [c["id"] for c in listed]
    archived = api.client.get("/api/v1/competitions?archived=true", headers=api.world.headers("viewer")).get_json()
    assert [c["id"] for c in archived] == [api.world.cid]
    assert api.board(months.last)["status"] == "closed"  # everything stays readable
    assert len(api.get("/entries").get_json()) == 2

    before = api.stored()
    for response in (
        api.client.post(api.world.url("/entries"), json=api.entry(), headers=api.world.headers("sup1")),
        api.client.post(api.world.url("/entries"), json={"entries": [api.entry()]}, headers=api.world.headers()),
        api.client.post(f"/api/v1/entries/{entry['id']}/void", json={"reason": "x"}, headers=api.world.headers()),
        api.client.post(api.world.url(f"/periods/{months.this}/close"), headers=api.world.headers()),
        api.client.post(api.world.url(f"/periods/{months.last}/reopen"), json={"reason": "x"},
                        headers=api.world.headers()),
        api.client.post(api.world.url("/vetoes"), json={"section": "LJ-03", "period": months.this, "reason": "x"},
                        headers=api.world.headers()),
        api.client.post(api.world.url(f"/vetoes/{veto['id']}/revoke"), json={"reason": "x"},
                        headers=api.world.headers()),
        api.client.post(api.world.url(f"/reports/{months.last}/send"), headers=api.world.headers()),
    ):
        assert "归档" in api.problem(response, 409)["detail"]
    assert run_mail(app) == 0 and smtp.sink.messages == []  # the queued 通报 waits
    with app.app_context():
        assert close_due_periods() == []
        db.session.commit()
    assert api.stored() == before

    assert patch(api, {"archived": False})["archived"] is False
    assert run_mail(app) == 1
    api.post(points=1)
    (first, second) = [e["detail"] for e in api.audit("?action=competition.updated")]
    assert (first["before"]["archived"], first["after"]["archived"]) == (False, True)
    assert (second["before"]["archived"], second["after"]["archived"]) == (True, False)
