"""A quarter's report mailed when the competition asks for it (issue 13, point 5): `quarter_reports`, set at creation
and by PATCH; queued once per recipient and edition when the quarter's last month closes (after its approval, when
the competition asks for one); a month of it closed again mails a 【更正】 of the quarter too; never twice, never
from an archived competition. Mail read back from the aiosmtpd sink; the clock set in 2025 (Q3: July–September)."""
from __future__ import annotations

import pytest
from conftest import competition_body
from reports_support import add_recipients, run_mail, run_mail_twice_at_once, season, text_of

from scoring.scheduler.jobs import run_job

PEOPLE = (("director@example.org", "王主任", "all"), ("lj01@example.org", "一标段项目经理", "LJ-01"))
ADDRESSES = sorted(p[0] for p in PEOPLE)
OCTOBER = pytest.mark.time_machine("2025-10-02T09:00:00+08:00")
QUARTER = "市大外环五比五赛 2025年第三季度考核通报"


def quarter_deliveries(api, quarter: str = "2025-Q3") -> list[tuple]:
    return sorted((d["email"], d["edition"], d["status"])
                  for d in api.get(f"/reports/{quarter}/deliveries").get_json())


def patch(api, body: dict) -> dict:
    return api.answer(api.client.patch(api.world.url(), json=body, headers=api.world.headers()))


def quarter_mail(smtp) -> list:
    return [m for m in smtp.sink.messages if "季度考核通报" in m["Subject"]]


@OCTOBER
def test_the_quarter_report_goes_out_once_when_its_last_month_closes_and_again_as_a_correction(app, api, smtp):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE)
    assert api.get("").get_json()["quarter_reports"] is False
    assert patch(api, {"quarter_reports": True, "reason": "指挥部要求季度通报"})["quarter_reports"] is True
    (changed,) = api.audit("?action=competition.updated")
    assert (changed["detail"]["before"]["quarter_reports"], changed["detail"]["after"]["quarter_reports"]) == (
        False, True)
    for month in ("2025-07", "2025-08", "2025-09"):
        season(api, month)
    api.close("2025-07")
    api.close("2025-08")
    assert quarter_deliveries(api) == []  # September still runs
    api.close("2025-09")
    assert quarter_deliveries(api) == [(a, 1, "queued") for a in ADDRESSES]

    assert run_mail(app) == 3 * 2 + 2 and run_mail(app) == 0
    by_address = {m["X-Envelope-To"]: m for m in quarter_mail(smtp)}
    assert sorted(by_address) == ADDRESSES
    director, manager = by_address["director@example.org"], by_address["lj01@example.org"]
    assert director["Subject"] == QUARTER
    text = text_of(director)
    assert "考核季度：2025-Q3（计入已结账的 3 个月：2025-07、2025-08、2025-09）（已结账）" in text
    assert "LJ-01 一标段  总分 99" in text and "更正" not in text
    assert "范围：LJ-01 一标段" in text_of(manager)
    assert director.get_body(("html",)) is not None
    assert any(part.get_filename() == "五比五赛-2025-Q3.xlsx" for part in director.iter_attachments())
    assert quarter_deliveries(api) == [(a, 1, "sent") for a in ADDRESSES]

    # A late inspection of August: reopened (the quarter's mail would wait), closed again: a 更正 of August and
    # of the quarter, each to every recipient once.
    assert api.post(month="2025-08", who="sup1", points=9, note="八月迟到的检查")["status"] == "late"
    api.reopen("2025-08", reason="补录八月迟到的安全检查扣分")
    assert run_mail(app) == 0
    api.close("2025-08")
    assert run_mail(app) == 4 and run_mail(app) == 0
    corrections = [m for m in quarter_mail(smtp) if m["Subject"].startswith("【更正】")]
    assert sorted(m["X-Envelope-To"] for m in corrections) == ADDRESSES
    correction = next(m for m in corrections if m["X-Envelope-To"] == "director@example.org")
    assert correction["Subject"] == f"【更正】{QUARTER}（第2版）"
    text = text_of(correction)
    assert "【更正说明】本通报为第 2 版" in text and "补录八月迟到的安全检查扣分" in text
    assert "2025-08 月度通报：第1版 → 第2版" in text
    assert "标段 LJ-01 一标段：第1名 → 第3名，总分 99 → 96" in text
    assert quarter_deliveries(api) == sorted((a, e, "sent") for a in ADDRESSES for e in (1, 2))

    # Asked again by hand, however often: nothing new for anyone. The on-demand report says the same.
    for _ in range(2):
        api.answer(api.client.post(api.world.url("/reports/2025-Q3/send"), headers=api.world.headers()), 202)
    assert run_mail(app) == 0
    report = api.get("/reports/2025-Q3?format=text", who="viewer").get_data(as_text=True)
    assert report.startswith(f"【更正】{QUARTER}（第2版）") and "补录八月迟到的安全检查扣分" in report


