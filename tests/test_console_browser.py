"""The office console and the leaders' view (CONTRACT.md §5, issue 17) in Debian's chromium, against a real
gunicorn: the competition office sets up a competition from nothing, a supervisor posts, the office voids,
closes the month, imposes and revokes a veto; a leader sees the chart; a leader's token reaches no office
screen and no office API; a supervisor's tablet never loads a byte of the console.
"""
from __future__ import annotations

import os
import re
from datetime import date

import pytest
import requests
from conftest import ROOT, SHANGHAI, LiveServer, empty_tables
from photo_support import photo
from playwright.sync_api import expect

from scoring import create_app
from scoring.clock import utcnow
from scoring.competitions.models import Competition
from scoring.extensions import db

pytestmark = pytest.mark.browser

PASSWORDS = {"office": "office-pass-2026", "leader": "leader-pass-2026", "jianli": "jianli-pass-2026"}
DOCS = ROOT / "docs"  # the README's two screenshots are redrawn there with CONSOLE_SCREENSHOTS=1


@pytest.fixture(scope="module")
def office(database_url):
    """Nothing but an admin and a viewer, behind a gunicorn; yields (server, app)."""
    from scoring.auth.operations import create_user

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        empty_tables()
        create_user("office", "admin", PASSWORDS["office"])
        create_user("leader", "viewer", PASSWORDS["leader"])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    server = LiveServer(database_url).start()
    yield server, app
    server.stop()


@pytest.fixture
def open_app(browser, office):
    """A fresh context at 1366×768 (the office's laptop); afterwards, no script error and no CSP violation."""
    server, _ = office
    contexts, problems = [], []

    def open_(who: str, **options):
        context = browser.new_context(**{"viewport": {"width": 1366, "height": 768}, "locale": "zh-CN",
                                         "timezone_id": "Asia/Shanghai", **options})
        contexts.append(context)
        page = context.new_page()
        page.loaded = []
        page.on("request", lambda r: page.loaded.append(r.url))
        page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
                and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
        page.goto(f"{server.url}/app/")
        page.fill("[data-test=username]", who)
        page.fill("[data-test=password]", PASSWORDS[who])
        page.click("[data-test=login]")
        expect(page.locator("nav.tabs")).to_be_visible()
        return page

    expect.set_options(timeout=15_000)  # the console re-renders after each answer; a loaded machine is slow
    try:
        yield open_
    finally:
        expect.set_options(timeout=5_000)  # Playwright's default, for the other modules
        for context in contexts:
            context.close()
    assert problems == []


