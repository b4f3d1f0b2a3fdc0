"""Rectification notices (CONTRACT.md §7): opened by a deduction with a deadline, answered by the contractor,
re-checked by the supervisor; numbered per month without gaps; cancelled by a void; overdue and penalised once."""
from __future__ import annotations

from datetime import datetime, timedelta

import photo_support
import pytest

from scoring.extensions import db


def upload(api, seed: int, who: str = "con1") -> str:
    r = api.client.post(api.world.url("/photos"), data=photo_support.photo(seed=seed),
                        headers={**api.world.headers(who), "Content-Type": "image/jpeg"})
    return api.answer(r, 201)["id"]


def test_the_loop_issue_answer_reject_answer_pass(api, months):
    before = upload(api, 1, "sup1")
    notice = api.notice(photos=[before], note="临边防护缺失", team="TJD-1")
    assert notice["number"] == f"ZG-{months.this.replace('-', '')}-0001"
    assert (notice["status"], notice["section"], notice["overdue"], notice["issued_by"]) == \
        ("open", "LJ-01", False, "sup1")
    assert notice["photos"] == [before] and notice["entry"]["rectify_by"] == api.due()
    assert notice["deadline"].startswith(f"{(datetime.fromisoformat(api.due()) + timedelta(days=1)).date()}T00:00")
    after = upload(api, 2)
    answered = api.respond(notice["id"], photos=[after], note="已补设防护栏")
    assert answered["status"] == "responded"
    assert answered["steps"][-1] | {"at": None} == {"action": "responded", "by": "con1", "at": None,
                                                    "note": "已补设防护栏", "photos": [after]}
    rejected = api.review(notice["id"], "reject", note="防护栏高度不足 1.2 米")
    assert rejected["status"] == "open" and rejected["steps"][-1]["note"] == "防护栏高度不足 1.2 米"
    api.respond(notice["id"], note="已加高至 1.2 米", photos=[upload(api, 3)])
    closed = api.review(notice["id"], "pass")
    assert closed["status"] == "closed" and closed["closed_at"]
    assert [s["action"] for s in closed["steps"]] == ["issued", "responded", "rejected", "responded", "passed"]
    assert [s["by"] for s in closed["steps"]] == ["sup1", "con1", "sup1", "con1", "sup1"]
    actions = [e["action"] for e in api.audit("?action=notice.responded")]
    assert actions == ["notice.responded"] * 2


def test_refused_transitions_are_409_with_the_current_state(api):
    notice = api.notice()
    before = api.stored()
    body = api.review(notice["id"], status=409)  # nothing to re-check yet
    assert body["errors"] == {"status": ["open"]} and "待整改" in body["detail"]
    api.respond(notice["id"])
    assert api.respond(notice["id"], status=409)["errors"] == {"status": ["responded"]}
    api.review(notice["id"], "pass")
    for call in (lambda: api.respond(notice["id"], status=409), lambda: api.review(notice["id"], status=409)):
        assert call()["errors"] == {"status": ["closed"]}
    assert api.show(notice["id"])["status"] == "closed"
    assert before != api.stored()  # (the answer and the pass were stored; the refusals added nothing)
    steps = len(api.show(notice["id"])["steps"])
    api.respond(notice["id"], status=409)
    assert len(api.show(notice["id"])["steps"]) == steps


def test_a_reject_needs_its_reason_and_bad_answers_change_nothing(api):
    notice = api.notice()
    before = api.stored()
    api.problem(api.client.post(f"/api/v1/notices/{notice['id']}/responses", json={"photos": []},
                                headers=api.world.headers("con1")), 422, "note")
    api.problem(api.client.post(f"/api/v1/notices/{notice['id']}/responses",
                                json={"note": "x", "photos": ["ab" * 32]}, headers=api.world.headers("con1")),
                422, "photos")
    assert api.stored() == before
    api.respond(notice["id"])
    before = api.stored()
    api.problem(api.client.post(f"/api/v1/notices/{notice['id']}/review", json={"result": "reject", "note": " "},
                                headers=api.world.headers("sup1")), 422, "note")
    api.problem(api.client.post(f"/api/v1/notices/{notice['id']}/review", json={"result": "maybe"},
                                headers=api.world.headers("sup1")), 422, "result")
    assert api.stored() == before


def test_a_resent_answer_is_stored_once(api):
    """The tablet's outbox resends what it has not seen acknowledged: the same client_id is the same step."""
    notice = api.notice()
    first = api.respond(notice["id"], client_id="ans-1")
    again = api.respond(notice["id"], client_id="ans-1", status=200)
    assert again["steps"] == first["steps"]
    api.review(notice["id"], "reject", note="不合格", client_id="rev-1")
    assert api.review(notice["id"], "reject", note="不合格", client_id="rev-1")["status"] == "open"
    assert [s["action"] for s in api.show(notice["id"])["steps"]] == ["issued", "responded", "rejected"]


