"""The office's 群机器人 screen (CONTRACT.md §5, §8) in Debian's chromium against a real gunicorn: the office adds a
signed DingTalk bot (the form refuses what the API would refuse; a wrong address gets the API's words in Chinese
and stores nothing), sees it listed masked with the secret nowhere in the page, follows its deliveries — queued,
sent by the channels' job to a local server that plays DingTalk and checks the signature, failed with the
platform's words — and stops it after a confirmation: stopped, its history still there."""
from __future__ import annotations

import os

import pytest
import requests
from bot_platforms import BotPlatforms
from conftest import ROOT, competition_body
from playwright.sync_api import expect
from test_console_browser import confirm, office, open_app, tab, token  # noqa: F401 - fixtures

from scoring.channels import outbox
from scoring.extensions import db

pytestmark = pytest.mark.browser

KEY = "8f1c2d3e4b5a69788f1c2d3e4b5a69788f1c2d3e4b5a6978"  # the access_token of the bot's webhook address
SECRET = "SECd4f0c1e2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5"
DOCS = ROOT / "docs"  # CONSOLE_SCREENSHOTS=1 redraws the README's picture of the screen there


@pytest.fixture
def platforms():
    server = BotPlatforms().start()
    yield server
    server.stop()


def send(app) -> int:
    """One run of the scheduler's channels job, in this process."""
    with app.app_context():
        sent = outbox.send_due()
        db.session.remove()
        return sent


def page_text(page) -> str:
    """Everything the page holds: its markup, its text and what its inputs hold."""
    return page.content() + page.locator("body").inner_text() + "".join(
        page.evaluate("() => [...document.querySelectorAll('input, textarea, select')].map((i) => i.value)"))