def token(server, who: str) -> str:
    r = requests.post(f"{server.url}/api/v1/auth/token", json={"username": who, "password": PASSWORDS[who]}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["token"]


class OfficeApi:
    """The API as the office's admin calls it from a test; a user made here logs in with `login`."""

    def __init__(self, server):
        self.url = f"{server.url}/api/v1"
        self.admin = {"Authorization": f"Bearer {token(server, 'office')}"}

    def call(self, method: str, path: str, body: dict | None = None, status: int = 201,
             headers: dict | None = None) -> dict:
        r = requests.request(method, self.url + path, json=body, headers=headers or self.admin, timeout=60)
        assert r.status_code == status, r.text
        return r.json()

    def login(self, username: str, password: str) -> dict:
        r = requests.post(f"{self.url}/auth/token", json={"username": username, "password": password}, timeout=10)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def office_api(office):
    return OfficeApi(office[0])


def tab(page, name: str):
    page.click(f"a[data-screen={name}]")
    expect(page.locator(f"section.office.{'leaders' if name == 'leaders' else name}")).to_be_visible()
    expect(page.locator("section.office .loading")).to_have_count(0)


def confirm(page, reason: str | None = None):
    dialog = page.locator("dialog[open]")
    if reason:
        dialog.locator("[data-test=reason]").fill(reason)
    dialog.locator("[data-test=confirm]").click()
    expect(page.locator("dialog[open]")).to_have_count(0)


def snapshot(app, cid: int, day: date) -> None:
    """The daily snapshot the scheduler takes each evening (scheduler.jobs), for one day."""
    from scoring.competitions.operations import get_competition
    from scoring.standings.operations import take_daily_snapshot

    with app.app_context():
        take_daily_snapshot(get_competition(cid), day)
        db.session.commit()


def decode_qr(png: bytes) -> str:
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return text


def test_the_office_runs_a_competition_from_nothing(open_app, office, months, tmp_path):
    server, app = office
    shots = DOCS if os.environ.get("CONSOLE_SCREENSHOTS") else tmp_path
    page = open_app("office")
    tab(page, "setup")

    # the rulebook editor adds up as one types and refuses what the API would refuse
    page.fill("[data-test=c-name]", "外环二期五比五赛")
    page.fill("[data-test=c-organizer]", "市公路事业发展中心")
    create = page.locator("[data-test=c-create]")
    expect(create).to_be_enabled()
    page.fill("[data-test=i-quality-0-max]", "16")
    expect(page.locator("[data-test=c-errors]")).to_contain_text("质量：细则满分合计 26，不等于权重 25")
    expect(page.locator("[data-test=c-total]")).to_have_text("五项权重合计 100 / 100")
    expect(create).to_be_disabled()
    page.fill("[data-test=w-quality]", "26")
    expect(page.locator("[data-test=c-total]")).to_have_text("五项权重合计 101 / 100")
    page.click("[data-test=add-safety]")
    page.fill("[data-test=i-safety-2-code]", "S1")
    expect(page.locator("[data-test=c-errors]")).to_contain_text("细则编号 S1 重复")
    page.set_viewport_size({"width": 1366, "height": 1600})  # the whole editor in one picture for the README
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "console-rulebook.png"))
    page.set_viewport_size({"width": 1366, "height": 768})
    page.fill("[data-test=i-safety-2-code]", "S3")
    page.fill("[data-test=i-safety-2-name]", "临边防护")
    page.fill("[data-test=i-safety-2-max]", "5")
    page.fill("[data-test=i-safety-0-max]", "10")
    page.fill("[data-test=w-quality]", "25")
    page.fill("[data-test=i-quality-0-max]", "15")
    page.fill("[data-test=c-general-cap]", "2.555")
    expect(page.locator("[data-test=c-errors]")).to_contain_text("不限项目加分上限应为 0 或正数")
    page.fill("[data-test=c-general-cap]", "2")  # 上级表彰 and the like: up to 2 points on top of the five
    expect(page.locator("[data-test=c-errors] li")).to_have_count(0)
    create.click()
    expect(page.locator("[data-competition] b")).to_have_text("当前")
    with app.app_context():
        assert str(db.session.query(Competition).order_by(Competition.id.desc()).first().general_bonus_cap) == "2.00"
        db.session.remove()

    # three sections along the road, two teams
    for code, name, start, end in (("LJ-01", "一标段", "0", "40"), ("LJ-02", "二标段", "40", "80.5"),
                                   ("LJ-03", "三标段", "80.5", "121")):
        for key, value in (("code", code), ("name", name), ("start_km", start), ("end_km", end),
                           ("contractor", "山东路桥集团")):
            page.fill(f"[data-test=s-{key}]", value)
        page.click("[data-test=s-add]")
        expect(page.locator(f"tr[data-section={code}]")).to_be_visible()
    expect(page.locator("[data-test=strip] .seg")).to_have_count(3)
    for code, name, section in (("TJD-1", "顾官屯镇党员突击队", "LJ-01"), ("TJD-2", "二标党员突击队", "LJ-02")):
        page.fill("[data-test=t-code]", code)
        page.fill("[data-test=t-name]", name)
        page.fill("[data-test=t-leader]", "徐大军")
        page.select_option("[data-test=t-section]", section)
        page.click("[data-test=t-add]")
        expect(page.locator(f"tr[data-team={code}]")).to_be_visible()

    # a supervisor for two sections; a wall screen whose QR code opens the wall
    tab(page, "people")
    page.fill("[data-test=u-name]", "jianli")
    page.fill("[data-test=u-password]", "short")
    page.click("[data-test=u-create]")
    expect(page.locator("ul.errors")).to_contain_text("密码至少 10 个字符")
    page.fill("[data-test=u-password]", PASSWORDS["jianli"])
    page.check("[data-section=LJ-01]")
    page.check("[data-section=LJ-02]")
    page.click("[data-test=u-create]")
    expect(page.locator("tr[data-user=jianli]")).to_contain_text("LJ-01、LJ-02")
    page.locator("tr[data-user=jianli] [data-test=assign]").click()  # sections reassigned later
    page.check("dialog[open] [data-assign=LJ-03]")
    confirm(page)
    expect(page.locator("tr[data-user=jianli]")).to_contain_text("LJ-01、LJ-02、LJ-03")
    page.click("[data-test=make-wall]")
    url = page.locator("[data-test=wall-url]").inner_text()
    assert url.startswith(f"{server.url}/wall/") and "?token=" in url
    assert decode_qr(page.locator("[data-test=wall-qr] svg").screenshot()) == url
    wall = requests.get(url, timeout=10)
    assert wall.status_code == 200 and "外环二期五比五赛" in wall.text

    # the supervisor posts (last month: two findings, one of them a mistake; this month: one)
    sup = {"Authorization": f"Bearer {token(server, 'jianli')}"}
    cid = int(url.split("/wall/")[1].split("?")[0])
    shot = requests.post(f"{server.url}/api/v1/competitions/{cid}/photos", data=photo(seed=3), timeout=10,
                         headers={**sup, "Content-Type": "image/jpeg"})
    assert shot.status_code == 201, shot.text
    posted = {}
    for key, section, points, month in (("a", "LJ-01", 3, months.last), ("b", "LJ-02", 1, months.last),
                                        ("mistake", "LJ-02", 5, months.last), ("c", "LJ-01", 1, months.this)):
        r = requests.post(f"{server.url}/api/v1/competitions/{cid}/entries", headers=sup, timeout=10, json={
            "client_id": f"00000000-0000-4000-8000-00000000000{len(posted)}", "section": section, "team": None,
            "criterion": "safety", "item": "S1", "kind": "deduction", "points": points,
            "observed_at": months.observed_at(month), "note": "临边防护缺失",
            **({"photos": [shot.json()["id"]]} if key == "a" else {})})
        assert r.status_code == 201, r.text
        posted[key] = r.json()["id"]

    snapshot(app, cid, date(int(months.last[:4]), int(months.last[5:]), 20))  # the scheduler's evening work

    # the office voids the mistake with a reason; the audit trail shows it and links back to it
    tab(page, "entries")
    page.select_option("[data-test=f-period]", months.last)
    page.locator(f"tr[data-entry='{posted['a']}']").click()  # one opened with its photo
    expect(page.locator(f".entry-detail img[data-photo='{shot.json()['id']}']")).to_be_visible()
    row = page.locator(f"tr[data-entry='{posted['mistake']}']")
    row.click()
    page.click("[data-test=void]")
    confirm(page, "重复记分，作废")
    expect(row).to_contain_text("已作废")
    tab(page, "audit")
    page.select_option("[data-test=a-action]", "entry.voided")
    expect(page.locator("tr[data-action]")).to_have_count(1)
    voided = page.locator("tr[data-action='entry.voided']")
    expect(voided).to_contain_text("重复记分，作废")
    voided.locator("[data-test=audit-link]").click()
    expect(page.locator(".entry-detail")).to_contain_text(f"记录 #{posted['mistake']}")
    expect(page.locator(".entry-detail")).to_contain_text("重复记分，作废")

    # closing last month: the dialog shows the board to be frozen and who gets the flag; the flag goes there
    tab(page, "months")
    page.locator(f"tr[data-period='{months.last}'] [data-test=close]").click()
    expect(page.locator("[data-test=flag-to]")).to_contain_text("LJ-02 二标段")
    page.locator("dialog[open]").screenshot(path=str(shots / "console-close.png"))
    confirm(page)
    flag = page.locator(f"tr[data-period='{months.last}'] [data-test=flag]")
    expect(flag).to_have_text("LJ-02 二标段")
    expect(flag.locator("svg.flag-mark")).to_be_visible()  # drawn, not an emoji a PC without its font shows as a box

    # the month's mail: a recipient, the deliveries with their last error, the failed one sent again
    tab(page, "mail")
    page.fill("[data-test=r-email]", "director@example.org")
    page.fill("[data-test=r-name]", "指挥部")
    page.click("[data-test=r-add]")
    expect(page.locator("tr[data-recipient='director@example.org']")).to_be_visible()
    page.click("[data-test=send]")
    delivery = page.locator("tr[data-email='director@example.org']")
    expect(delivery).to_have_attribute("data-status", "queued")
    from scoring.reports.models import Delivery

    with app.app_context():  # what the scheduler's mail job leaves after a refusal (no SMTP server here)
        db.session.execute(Delivery.__table__.update().values(status="failed", attempts=1,
                                                               last_error="550 mailbox unavailable"))
        db.session.commit()
    page.click("[data-test=refresh]")
    expect(delivery).to_contain_text("550 mailbox unavailable")
    page.click("[data-test=resend]")
    confirm(page)
    expect(delivery).to_have_attribute("data-status", "queued")

    # a veto of this month and its revocation, each with the board before and after
    tab(page, "vetoes")
    page.select_option("[data-test=veto-period]", months.this)
    page.select_option("[data-test=veto-section]", "LJ-01")
    page.fill("[data-test=veto-reason]", "发生一般安全事故")
    page.click("[data-test=veto-submit]")
    expect(page.locator("[data-test=before] tr[data-code=LJ-01]")).not_to_contain_text("一票否决")
    expect(page.locator("[data-test=after] tr[data-code=LJ-01]")).to_contain_text("一票否决：发生一般安全事故")
    page.locator("[data-test=revoke]").click()
    confirm(page, "复核后不属于一般事故")
    expect(page.locator("[data-test=after] tr[data-code=LJ-01]")).not_to_contain_text("一票否决")
    expect(page.locator("tr[data-veto]")).to_contain_text("已撤销：复核后不属于一般事故")

    # on a laptop and on a portrait tablet, no screen is wider than the window (tables scroll inside)
    for width, height in ((1366, 768), (800, 1280)):
        page.set_viewport_size({"width": width, "height": height})
        for screen in ("setup", "people", "months", "vetoes", "entries", "audit", "mail", "channels", "leaders"):
            tab(page, screen)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (screen, width)

    # tonight's snapshot, then a leader sees the chart over the two months
    snapshot(app, cid, utcnow().astimezone(SHANGHAI).date())
    leader = open_app("leader")
    assert [a.get_attribute("data-screen") for a in leader.locator("a.tab").all()] == ["boards", "leaders", "help"]
    tab(leader, "leaders")
    leader.select_option("[data-test=chart-subject]", "LJ-02")
    chart = leader.locator("[data-test=chart]")
    expect(chart).to_have_attribute("data-points", "2")
    expect(leader.locator(".chart polyline.total-line")).not_to_have_count(0)
    closed = leader.locator(f"tr[data-period='{months.last}']")
    expect(closed).to_contain_text("二标段")
    expect(closed.locator("svg.flag-mark")).to_be_visible()
    closed.locator("[data-test=month-board]").click()
    expect(leader.locator(".month-board tr[data-code=LJ-02]")).to_contain_text("99")
    with leader.expect_download() as download:
        closed.locator(f"[data-download='月报-{months.last}.html']").click()
    report = download.value.path().read_text(encoding="utf-8")
    assert "外环二期五比五赛" in report and "二标段" in report


