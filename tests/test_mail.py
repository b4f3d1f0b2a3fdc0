"""Report mail over a real SMTP server (aiosmtpd on 127.0.0.1): parts, exactly once, retries."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from conftest import ROOT, free_port
from reports_support import (
    NOTE_LJ01,
    NOTE_LJ02,
    NOTE_LJ02_BONUS,
    SmtpServer,
    add_recipients,
    board_matches,
    deliveries,
    run_mail,
    run_mail_twice_at_once,
    seed_months,
    sheet_rows,
    title,
    workbook,
)
from sqlalchemy import select, update

from scoring.clock import utcnow
from scoring.extensions import db
from scoring.reports import mail
from scoring.reports.models import Delivery

CODES = ["quality", "safety", "schedule", "environment", "management"]
PEOPLE = (("director@example.org", "王主任", "all"), ("lj01@example.org", "一标段项目经理", "LJ-01"),
          ("lj02@example.org", "二标段项目经理", "LJ-02"))


def test_report_arrives_in_chinese_with_both_parts_and_the_workbook(app, api, smtp):
    app.config["SMTP_URL"] = smtp.url
    month = seed_months(api, app)  # closes the month before before anyone is on the list
    add_recipients(api, *PEOPLE)
    api.close(month)  # closing queues the report
    assert {d["status"] for d in deliveries(api, month).values()} == {"queued"}
    assert run_mail(app) == 3
    assert len(smtp.sink.messages) == 3
    message = smtp.sink.to("director@example.org")[0]
    assert message["Subject"] == title(month)
    assert message["To"].addresses[0].display_name == "王主任"
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert title(month) in text and "【标段排名】" in text and "LJ-02 二标段  总分 101" in text
    assert title(month) in html and "<table" in html and "<script" not in html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"五比五赛-{month}.xlsx"
    book = workbook(attachment.get_content())
    board_matches(sheet_rows(book, "标段排名"), api.board(month, who="admin"), CODES)
    board_matches(sheet_rows(book, "突击队排名"), api.board(month, "teams", who="admin"), CODES)
    shown = deliveries(api, month)
    assert {d["status"] for d in shown.values()} == {"sent"}
    assert all(d["attempts"] == 1 and d["last_error"] is None and d["sent_at"] for d in shown.values())
    ids = {m["Message-ID"] for m in smtp.sink.messages}
    assert len(ids) == 3 and all(i.startswith("<report.") for i in ids)


def test_section_recipient_gets_their_section_and_not_another(app, api, smtp):
    app.config["SMTP_URL"] = smtp.url
    month = seed_months(api, app)  # closes the month before before anyone is on the list
    add_recipients(api, *PEOPLE)
    api.close(month)
    run_mail(app)
    lj01 = smtp.sink.to("lj01@example.org")[0]
    text, html = lj01.get_body(("plain",)).get_content(), lj01.get_body(("html",)).get_content()
    for part in (text, html):
        assert "LJ-01 一标段 本月全部扣分与加分（2 条）" in part
        assert NOTE_LJ01 in part and "节点滞后三天" in part
        assert NOTE_LJ02 not in part and NOTE_LJ02_BONUS not in part and "蜂窝麻面" not in part
    notes = [row[8] for row in sheet_rows(workbook(next(lj01.iter_attachments()).get_content()), "计分明细")[1:]]
    assert sorted(notes) == sorted([NOTE_LJ01, "节点滞后三天"])
    lj02 = smtp.sink.to("lj02@example.org")[0].get_body(("plain",)).get_content()
    assert NOTE_LJ02 in lj02 and NOTE_LJ02_BONUS in lj02 and NOTE_LJ01 not in lj02
    director = smtp.sink.to("director@example.org")[0].get_body(("plain",)).get_content()
    assert "本月全部扣分与加分" not in director


def test_asked_twice_and_two_runs_at_once_send_once(client, world, app, smtp, api, months):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE)
    api.post(who="sup1")
    api.close(months.this)
    for _ in range(2):
        r = client.post(world.url(f"/reports/{months.this}/send"), headers=world.headers())
        assert r.status_code == 202 and len(r.get_json()) == 3
    assert sorted(run_mail_twice_at_once(app)) in ([0, 3], [1, 2])
    assert run_mail(app, utcnow() + timedelta(hours=2)) == 0
    assert sorted(m["X-Envelope-To"] for m in smtp.sink.messages) == sorted(p[0] for p in PEOPLE)
    assert {d["status"] for d in deliveries(api, months.this).values()} == {"sent"}


def test_two_scheduler_processes_send_once(client, world, app, smtp, database_url, api, months):
    add_recipients(api, *PEOPLE)
    api.post(who="sup1")
    api.close(months.this)
    env = {**os.environ, "DATABASE_URL": database_url, "SMTP_URL": smtp.url, "LOG_LEVEL": "WARNING"}
    flask = str(Path(sys.executable).parent / "flask")
    processes = [subprocess.Popen([flask, "--app", "wsgi", "scheduler", "--once", "mail"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    sent = sorted(int(out.strip().rsplit(" ", 1)[1]) for out, _ in outputs)
    assert sum(sent) == 3, outputs
    assert sorted(m["X-Envelope-To"] for m in smtp.sink.messages) == sorted(p[0] for p in PEOPLE)


def test_server_down_then_up_each_receives_it_once(client, world, app, api, months):
    server = SmtpServer(free_port())  # nothing listens there yet
    app.config["SMTP_URL"] = server.url
    add_recipients(api, *PEOPLE[:2])
    api.post(who="sup1")
    api.close(months.this)
    assert run_mail(app) == 0
    shown = deliveries(api, months.this)
    assert {d["status"] for d in shown.values()} == {"failed"}
    assert all(d["attempts"] == 1 and "cannot reach the SMTP server" in d["last_error"] for d in shown.values())
    server.start()
    try:
        assert run_mail(app) == 0  # the backoff (1 minute) has not passed: nothing is tried
        assert server.sink.messages == []
        assert run_mail(app, utcnow() + timedelta(minutes=2)) == 2
        assert run_mail(app, utcnow() + timedelta(hours=3)) == 0
        assert sorted(m["X-Envelope-To"] for m in server.sink.messages) == sorted(p[0] for p in PEOPLE[:2])
        shown = deliveries(api, months.this)
        assert all(d["status"] == "sent" and d["attempts"] == 2 and d["last_error"] is None for d in shown.values())
    finally:
        server.stop()


def test_a_refused_recipient_is_retried_alone(client, world, app, smtp, api, months):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE)
    api.post(who="sup1")
    smtp.sink.refuse.add("lj01@example.org")
    api.close(months.this)
    assert run_mail(app) == 2
    shown = deliveries(api, months.this)
    assert shown["lj01@example.org"]["status"] == "failed" and shown["lj01@example.org"]["attempts"] == 1
    assert "550" in shown["lj01@example.org"]["last_error"]
    smtp.sink.refuse.clear()
    assert run_mail(app, utcnow() + timedelta(minutes=2)) == 1
    assert sorted(m["X-Envelope-To"] for m in smtp.sink.messages) == sorted(p[0] for p in PEOPLE)


def test_a_reopened_month_holds_its_report_until_closed_again(client, world, app, smtp, api, months):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE[:1])
    api.post(who="sup1")
    api.close(months.this)
    api.reopen(months.this, reason="补录漏报扣分")
    api.post(points=4, note="补录", who="sup1")
    assert run_mail(app) == 0 and smtp.sink.messages == []
    assert deliveries(api, months.this)["director@example.org"]["status"] == "queued"
    api.close(months.this)
    assert run_mail(app) == 1 and run_mail(app) == 0
    text = smtp.sink.messages[0].get_body(("plain",)).get_content()
    assert "LJ-01 一标段  总分 95" in text  # the figures of the second close


def test_gives_up_after_max_attempts(client, world, app, smtp, api, months):
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE[1:2])
    api.post(who="sup1")
    smtp.sink.refuse.add("lj01@example.org")
    api.close(months.this)
    now = utcnow()
    for _ in range(mail.MAX_ATTEMPTS + 2):
        run_mail(app, now)
        now += mail.MAX_BACKOFF + timedelta(minutes=1)
    shown = deliveries(api, months.this)["lj01@example.org"]
    assert shown["status"] == "failed" and shown["attempts"] == mail.MAX_ATTEMPTS


def test_backoff_doubles_up_to_an_hour():
    assert [mail.backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert mail.backoff(7) == timedelta(hours=1) and mail.backoff(20) == timedelta(hours=1)


def test_interrupted_send_is_not_resent(client, world, app, smtp, runner, api, months):
    """A run that died between the SMTP server and the commit: the mail may have gone out, so it is
    not sent again by itself; an admin checks and resends by hand."""
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE[:1])
    api.post(who="sup1")
    api.close(months.this)
    with app.app_context():
        db.session.execute(update(Delivery).values(status="sending", claimed_by="host:1:dead",
                                                   claimed_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    assert run_mail(app) == 0  # still within the limit: left alone
    assert deliveries(api, months.this)["director@example.org"]["status"] == "queued"  # "sending" shows as queued
    assert run_mail(app, utcnow() + timedelta(minutes=20)) == 0
    shown = deliveries(api, months.this)["director@example.org"]
    assert shown["status"] == "failed" and shown["last_error"] == mail.INTERRUPTED
    assert run_mail(app, utcnow() + timedelta(days=2)) == 0
    assert smtp.sink.messages == []
    result = runner.invoke(args=["reports", "send", months.this, "--resend-failed"])
    assert result.exit_code == 0, result.output
    assert "sent 1 message(s)" in result.output
    assert len(smtp.sink.to("director@example.org")) == 1


def test_the_api_resends_only_the_failed_deliveries_when_asked(client, world, app, smtp, api, months):
    """The console's 重发: the office has checked the mailbox; only failed deliveries go again."""
    app.config["SMTP_URL"] = smtp.url
    add_recipients(api, *PEOPLE[:2])
    api.post(who="sup1")
    smtp.sink.refuse.add("lj01@example.org")
    api.close(months.this)
    run_mail(app)
    assert {e: d["status"] for e, d in deliveries(api, months.this).items()} == {
        "director@example.org": "sent", "lj01@example.org": "failed"}
    smtp.sink.refuse.clear()
    send = world.url(f"/reports/{months.this}/send")
    assert client.post(send, headers=world.headers()).status_code == 202  # no body: nothing failed goes again
    assert deliveries(api, months.this)["lj01@example.org"]["status"] == "failed"
    assert client.post(send, json={"resend_failed": True}, headers=world.headers("viewer")).status_code == 403
    r = client.post(send, json={"resend_failed": True}, headers=world.headers())
    assert r.status_code == 202 and {d["email"]: d["status"] for d in r.get_json()}["lj01@example.org"] == "queued"
    assert run_mail(app) == 1
    assert len(smtp.sink.to("lj01@example.org")) == 1 and len(smtp.sink.to("director@example.org")) == 1
    assert api.audit("?action=report.queued")[-1]["detail"]["requeued"] == 1
    api.problem(client.post(send, json={"resend_failed": "ja"}, headers=world.headers()), 422, "resend_failed")


