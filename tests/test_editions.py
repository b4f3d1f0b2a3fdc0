"""A month as the office runs it (issue 13, points 1 and 3): each close an edition; a later edition mailed once
to every recipient as 【更正】 with the reopen's reason and what changed; approval before mail; refusals."""
from __future__ import annotations

from reports_support import add_recipients, deliveries, run_mail, run_mail_twice_at_once, season, text_of

PEOPLE = (("director@example.org", "王主任", "all"), ("lj01@example.org", "一标段项目经理", "LJ-01"))


def test_a_correction_reaches_every_recipient_once_marked_with_its_reason_and_changes(app, api, smtp, months):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE)
    month = months.last
    season(api, month)
    assert api.close(month)["edition"] == 1
    assert run_mail(app) == 2
    first = {m["X-Envelope-To"]: m for m in smtp.sink.messages}
    assert not any(m["Subject"].startswith("【更正】") for m in first.values())
    assert "更正" not in text_of(first["director@example.org"])

    # A late inspection of LJ-01, a reopen for it, and the close again: the flag moves to LJ-03.
    late = api.post(month=month, who="sup1", points=5, note="迟到的安全检查")
    assert late["status"] == "late"
    api.reopen(month, reason="补录迟到的安全检查扣分")
    again = api.close(month)
    assert (again["edition"], again["flag"]["section"]) == (2, "LJ-03")
    assert run_mail(app) == 2 and run_mail(app) == 0
    assert sorted(m["X-Envelope-To"] for m in smtp.sink.messages) == sorted([p[0] for p in PEOPLE] * 2)
    for address, *_ in PEOPLE:
        correction = smtp.sink.to(address)[-1]
        assert correction["Subject"].startswith("【更正】") and "（第2版）" in correction["Subject"]
        assert correction["Message-ID"] != first[address]["Message-ID"]
        text = text_of(correction)
        assert "【更正说明】本通报为第 2 版" in text and "补录迟到的安全检查扣分" in text
        assert "流动红旗：LJ-01 一标段 → LJ-03 三标段" in text
        assert "标段 LJ-01 一标段：第1名 → 第3名，总分 99 → 94" in text
        assert "标段 LJ-03 三标段：第2名 → 第1名" in text
        html = correction.get_body(("html",)).get_content()
        assert 'data-correction="2"' in html and "补录迟到的安全检查扣分" in html

    listed = api.get(f"/reports/{month}/deliveries").get_json()
    assert sorted((d["email"], d["edition"], d["status"]) for d in listed) == sorted(
        (address, edition, "sent") for address, *_ in PEOPLE for edition in (1, 2))
    # Asked again, however often: nothing new for anyone.
    for _ in range(2):
        assert len(api.answer(api.client.post(api.world.url(f"/reports/{month}/send"),
                                              headers=api.world.headers()), 202)) == 4
    assert run_mail(app) == 0 and len(smtp.sink.messages) == 4
    # The report as read in the office says the same.
    report = api.get(f"/reports/{month}?format=text", who="viewer").get_data(as_text=True)
    assert report.startswith("【更正】") and "流动红旗：LJ-01 一标段 → LJ-03 三标段" in report


def test_an_edition_not_yet_sent_is_withdrawn_by_the_next(app, api, smtp, months):
    """The 通报 still queued when the month is reopened and closed again never goes out: the 更正 does, once."""
    add_recipients(api, *PEOPLE[:1])
    season(api, months.last)
    api.close(months.last)
    api.reopen(months.last, reason="申诉复核")
    api.close(months.last)
    app.config["SMTP_URL"] = smtp.url
    assert run_mail(app) == 1 and run_mail(app) == 0
    (message,) = smtp.sink.messages
    assert message["Subject"].startswith("【更正】")
    assert "排名、总分与流动红旗均无变化" in text_of(message)
    by_edition = {d["edition"]: d for d in api.get(f"/reports/{months.last}/deliveries").get_json()}
    assert by_edition[2]["status"] == "sent"
    assert by_edition[1]["status"] == "failed" and "superseded" in by_edition[1]["last_error"]
    # Queued again by hand, the withdrawn edition still never goes out.
    api.answer(api.client.post(api.world.url(f"/reports/{months.last}/send"), headers=api.world.headers()), 202)
    assert run_mail(app) == 0


def test_two_mail_runs_at_once_send_a_correction_once(app, api, smtp, months):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE)
    season(api, months.last)
    api.close(months.last)
    assert run_mail(app) == 2
    api.reopen(months.last, reason="复核")
    api.post(month=months.last, who="sup2", section="LJ-02", criterion="quality", kind="bonus", item=None, points=3)
    api.close(months.last)
    assert sum(run_mail_twice_at_once(app)) == 2
    corrections = [m["X-Envelope-To"] for m in smtp.sink.messages if m["Subject"].startswith("【更正】")]
    assert sorted(corrections) == sorted(p[0] for p in PEOPLE)