def test_a_leader_reaches_no_office_screen_and_no_office_api(open_app, office):
    server, _ = office
    page = open_app("leader")
    for screen in ("months", "vetoes", "entries", "audit", "people", "setup", "mail", "channels"):
        page.evaluate(f"window.location.hash = '#/{screen}'")
        expect(page.locator(f"a[data-screen={screen}]")).to_have_count(0)
        expect(page).not_to_have_url(re.compile(f"#/{screen}$"))
        expect(page.locator("section.office")).to_have_count(0)
    viewer = {"Authorization": f"Bearer {token(server, 'leader')}"}
    api = f"{server.url}/api/v1"
    assert requests.get(f"{api}/users", headers=viewer, timeout=10).status_code == 403
    assert requests.post(f"{api}/users", headers=viewer, timeout=10,
                         json={"username": "x1", "role": "admin", "password": "0123456789"}).status_code == 403
    assert requests.post(f"{api}/competitions", headers=viewer, timeout=10, json={}).status_code == 403


def test_a_supervisors_tablet_loads_nothing_of_the_console(open_app, office):
    from scoring.webapp.routes import STATIC

    page = open_app("office")  # an admin loads the console's modules on demand …
    tab(page, "leaders")
    assert any("/app/static/office/" in url for url in page.loaded)
    # … a supervisor's first load (the login form, before any role is known) fetches none of them
    server, _ = office
    context = page.context.browser.new_context()
    fresh = context.new_page()
    loaded = []
    fresh.on("request", lambda r: loaded.append(r.url))
    fresh.goto(f"{server.url}/app/")
    fresh.locator("[data-test=username]").wait_for()
    fresh.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20_000)
    context.close()
    assert loaded and not any("/office/" in url for url in loaded)
    assert any((STATIC / "office").glob("*.js"))


