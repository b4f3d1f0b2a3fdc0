"""The office's month policy in the console (CONTRACT.md §3 "Periods", §5), in Debian's chromium against a real
gunicorn: the office switches the competition to manual close and report approval in 竞赛设置 (a bad day or
time is refused with the API's reason in Chinese, and what is shown after a reload is what the API says), closes
last month in 月度结账, sees 待审批, approves the draft after a look at its subject and flag holder, sees 已审批,
and the month's mail is then queued for every recipient; a reopen and close makes a 更正 that waits again.
"""
from __future__ import annotations

import os

import pytest
import requests
from conftest import competition_body
from playwright.sync_api import expect
from test_console_browser import DOCS, confirm, office, office_api, open_app, tab  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

RECIPIENTS = (("director@example.org", "指挥部", "all"), ("lj02@example.org", "二标段项目部", "LJ-02"))


@pytest.fixture
def season(office_api, months):  # noqa: F811 - the fixture, passed on
    """A competition made through the API as the office would have it (the service's default policy: closed by
    itself on the 3rd at 00:30, no approval, no quarter mail), three sections, two recipients, a supervisor's
    postings of last month (LJ-02 first: the flag goes there). Yields (api base URL, admin headers)."""
    call, api, admin = office_api.call, office_api.url, office_api.admin
    cid = call("POST", "/competitions", competition_body(name="外环三期五比五赛"))["id"]
    base = f"/competitions/{cid}"
    for code, name, start, end in (("LJ-01", "一标段", 0, 40), ("LJ-02", "二标段", 40, 80),
                                   ("LJ-03", "三标段", 80, 121)):
        call("POST", f"{base}/sections", {"code": code, "name": name, "start_km": start, "end_km": end,
                                          "contractor": "山东路桥集团"})
    for email, name, scope in RECIPIENTS:
        call("POST", f"{base}/recipients", {"email": email, "name": name, "scope": scope})
    call("POST", "/users", {"username": "jianli2", "password": "jianli2-pass-2026", "role": "supervisor",
                            "competition": cid, "sections": ["LJ-01", "LJ-02", "LJ-03"]})
    sup = office_api.login("jianli2", "jianli2-pass-2026")
    for n, (section, points) in enumerate((("LJ-01", 3), ("LJ-02", 1), ("LJ-03", 2))):
        r = requests.post(f"{api}{base}/entries", headers=sup, timeout=30, json={
            "client_id": f"00000000-0000-4000-8000-0000000001{n:02d}", "section": section, "team": None,
            "criterion": "safety", "item": "S1", "kind": "deduction", "points": points,
            "observed_at": months.observed_at(months.last), "note": "临边防护缺失"})
        assert r.status_code == 201, r.text
    yield f"{api}{base}", admin