def test_the_office_adds_watches_and_stops_a_dingtalk_bot(open_app, office, platforms, months, tmp_path):  # noqa: F811
    server, app = office
    admin = {"Authorization": f"Bearer {token(server, 'office')}"}
    api = f"{server.url}/api/v1"
    made = requests.post(f"{api}/competitions", json=competition_body(), headers=admin, timeout=10)
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    r = requests.post(f"{api}/competitions/{cid}/sections", headers=admin, timeout=10, json={
        "code": "LJ-01", "name": "一标段", "start_km": 0, "end_km": 40, "contractor": "山东路桥集团"})
    assert r.status_code == 201, r.text
    from scoring.auth.operations import create_user, issue_token

    with app.app_context():  # a supervisor posts a finding last month, so that month can be closed
        supervisor, _ = issue_token(create_user("jianli", "supervisor", "jianli-pass-2026", cid, ["LJ-01"]))
        db.session.commit()
        db.session.remove()
    r = requests.post(f"{api}/competitions/{cid}/entries", headers={"Authorization": f"Bearer {supervisor}"},
                      timeout=10, json={"client_id": "00000000-0000-4000-8000-0000000000c1", "section": "LJ-01",
                                        "team": None, "criterion": "safety", "item": "S1", "kind": "deduction",
                                        "points": 2, "observed_at": months.observed_at(months.last),
                                        "note": "临边防护缺失"})
    assert r.status_code == 201, r.text
    bot, url = platforms.bot("dingtalk", KEY, SECRET)

    def stored() -> list[dict]:
        r = requests.get(f"{api}/competitions/{cid}/channels", headers=admin, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    page = open_app("office")
    tab(page, "channels")
    expect(page.locator("tr[data-channel]")).to_have_count(0)
    errors = page.locator("[data-test=ch-errors] li")

    # WeCom bots are not signed: no secret asked; DingTalk and Feishu ask one, typed out of sight
    page.select_option("[data-test=ch-kind]", "wecom")
    expect(page.locator("[data-test=ch-secret]")).to_be_hidden()
    page.select_option("[data-test=ch-kind]", "dingtalk")
    expect(page.locator("[data-test=ch-secret]")).to_have_attribute("type", "password")

    # what the form refuses before sending: no address, no event
    for box in page.locator("[data-event]").all():
        box.uncheck()
    page.click("[data-test=ch-add]")
    expect(errors).to_have_text(["请填写 Webhook 地址", "请至少选择一个事件"])

    # an address that is not DingTalk's: the API's refusal in Chinese, and nothing stored
    page.fill("[data-test=ch-url]", "https://example.org/hooks/robot?token=abc")
    page.check("[data-event=month_closed]")
    page.click("[data-test=ch-add]")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("Webhook 地址：钉钉自定义机器人的 Webhook 地址，形如 https://oapi.dingtalk.com/robot/send")
    assert stored() == []

    # the right address and its secret, for the month's result and the vetoes
    page.fill("[data-test=ch-url]", url)
    page.fill("[data-test=ch-secret]", SECRET)
    page.check("[data-event=veto]")
    page.click("[data-test=ch-add]")
    row = page.locator("tr[data-channel]")
    expect(row).to_have_count(1)
    expect(errors).to_have_count(0)
    (channel,) = stored()
    assert channel["events"] == ["month_closed", "veto"] and channel["secret"] == "****c4d5"
    expect(row).to_have_attribute("data-state", "active")
    for cell, text in zip(row.locator("td").all()[:5],
                          ("钉钉", channel["url"], "已设置（****c4d5）", "月度结账结果、否决", "启用中"), strict=True):
        expect(cell).to_have_text(text)
    assert channel["url"].endswith("/robot/send?access_token=****6978")
    everything = page_text(page)
    assert SECRET not in everything and SECRET[3:15] not in everything
    assert KEY not in everything and KEY[:12] not in everything

    # a month closed: its message waits, then the channels' job sends it, signed; a veto the platform refuses
    closed = requests.post(f"{api}/competitions/{cid}/periods/{months.last}/close", headers=admin, timeout=10)
    assert closed.status_code == 200, closed.text
    row.locator("[data-test=deliveries]").click()
    delivery = page.locator("tr[data-delivery]")
    expect(delivery).to_have_count(1)
    expect(delivery).to_have_attribute("data-status", "queued")
    expect(delivery).to_contain_text("月度结账结果")
    expect(delivery).to_contain_text("待发送")
    assert send(app) == 1 and len(bot.messages) == 1  # the platform checked the signature
    page.click("[data-test=refresh]")
    expect(delivery).to_have_attribute("data-status", "sent")
    expect(delivery.locator("td").nth(2)).to_have_text("已发送")
    expect(delivery.locator("td").nth(3)).to_have_text("1")
    platforms.fail_next["dingtalk"].append({"errcode": 300001, "errmsg": "token is not exist"})
    veto = requests.post(f"{api}/competitions/{cid}/vetoes", headers=admin, timeout=10, json={
        "section": "LJ-01", "team": None, "period": months.this, "reason": "发生一般安全事故"})
    assert veto.status_code == 201, veto.text
    assert send(app) == 0
    page.click("[data-test=refresh]")
    expect(delivery).to_have_count(2)
    failed = page.locator("tr[data-delivery][data-status=failed]")
    expect(failed).to_contain_text("否决")
    expect(failed).to_contain_text("钉钉 300001: token is not exist")
    expect(failed.locator("td").nth(2)).to_have_text("失败")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#toast").evaluate("(toast) => { toast.hidden = true; }")  # 已添加… from a moment ago
    nav = page.locator("nav.tabs")  # every tab of the office in sight on the laptop, this one too
    assert nav.evaluate("(n) => n.scrollWidth <= n.clientWidth"), nav.evaluate("(n) => [n.scrollWidth, n.clientWidth]")
    shots = DOCS if os.environ.get("CONSOLE_SCREENSHOTS") else tmp_path
    page.screenshot(path=str(shots / "console-channels.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280

    # stopping it: the dialog says its history stays; it is listed stopped, the API lists it no more
    row.locator("[data-test=stop]").click()
    expect(page.locator("dialog[open]")).to_contain_text("已发送的记录保留")
    confirm(page)
    expect(row).to_have_attribute("data-state", "stopped")
    expect(row).to_contain_text("已停用")
    expect(row.locator("[data-test=stop]")).to_have_count(0)
    assert stored() == []
    expect(page.locator("tr[data-delivery][data-status=sent]")).to_contain_text("月度结账结果")
    # the audit trail names it and leads back to it: drawn anew, still listed stopped, its history one click away
    tab(page, "audit")
    page.select_option("[data-test=a-action]", "channel.removed")
    expect(page.locator("tr[data-action]")).to_have_count(1)
    page.locator("tr[data-action='channel.removed'] [data-test=audit-link]").click()
    expect(page.locator("[data-test=deliveries-of]")).to_have_attribute("data-channel", str(channel["id"]))
    expect(page.locator(".channel-deliveries")).to_contain_text("该机器人已停用")
    expect(page.locator("tr[data-delivery][data-status=sent]")).to_have_count(1)
    expect(row).to_have_attribute("data-state", "stopped")
    expect(row.locator("td").nth(1)).to_have_text(channel["url"])
    expect(row.locator("td").nth(3)).to_have_text("月度结账结果、否决")
    everything = page_text(page)
    assert SECRET not in everything and KEY not in everything