@pytest.mark.parametrize("text", ["https://x.cn/wall/1?token=abc",
                                  "https://wubisai.example.gov.cn/wall/12?token=" + "A1b2C3d4" * 14,
                                  "市大外环五比五赛 " * 30])
def test_the_apps_qr_encoder_draws_what_python_qrcode_draws(open_app, text):
    """Module for module, for every mask, at versions with and without the version blocks, ASCII and UTF-8
    (OpenCV, which reads the wall's code in the walk-through, misreads some large valid codes)."""
    import qrcode
    from qrcode.util import MODE_8BIT_BYTE, QRData

    page = open_app("leader")
    codes = page.evaluate("async (t) => { const qr = await import('/app/static/office/qr.js');"
                          " return [null, 0, 1, 2, 3, 4, 5, 6, 7].map((m) => qr.encode(t, m)); }", text)
    auto, forced = codes[0], codes[1:]
    reference = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    reference.add_data(QRData(text.encode(), mode=MODE_8BIT_BYTE), optimize=0)
    reference.make(fit=True)
    assert auto["version"] == reference.version and auto["size"] == 4 * auto["version"] + 17
    for mask, code in enumerate(forced):
        reference = qrcode.QRCode(version=auto["version"], error_correction=qrcode.constants.ERROR_CORRECT_M,
                                  border=0, mask_pattern=mask)
        reference.add_data(QRData(text.encode(), mode=MODE_8BIT_BYTE), optimize=0)
        reference.make(fit=False)
        assert code["modules"] == reference.get_matrix(), (auto["version"], mask)