def test_who_may_answer_and_review(api, world):
    mine, theirs = api.notice(), api.notice(who="sup2", section="LJ-02")
    api.show(theirs["id"], who="con1", status=403)
    api.respond(theirs["id"], who="con1", status=403)
    listed = api.answer(api.client.get(world.url("/notices"), headers=world.headers("con1")))
    assert [n["id"] for n in listed] == [mine["id"]]
    api.problem(api.client.get(world.url("/notices?section=LJ-02"), headers=world.headers("con1")), 403)
    api.respond(mine["id"], who="sup1", status=403)  # a supervisor does not answer for the builder
    api.respond(mine["id"])
    api.review(mine["id"], who="con1", status=403)  # nor does the builder pass its own work
    api.review(mine["id"], who="sup2", status=403)  # nor a supervisor of another section
    api.review(mine["id"], who="viewer", status=403)
    assert api.show(mine["id"])["status"] == "responded"
    api.review(mine["id"], who="admin")


def test_a_deadline_only_on_a_deduction_within_a_year(api, months):
    before = api.stored()
    api.post(status=422, kind="bonus", item=None, rectify_by=api.due())
    api.post(status=422, rectify_by=api.due(-40))
    api.post(status=422, rectify_by=api.due(400))
    api.post(status=422, rectify_by="2025-02-30")
    assert api.stored() == before


def test_the_deadline_is_part_of_the_content_on_a_resend(api):
    body = api.entry(rectify_by=api.due())
    api.post(body)
    assert api.post(body, status=200)["rectify_by"] == api.due()
    api.post({**body, "rectify_by": api.due(3)}, status=409)
    assert len(api.get("/notices").get_json()) == 1


def test_numbers_run_per_month_and_a_batch_numbers_each(api, months, world):
    last = [api.entry(months.last, rectify_by=api.due()) for _ in range(2)]
    this = [api.entry(rectify_by=api.due()) for _ in range(3)] + [api.entry()]
    r = api.client.post(world.url("/entries"), json={"entries": this + last}, headers=world.headers("sup1"))
    assert [x["status"] for x in api.answer(r)["results"]] == ["created"] * 6
    numbers = sorted(n["number"] for n in api.get("/notices").get_json())
    this_key, last_key = months.this.replace("-", ""), months.last.replace("-", "")
    assert numbers == sorted([f"ZG-{last_key}-0001", f"ZG-{last_key}-0002",
                              *(f"ZG-{this_key}-{i:04d}" for i in (1, 2, 3))])
    assert api.notice()["number"] == f"ZG-{this_key}-0004"


def test_a_void_cancels_an_open_notice_but_not_a_closed_one(api):
    notice = api.notice()
    api.respond(notice["id"])
    api.void(notice["entry"]["id"], who="sup1", reason="误判")
    cancelled = api.show(notice["id"])
    assert cancelled["status"] == "cancelled" and cancelled["steps"][-1]["note"] == "误判"
    api.respond(notice["id"], status=409)
    done = api.notice()
    api.respond(done["id"])
    api.review(done["id"])
    api.void(done["entry"]["id"])
    assert api.show(done["id"])["status"] == "closed"
    assert [n["id"] for n in api.get("/notices?status=cancelled").get_json()] == [notice["id"]]


@pytest.mark.time_machine("2025-11-27T10:00:00+08:00")
def test_overdue_after_the_end_of_the_day_and_penalised_once(app, api, world, clock):
    from scoring.competitions.models import Competition
    from scoring.competitions.operations import bump_revision
    from scoring.scheduler.jobs import run_job

    with app.app_context():  # as if set at creation (POST /competitions {"overdue_penalty": 2})
        db.session.get(Competition, world.cid).overdue_penalty = 2
        bump_revision(world.cid)
        db.session.commit()
    late = api.notice(rectify_by="2025-11-28", item="S2")
    kept = api.notice(rectify_by="2025-11-28")
    api.respond(kept["id"])
    api.review(kept["id"])
    waiting = api.notice(rectify_by="2025-11-28")
    api.respond(waiting["id"])  # answered but not re-checked: still not closed
    clock.move_to("2025-11-28T23:59:00+08:00")
    with app.app_context():
        assert run_job("overdue") == []
    assert api.get("/notices?overdue=true").get_json() == []
    group = api.answer(api.client.post(world.url("/channels"), headers=world.headers(), json={
        "kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-overdue",
        "events": ["notice_overdue"]}), 201)
    clock.move_to("2025-11-29T00:00:30+08:00")
    with app.app_context():
        gone = run_job("overdue")
    assert sorted(gone) == sorted([late["number"], waiting["number"]])
    told = api.get(f"/channels/{group['id']}/deliveries").get_json()  # the group hears of both, in one message
    assert [d["event_key"] for d in told] == ["notice_overdue:" + ",".join(sorted(gone))]
    overdue = api.get("/notices?overdue=true").get_json()
    assert sorted(n["number"] for n in overdue) == sorted(gone) and all(n["overdue"] for n in overdue)
    penalty = api.get("/entries?status=counted&per_page=500").get_json()
    fines = [e for e in penalty if e["client_id"].startswith("overdue:")]
    assert sorted(e["client_id"] for e in fines) == sorted(f"overdue:{n}" for n in gone)
    (fine,) = [e for e in fines if e["client_id"] == f"overdue:{late['number']}"]
    assert (fine["item"], fine["points"], fine["note"], fine["observed_at"]) == \
        ("S2", 2, f"逾期未整改 {late['number']}", "2025-11-28T23:59:59+08:00")
    assert api.show(late["id"])["penalty_entry"] == fine["id"]
    assert api.show(late["id"])["steps"][-1]["action"] == "overdue"
    with app.app_context():
        assert run_job("overdue") == []  # once
    assert len(api.get(f"/channels/{group['id']}/deliveries").get_json()) == 1
    assert len([e for e in api.get("/entries?per_page=500").get_json()
                if e["client_id"].startswith("overdue:")]) == 2
    api.respond(late["id"])
    api.review(late["id"])  # closed late: no longer overdue, the penalty stays
    assert api.show(late["id"])["overdue"] is False