def test_cli_send_queues_and_sends_once(client, world, app, smtp, runner, api, months):
    app.config["SMTP_URL"] = smtp.url
    api.post(who="sup1")
    api.close(months.this)  # no recipients yet: nothing queued
    add_recipients(api, *PEOPLE[:2])
    result = runner.invoke(args=["reports", "send", months.this])
    assert result.exit_code == 0, result.output
    assert "2 new deliveries queued" in result.output and "sent 2 message(s)" in result.output
    result = runner.invoke(args=["reports", "send", months.this])
    assert "0 new deliveries queued" in result.output and "sent 0 message(s)" in result.output
    assert len(smtp.sink.messages) == 2
    result = runner.invoke(args=["reports", "send", months.last])
    assert result.exit_code != 0 and "not closed" in result.output


def test_without_smtp_url_deliveries_stay_queued(client, world, app, caplog, api, months):
    app.config["SMTP_URL"] = None
    mail._warned_unconfigured = False
    add_recipients(api, *PEOPLE[:1])
    api.post(who="sup1")
    api.close(months.this)
    with caplog.at_level(logging.WARNING, logger="scoring.reports.mail"):
        assert run_mail(app) == 0 and run_mail(app) == 0
    assert [r.getMessage() for r in caplog.records if r.name == "scoring.reports.mail"] == [
        "SMTP_URL is not set: monthly reports stay queued until it is"]
    shown = deliveries(api, months.this)["director@example.org"]
    assert shown["status"] == "queued" and shown["attempts"] == 0
    with app.app_context():
        assert db.session.scalar(select(Delivery.claimed_by)) is None