def test_the_history_chart_draws_each_month_once_and_totals_past_100(open_app):
    """In a month's first days the month before, not yet closed, is snapshotted beside it: one line and one
    tick per month, never a line zigzagging between the two; a total past 100 (bonuses) stays inside the plot."""
    leader = open_app("leader")
    drawn = leader.evaluate("""async () => {
      const { chart } = await import("/app/static/office/leaders.js");
      const figure = chart([
        { day: "2025-09-30", period: "2025-09", total: 98, rank: 2 },
        { day: "2025-10-01", period: "2025-09", total: 98, rank: 2 },
        { day: "2025-10-01", period: "2025-10", total: null, rank: null },
        { day: "2025-10-02", period: "2025-09", total: 97.5, rank: 2 },
        { day: "2025-10-02", period: "2025-10", total: 102.5, rank: 1 },
        { day: "2025-10-03", period: "2025-10", total: 101, rank: 1 }], "LJ-01");
      document.body.append(figure);
      const labels = [...figure.querySelectorAll("text.axis")].map((t) => t.textContent);
      return { labels, dots: [...figure.querySelectorAll("circle.dot")].map((c) => Number(c.getAttribute("cy"))),
               lines: figure.querySelectorAll("polyline.total-line").length };
    }""")
    assert [label for label in drawn["labels"] if label.endswith("月") and "第" not in label] == ["9月", "10月"]
    assert "103" in drawn["labels"] and "100" in drawn["labels"]  # the scale reaches past 100
    assert len(drawn["dots"]) == 5 and min(drawn["dots"]) >= 16  # every total inside the plot (its top margin)
    assert drawn["lines"] == 2  # September's last days are not joined to October's