def test_with_approval_the_report_waits_for_an_admin(app, api, smtp, months):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE)
    body = api.answer(api.client.patch(api.world.url(), json={"report_approval": True}, headers=api.world.headers()))
    assert body["report_approval"] is True
    season(api, months.last)
    api.close(months.last)
    assert run_mail(app) == 0 and deliveries(api, months.last) == {}
    draft = api.get(f"/reports/{months.last}?format=text", who="viewer").get_data(as_text=True)
    assert "LJ-01 一标段" in draft  # the draft can be read before it is approved

    before = api.stored()
    url = api.world.url(f"/reports/{months.last}")
    assert "approval" in api.problem(api.client.post(url + "/send", headers=api.world.headers()), 409)["detail"]
    for who, status in (("viewer", 403), ("sup1", 403), (None, 401)):
        api.problem(api.client.post(url + "/approve", headers=api.world.headers(who)), status)
    api.problem(api.client.post(api.world.url(f"/reports/{months.this}/approve"), headers=api.world.headers()), 409)
    assert api.stored() == before

    approved = api.answer(api.client.post(url + "/approve", headers=api.world.headers()))
    assert (approved["edition"], approved["approved_by"], approved["queued"]) == (1, "admin", 2)
    assert api.answer(api.client.post(url + "/approve", headers=api.world.headers()))["queued"] == 0
    assert run_mail(app) == 2
    assert [e["detail"]["edition"] for e in api.audit("?action=report.approved")] == [1]

    # A correction waits for its own approval.
    api.reopen(months.last, reason="申诉")
    api.close(months.last)
    assert run_mail(app) == 0
    assert api.answer(api.client.post(url + "/approve", headers=api.world.headers()))["edition"] == 2
    assert run_mail(app) == 2


def test_the_months_list_says_which_edition_awaits_approval(app, api, months):
    """GET …/periods tells a client (the office console) whether the current edition's report waits for its
    approval, and when and by whom it was approved: before, after, and for the 更正 after a reopen."""
    add_recipients(api, *PEOPLE)
    season(api, months.last)
    api.post(month=months.ago(2), points=1)
    api.close(months.ago(2))  # closed while no approval is asked: mailed at once, nothing to approve
    api.answer(api.client.patch(api.world.url(), json={"report_approval": True}, headers=api.world.headers()))

    def state(key: str) -> tuple:
        month = {p["key"]: p for p in api.get("/periods", who="viewer").get_json()}[key]
        return month["status"], month["edition"], month["awaiting_approval"], month["approved_at"], month["approved_by"]

    assert state(months.last) == ("open", 0, False, None, None)
    closed = api.close(months.last)
    assert (closed["awaiting_approval"], closed["approved_at"]) == (True, None)  # the close's answer says it too
    assert state(months.last) == ("closed", 1, True, None, None)
    assert deliveries(api, months.last) == {}

    approved = api.answer(api.client.post(api.world.url(f"/reports/{months.last}/approve"),
                                          headers=api.world.headers()))
    assert state(months.last) == ("closed", 1, False, approved["approved_at"], "admin")
    assert approved["approved_at"] is not None and len(deliveries(api, months.last)) == 2

    api.reopen(months.last, reason="申诉复核")
    assert state(months.last) == ("open", 1, False, None, None)
    api.close(months.last)
    assert state(months.last) == ("closed", 2, True, None, None)  # the 更正 waits for its own approval

    # Without the approval step nothing awaits and nothing is said to be approved, approved before or not.
    api.answer(api.client.patch(api.world.url(), json={"report_approval": False}, headers=api.world.headers()))
    assert state(months.last)[2:] == (False, None, None)
    assert state(months.ago(2))[2:] == (False, None, None)


def test_approve_without_the_approval_step_and_refused_closes_change_nothing(api, months):
    api.post(month=months.last, points=1)
    api.close(months.last)
    before = api.stored()
    api.problem(api.client.post(api.world.url(f"/reports/{months.last}/approve"), headers=api.world.headers()), 409)
    body = api.close(months.ago(2), status=422)  # no entry at all
    assert "no entry" in body["detail"]
    api.close(months.next, status=422)  # not begun
    assert api.stored() == before


def test_close_policy_is_set_at_creation_changed_by_patch_and_checked(api, client, world):
    from conftest import competition_body

    created = api.answer(client.post("/api/v1/competitions", headers=world.headers(), json=competition_body(
        auto_close={"day": 5, "time": "08:00"}, report_approval=True)), 201)
    assert (created["auto_close"], created["report_approval"]) == ({"day": 5, "time": "08:00"}, True)
    sandbox = api.answer(client.post("/api/v1/competitions", headers=world.headers(),
                                     json=competition_body(name="测试竞赛", auto_close=None)), 201)
    assert sandbox["auto_close"] is None and sandbox["report_approval"] is False
    default = api.get("").get_json()
    assert (default["auto_close"], default["report_approval"]) == ({"day": 3, "time": "00:30"}, False)

    before = api.stored()
    for bad, field in (({"auto_close": {"day": 0}}, "auto_close"), ({"auto_close": {"day": 31}}, "auto_close"),
                       ({"auto_close": {"day": 3, "time": "24:00"}}, "auto_close"),
                       ({"report_approval": "ja"}, "report_approval"), ({"name": 1, "colour": "red"}, "colour")):
        api.problem(client.patch(world.url(), json=bad, headers=world.headers()), 422, field)
    api.problem(client.patch(world.url(), json={"report_approval": True}, headers=world.headers("viewer")), 403)
    api.problem(client.patch("/api/v1/competitions/999999", json={"report_approval": True},
                             headers=world.headers()), 404)
    assert api.stored() == before
    changed = api.answer(client.patch(world.url(), json={"auto_close": {"day": 1, "time": "06:00"}},
                                      headers=world.headers()))
    assert changed["auto_close"] == {"day": 1, "time": "06:00"} and changed["report_approval"] is False
