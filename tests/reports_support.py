"""Shared by the report, mail and export tests: a month worth reporting, and a real SMTP sink."""
from __future__ import annotations

import email
import io
import threading
from datetime import date
from decimal import Decimal
from email import policy

import pytest
from aiosmtpd.controller import Controller
from conftest import free_port
from openpyxl import load_workbook

from scoring.competitions.models import Competition
from scoring.extensions import db
from scoring.reports import mail
from scoring.scheduler.jobs import run_job
from scoring.standings.operations import take_daily_snapshot

# Notes that tell the sections' details apart in a report.
NOTE_LJ01 = "脚手架临边未设防护栏杆"
NOTE_LJ02 = "施工便道扬尘未洒水"
NOTE_LJ02_BONUS = "钢筋加工工艺创新获表扬"
VETO_REASON = "发生一般安全生产责任事故"


def seed_months(api, app) -> str:
    """The month before last closed (LJ-01 first, then LJ-03, LJ-02); last month with entries, a veto and daily
    snapshots on its 4th, 11th and 20th, left open: tests close it (which queues the report). Returns its key."""
    months, month = api.months, api.months.last
    before = months.at(months.ago(2), 15, 9)
    api.post(who="sup1", points=1, observed_at=before, note="上月检查")
    api.post(who="sup2", section="LJ-02", points=3, observed_at=before, note="上月检查")
    api.post(who="sup2", section="LJ-03", points=2, observed_at=before, note="上月检查")
    api.close(months.ago(2))
    api.post(who="sup1", points=5, note=NOTE_LJ01, observed_at=months.at(month, 3, 9))
    api.post(who="sup2", section="LJ-02", criterion="environment", item="E1", points=0.5, note=NOTE_LJ02,
             observed_at=months.at(month, 3, 10))
    api.post(who="sup2", section="LJ-03", team="TJD-3", criterion="quality", item="Q1", points=1.25,
             note="混凝土表面蜂窝麻面", observed_at=months.at(month, 4, 10))
    snapshot(api, app, 4)
    api.post(who="sup1", team="TJD-1", criterion="schedule", item="P1", points=2, note="节点滞后三天",
             observed_at=months.at(month, 10, 10))
    api.post(who="sup2", section="LJ-02", criterion="quality", item=None, kind="bonus", points=1.5,
             note=NOTE_LJ02_BONUS, observed_at=months.at(month, 11, 10))
    snapshot(api, app, 11)
    api.veto("LJ-03", period=month, reason=VETO_REASON)
    snapshot(api, app, 20)
    return month


def snapshot(api, app, day: int) -> None:
    """The daily standings of last month's `day`, as the scheduler takes them."""
    month = api.months.last
    with app.app_context():
        take_daily_snapshot(db.session.get(Competition, api.world.cid), date(int(month[:4]), int(month[5:]), day))
        db.session.commit()


def title(month: str) -> str:
    """The report's title for a month: 市大外环五比五赛 2026年11月 月度考核通报."""
    return f"市大外环五比五赛 {month[:4]}年{int(month[5:])}月 月度考核通报"


def add_recipients(api, *recipients) -> list[dict]:
    return [api.answer(api.client.post(api.world.url("/recipients"), json={"email": mail, "name": name, "scope": scope},
                                       headers=api.world.headers()), 201)
            for mail, name, scope in recipients]


class Sink:
    """An aiosmtpd handler keeping every message; addresses in `refuse` get a 550 at RCPT."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["X-Envelope-To"].split(",")]


class SmtpServer:
    """aiosmtpd on 127.0.0.1; can be stopped and started again on the same port."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.sink = Sink()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def workbook(data: bytes):
    return load_workbook(io.BytesIO(data), read_only=True)


def sheet_rows(book, title: str) -> list[tuple]:
    return list(book[title].iter_rows(values_only=True))


def as_number(value):
    """A cell read back as an exact number (the test client parses JSON numbers as Decimal); None stays None."""
    return None if value in (None, "") else Decimal(str(value))


def board_matches(rows: list[tuple] | list[list], board: dict, criteria_codes: list[str]) -> None:
    """Rows of a standings export (header first) say exactly what the leaderboard says."""
    header, *body = rows
    assert header[:4] == ("排名", "编号", "名称", "总分") or list(header[:4]) == ["排名", "编号", "名称", "总分"]
    assert len(body) == len(board["rows"])
    for got, want in zip(body, board["rows"], strict=True):
        assert got[1] == want["code"] and got[2] == want["name"]
        assert (None if got[0] in (None, "") else int(got[0])) == want["rank"]
        assert as_number(got[3]) == want["total"]
        for index, code in enumerate(criteria_codes, start=4):
            assert as_number(got[index]) == want["criteria"][code]
        assert as_number(got[9]) == want["deductions"]
        assert as_number(got[10]) == want["bonus"]
        assert (None if got[11] in (None, "") else int(got[11])) == want["movement"]
        assert (None if got[12] in (None, "") else int(got[12])) == want["flags"]
        assert got[13] == ("是" if want["vetoed"] else "否")
        assert (got[14] or None) == want["veto_reason"]


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a free 127.0.0.1 port, keeping what it receives."""
    server = SmtpServer().start()
    yield server
    server.stop()


def run_mail(app, now=None) -> int:
    """One run of the scheduler's mail job (at `now`, to step past a backoff)."""
    with app.app_context():
        if now is None:
            return run_job("mail")
        try:
            sent = mail.send_due(now)
            db.session.commit()
            return sent
        finally:
            db.session.remove()


def run_mail_twice_at_once(app) -> list[int]:
    """Two runs of the mail job started together (two scheduler threads racing); what each sent."""
    barrier, results, errors = threading.Barrier(2), [], []

    def run():
        try:
            barrier.wait(10)
            results.append(run_mail(app))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def deliveries(api, period: str) -> dict[str, dict]:
    """The month's deliveries by address (the newest edition's, when there are several)."""
    return {d["email"]: d for d in api.get(f"/reports/{period}/deliveries").get_json()}


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def season(api, month: str) -> None:
    """LJ-01 99, LJ-03 98, LJ-02 97: the flag to LJ-01."""
    api.post(month=month, who="sup1", points=1)
    api.post(month=month, who="sup2", section="LJ-02", points=3)
    api.post(month=month, who="sup2", section="LJ-03", points=2)