@OCTOBER
def test_with_approval_the_quarter_waits_for_the_month_that_completes_it(app, api, smtp):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE[:1])
    patch(api, {"report_approval": True, "quarter_reports": True})
    for month in ("2025-07", "2025-08", "2025-09"):
        season(api, month)
        api.close(month)

    def approve(month):
        return api.answer(api.client.post(api.world.url(f"/reports/{month}/approve"), headers=api.world.headers()))

    approve("2025-07")
    approve("2025-09")
    assert quarter_deliveries(api) == []  # August is a draft still
    api.problem(api.client.post(api.world.url("/reports/2025-Q3/send"), headers=api.world.headers()), 409)
    approve("2025-08")
    assert quarter_deliveries(api) == [("director@example.org", 1, "queued")]
    assert run_mail(app) == 4

    # September reopened and closed again: its draft holds the quarter's 更正 until it is approved.
    api.reopen("2025-09", reason="申诉复核")
    api.close("2025-09")
    assert run_mail(app) == 0 and quarter_deliveries(api) == [("director@example.org", 1, "sent")]
    approve("2025-09")
    assert run_mail(app) == 2
    assert [m["Subject"] for m in quarter_mail(smtp)] == [QUARTER, f"【更正】{QUARTER}（第2版）"]
    assert "排名与总分均无变化" in text_of(quarter_mail(smtp)[-1])


@pytest.mark.time_machine("2025-10-03T00:29:00+08:00")
def test_the_scheduler_closes_the_quarters_last_month_and_two_mail_runs_send_it_once(app, api, smtp, clock):
    app.config["SMTP_URL"] = smtp.url
    created = api.answer(api.client.post("/api/v1/competitions", headers=api.world.headers(),
                                         json=competition_body(name="季度通报竞赛", quarter_reports=True)), 201)
    assert created["quarter_reports"] is True
    patch(api, {"quarter_reports": True})
    add_recipients(api, *PEOPLE)
    for month in ("2025-07", "2025-08", "2025-09"):
        season(api, month)
    with app.app_context():  # July and August are past their deadline, September not yet
        assert run_job("close") == [f"{api.world.cid}:{m}" for m in ("2025-07", "2025-08")]
    assert quarter_deliveries(api) == []
    clock.move_to("2025-10-03T00:30:00+08:00")
    with app.app_context():
        assert run_job("close") == [f"{api.world.cid}:2025-09"]
    assert quarter_deliveries(api) == [(a, 1, "queued") for a in ADDRESSES]
    assert sum(run_mail_twice_at_once(app)) == 3 * 2 + 2
    assert sorted(m["X-Envelope-To"] for m in quarter_mail(smtp)) == ADDRESSES
    assert run_mail(app) == 0 and quarter_deliveries(api) == [(a, 1, "sent") for a in ADDRESSES]


@OCTOBER
def test_off_by_default_on_demand_by_hand_and_never_from_an_archive(app, api, smtp):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE[:1])
    for month in ("2025-07", "2025-08"):
        season(api, month)
        api.close(month)
    before = api.stored()
    send = api.world.url("/reports/2025-Q3/send")
    assert "not complete" in api.problem(api.client.post(send, headers=api.world.headers()), 409)["detail"]
    for who, status in (("viewer", 403), (None, 401)):
        api.problem(api.client.post(send, headers=api.world.headers(who)), status)
    api.problem(api.client.post(api.world.url("/reports/2025-Q5/send"), headers=api.world.headers()), 404)
    assert api.stored() == before
    season(api, "2025-09")
    api.close("2025-09")
    assert run_mail(app) == 3 and quarter_deliveries(api) == []  # the months only: quarter_reports is false
    # The office asks for it by hand.
    api.answer(api.client.post(send, headers=api.world.headers()), 202)
    assert quarter_deliveries(api) == [("director@example.org", 1, "queued")]
    # Archived before the mail went: nothing goes out, and nothing can be asked for.
    patch(api, {"archived": True})
    assert run_mail(app) == 0
    api.problem(api.client.post(send, headers=api.world.headers()), 409)
    patch(api, {"archived": False})
    assert run_mail(app) == 1 and [m["Subject"] for m in quarter_mail(smtp)] == [QUARTER]


@OCTOBER
def test_a_month_without_entries_does_not_hold_its_quarter(app, api, smtp):
    """A competition that started in August: July has nothing to close, the quarter still goes out."""
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE[:1])
    patch(api, {"quarter_reports": True})
    for month in ("2025-08", "2025-09"):
        season(api, month)
        api.close(month)
    assert quarter_deliveries(api) == [("director@example.org", 1, "queued")]
    assert run_mail(app) == 3
    assert "计入已结账的 2 个月：2025-08、2025-09" in text_of(quarter_mail(smtp)[0])


@OCTOBER
def test_the_cli_sends_and_previews_a_quarter(app, api, smtp, runner, tmp_path):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE[:1])
    for month in ("2025-07", "2025-08", "2025-09"):
        season(api, month)
        api.close(month)
    assert run_mail(app) == 3
    result = runner.invoke(args=["reports", "send", "2025-Q3"])
    assert result.exit_code == 0, result.output
    assert "2025-Q3: 1 new deliveries queued" in result.output and "sent 1 message(s)" in result.output
    assert [m["Subject"] for m in quarter_mail(smtp)] == [QUARTER]
    out = tmp_path / "q.txt"
    result = runner.invoke(args=["reports", "preview", "2025-Q3", "--out", str(out), "--text"])
    assert result.exit_code == 0 and out.read_text(encoding="utf-8").startswith(QUARTER)
    assert runner.invoke(args=["reports", "send", "2025-Q5"]).exit_code != 0