def test_overdue_penalty_is_set_at_creation_and_shown_with_the_rules(client, world, api):
    from conftest import competition_body

    made = api.answer(client.post("/api/v1/competitions", json=competition_body(name="二期", overdue_penalty=1.5),
                                  headers=world.headers()), 201)
    assert made["overdue_penalty"] == 1.5
    assert api.answer(client.get(f"/api/v1/competitions/{made['id']}", headers=world.headers("con1")))[
        "overdue_penalty"] == 1.5
    assert api.get("", who="viewer").get_json()["overdue_penalty"] == 0
    api.problem(client.post("/api/v1/competitions", json=competition_body(overdue_penalty=-1),
                            headers=world.headers()), 422, "overdue_penalty")


@pytest.mark.time_machine("2025-11-27T10:00:00+08:00")
def test_wall_report_and_exports_show_the_notices(app, client, api, world, clock):
    import io

    from openpyxl import load_workbook

    from scoring.scheduler.jobs import run_job

    in_time = api.notice(rectify_by="2025-11-28")
    api.respond(in_time["id"])
    api.review(in_time["id"])
    late = api.notice(rectify_by="2025-11-27", note="=HYPERLINK(\"http://x\")")
    api.notice(rectify_by="2025-11-30")
    api.notice(who="sup2", section="LJ-02", rectify_by="2025-11-30")
    cancelled = api.notice(rectify_by="2025-11-30")
    api.void(cancelled["entry"]["id"])
    clock.move_to("2025-11-28T08:00:00+08:00")
    with app.app_context():
        run_job("overdue")
    assert api.board(who="wall")["notices"] == {"LJ-01": {"open": 1, "overdue": 1}, "LJ-02": {"open": 1, "overdue": 0}}
    api.respond(late["id"])
    api.review(late["id"])  # closed late
    assert api.board(who="wall")["notices"]["LJ-01"] == {"open": 1, "overdue": 0}

    text = api.get("/reports/2025-11?format=text").get_data(as_text=True)
    assert "【整改情况】" in text
    assert "LJ-01 一标段：下发 3，按期闭环 1，逾期闭环 1，逾期未整改 0，整改中 1，按期整改率 33%" in text
    assert "LJ-03 三标段：下发 0" in text and "按期整改率 —" in text
    scoped = client.get(world.url("/reports/2025-11?format=text&scope=LJ-01"), headers=world.headers("con1"))
    scoped = scoped.get_data(as_text=True)
    assert f"{late['number']}" in scoped and "逾期闭环" in scoped and "按期闭环" in scoped
    assert "本月整改通知（4 份）" in scoped  # the cancelled one is listed as such
    html = api.get("/reports/2025-11?format=html&scope=LJ-01").get_data(as_text=True)
    assert "整改情况" in html and late["number"] in html

    book = load_workbook(io.BytesIO(api.get("/exports/entries.xlsx?period=2025-11").get_data()))
    sheet = book["整改通知"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sorted(r[0] for r in rows) == sorted(n["number"] for n in api.get("/notices").get_json())
    (formula,) = [c for c in sheet["F"] if c.value == "=HYPERLINK(\"http://x\")"]
    assert formula.data_type == "s" and formula.quotePrefix
    report = load_workbook(io.BytesIO(api.get("/reports/2025-11?format=xlsx").get_data()))
    assert [r[1] for r in report["整改情况"].iter_rows(min_row=2, values_only=True)] == [3, 1, 0]