def test_the_office_approves_a_closed_months_report_in_the_console(open_app, season, months, tmp_path):  # noqa: F811
    url, admin = season
    shots = DOCS if os.environ.get("CONSOLE_SCREENSHOTS") else tmp_path

    def competition() -> dict:
        return requests.get(url, headers=admin, timeout=30).json()

    def deliveries() -> list[tuple]:
        r = requests.get(f"{url}/reports/{months.last}/deliveries", headers=admin, timeout=30)
        assert r.status_code == 200, r.text
        return sorted((d["email"], d["edition"], d["status"]) for d in r.json())

    page = open_app("office")
    page.set_viewport_size({"width": 1280, "height": 800})
    tab(page, "setup")
    policy = page.locator("[data-test=policy]")
    expect(policy.locator("[data-test=p-now]")).to_have_text("当前：每月 3 日 00:30 自动结账上月；结账后月报即发送；"
                                                            "不发季度通报邮件。")
    expect(policy.locator("[data-test=p-auto]")).to_be_checked()

    # a day no month has and a time that is none: the API refuses both, said in Chinese; nothing changes
    page.fill("[data-test=p-day]", "31")
    page.fill("[data-test=p-time]", "24:00")
    page.click("[data-test=p-save]")
    errors = page.locator("[data-test=p-errors]")
    expect(errors).to_contain_text("自动结账日：应为 1 到 28 之间的整数（每个月都有这一天）")
    expect(errors).to_contain_text("自动结账时间：应为 HH:MM 格式的时刻（如 00:30）")
    assert competition()["auto_close"] == {"day": 3, "time": "00:30"}

    # another day and time, saved; after a reload the screen shows what the API has
    page.fill("[data-test=p-day]", "5")
    page.fill("[data-test=p-time]", "06:15")
    page.click("[data-test=p-save]")
    expect(policy.locator("[data-test=p-now]")).to_contain_text("每月 5 日 06:15 自动结账上月")
    assert competition()["auto_close"] == {"day": 5, "time": "06:15"}
    page.reload()
    tab(page, "setup")
    expect(page.locator("[data-test=p-day]")).to_have_value("5")
    expect(page.locator("[data-test=p-time]")).to_have_value("06:15")

    # the office closes by hand from now on, approves each report before it goes, and mails the quarters
    page.check("[data-test=p-manual]")
    expect(page.locator("[data-test=p-day]")).to_be_disabled()
    page.check("[data-test=p-approval]")
    page.check("[data-test=p-quarter]")
    page.click("[data-test=p-save]")
    expect(page.locator("[data-test=p-now]")).to_have_text("当前：手动结账；月报需审批后发送；发送季度通报邮件。")
    said = competition()
    assert (said["auto_close"], said["report_approval"], said["quarter_reports"]) == (None, True, True)
    page.reload()
    tab(page, "setup")
    expect(page.locator("[data-test=p-manual]")).to_be_checked()
    expect(page.locator("[data-test=p-auto]")).not_to_be_checked()
    expect(page.locator("[data-test=p-approval]")).to_be_checked()
    expect(page.locator("[data-test=p-quarter]")).to_be_checked()
    expect(page.locator("[data-test=p-day]")).to_be_disabled()
    page.locator("[data-test=policy]").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "console-close-policy.png"))

    # 月度结账: last month closed by hand, its report a draft awaiting approval; nothing queued yet
    tab(page, "months")
    expect(page.locator("[data-test=policy]")).to_contain_text("手动结账；月报需审批")
    row = page.locator(f"tr[data-period='{months.last}']")
    row.locator("[data-test=close]").click()
    confirm(page)
    expect(row.locator("[data-test=flag]")).to_have_text("LJ-02 二标段")
    expect(row.locator("[data-test=approval]")).to_have_text("待审批")
    expect(row.locator("[data-test=approve]")).to_be_visible()
    assert deliveries() == []
    page.screenshot(path=str(shots / "console-months-approval.png"))

    # 审批并发送: the dialog shows the mail's subject, the flag holder and how many get it; then it is queued
    row.locator("[data-test=approve]").click()
    dialog = page.locator("dialog[open]")
    year, month = months.last[:4], int(months.last[5:])
    expect(dialog.locator("[data-test=subject]")).to_have_text(f"外环三期五比五赛 {year}年{month}月 月度考核通报")
    expect(dialog.locator("[data-test=flag-holder]")).to_have_text("流动红旗：LJ-02 二标段")
    expect(dialog.locator("[data-test=recipients]")).to_contain_text("发给 2 位收件人")
    dialog.screenshot(path=str(shots / "console-approve.png"))
    confirm(page)
    expect(row.locator("[data-test=approval]")).to_have_text("已审批")
    expect(row.locator("[data-test=report]")).to_contain_text("office")
    expect(row.locator("[data-test=approve]")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "console-months-approved.png"))
    assert deliveries() == [("director@example.org", 1, "queued"), ("lj02@example.org", 1, "queued")]

    # reopened and closed again: the 更正 (edition 2) waits for its own approval, and goes once approved
    row.locator("[data-test=reopen]").click()
    confirm(page, "申诉复核")
    expect(row.locator("[data-test=close]")).to_be_visible()
    row.locator("[data-test=close]").click()
    confirm(page)
    expect(row).to_contain_text("第2版（更正）")
    expect(row.locator("[data-test=approval]")).to_have_text("待审批")
    row.locator("[data-test=approve]").click()
    expect(page.locator("dialog[open] [data-test=subject]")).to_have_text(
        f"【更正】外环三期五比五赛 {year}年{month}月 月度考核通报（第2版）")
    confirm(page)
    expect(row.locator("[data-test=approval]")).to_have_text("已审批")
    assert [d for d in deliveries() if d[1] == 2] == [("director@example.org", 2, "queued"),
                                                      ("lj02@example.org", 2, "queued")]
