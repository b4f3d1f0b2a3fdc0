"""The console's 审计 screen (CONTRACT.md §3 Audit, §5) in Debian's chromium against a real gunicorn, on a trail
longer than a page: the newest 100 rows first with the whole trail's count, 更早的记录 for the next older ones;
every action in Chinese; 内容 as "标签：值" pairs (no JSON, no null); the 对象 filter and #/audit/<target> (the
记录 screen's 修改历史 link) show one entry's history; 起始日期 is a day on the competition's clock, not the
browser's; nothing runs off a 1280-px screen."""
from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
import requests
from conftest import competition_body
from playwright.sync_api import expect
from test_console_browser import DOCS, office, office_api, open_app, tab  # noqa: F401 - fixtures

from scoring.clock import utcnow

pytestmark = pytest.mark.browser

ZONE = "America/Los_Angeles"  # far from the browser's Asia/Shanghai: a day there is not a day here
POSTED = 120


@pytest.fixture
def trail(office_api):  # noqa: F811 - the fixture, passed on
    """A competition on Los Angeles time, a supervisor who posts 120 entries in one batch, one of them voided with a
    reason and a section renamed. Yields (api base URL, admin headers, cid, the entry ids posted)."""
    call = office_api.call
    cid = call("POST", "/competitions", competition_body(name="审计演练", timezone=ZONE))["id"]
    call("POST", f"/competitions/{cid}/sections", {"code": "LJ-01", "name": "一标段", "start_km": 0, "end_km": 40,
                                                  "contractor": "山东路桥集团"})
    call("POST", "/users", {"username": "shenji", "password": "shenji-pass-2026", "role": "supervisor",
                            "competition": cid, "sections": ["LJ-01"]})
    supervisor = office_api.login("shenji", "shenji-pass-2026")
    observed = (utcnow() - timedelta(hours=1)).replace(microsecond=0).isoformat()
    results = call("POST", f"/competitions/{cid}/entries", {"entries": [
        {"client_id": str(uuid.uuid4()), "section": "LJ-01", "team": None, "criterion": "safety", "item": "S1",
         "kind": "deduction", "points": 1 + i % 3, "observed_at": observed, "note": "临边防护缺失"}
        for i in range(POSTED)]}, status=200, headers=supervisor)["results"]
    assert [x["status"] for x in results] == ["created"] * POSTED
    ids = [x["id"] for x in results]
    call("POST", f"/entries/{ids[5]}/void", {"reason": "重复记分，作废"}, status=200)
    call("PATCH", f"/competitions/{cid}/sections/LJ-01", {"name": "一标段（改）", "reason": "更名"}, status=200)
    yield office_api.url, office_api.admin, cid, ids


def test_the_audit_screen_pages_names_and_filters_a_long_trail(open_app, office, trail, tmp_path):  # noqa: F811
    server, _ = office
    api, admin, cid, ids = trail
    shots = DOCS if os.environ.get("CONSOLE_SCREENSHOTS") else tmp_path
    page = open_app("office")  # its login is in the trail too (token.created)
    r = requests.get(f"{api}/competitions/{cid}/audit?per_page=500", headers=admin, timeout=30)
    assert r.status_code == 200, r.text
    everything = r.json()
    total = int(r.headers["X-Total-Count"])
    assert total == len(everything) > POSTED

    page.set_viewport_size({"width": 1280, "height": 800})
    tab(page, "audit")
    rows = page.locator("table.audit-trail tbody tr[data-action]")

    # newest first, a page of 100, the count of the whole trail
    expect(page.locator("[data-test=a-count]")).to_contain_text(f"共 {total} 条")
    expect(rows).to_have_count(100)
    newest = [str(e["id"]) for e in reversed(everything)]
    expect(rows.first).to_have_attribute("data-id", newest[0])
    assert [rows.nth(i).get_attribute("data-id") for i in (0, 1, 99)] == [newest[0], newest[1], newest[99]]

    # the whole screen fits 1280 px: nothing runs off it, not even the table inside its scroller
    widths = page.evaluate("""() => [document.documentElement.scrollWidth,
        document.querySelector('section.office.audit .scroll').scrollWidth,
        document.querySelector('section.office.audit .scroll').clientWidth]""")
    assert widths[0] <= 1280 and widths[1] <= widths[2], widths
    reason = page.locator("table.audit-trail td.reason").first.bounding_box()
    assert reason["width"] >= 100, reason  # 理由 is not squeezed to a character a line
    page.screenshot(path=str(shots / "console-audit.png"))

    # 更早的记录: the next older rows below, until the trail's first row
    page.click("[data-test=a-older]")
    expect(rows).to_have_count(min(total, 200))
    assert rows.last.get_attribute("data-id") == newest[min(total, 200) - 1]
    if total <= 200:
        expect(page.locator("[data-test=a-older]")).to_have_count(0)
        expect(rows.last).to_have_attribute("data-id", str(everything[0]["id"]))  # the trail's first row
    # read newest first and paged back by id, never by an offset the database must skip through
    asked = [url for url in page.loaded if "/audit?" in url]
    assert asked and all("order=newest" in url and "&page=" not in url for url in asked), asked
    assert any(f"before={newest[99]}" in url for url in asked), asked

    # no JSON and no null on screen; every action in Chinese
    cells = page.locator("table.audit-trail tbody td").all_inner_texts()
    assert not [c for c in cells if "{" in c or "null" in c]
    actions = page.locator("table.audit-trail td.what").all_inner_texts()
    assert set(e["action"] for e in everything) >= {"entry.posted", "entry.voided", "section.updated", "user.created"}
    assert not [a for a in actions if re.fullmatch(r"[a-z_]+\.[a-z_]+", a)], actions
    renamed = page.locator("tr[data-action='section.updated'] td.detail")
    expect(renamed).to_contain_text("修改前：名称 一标段")
    expect(renamed).to_contain_text("修改后：名称 一标段（改）")

    # the 操作 filter offers every action recorded here, by its Chinese name
    offered = dict(page.locator("[data-test=a-action] option").evaluate_all("os => os.map(o => [o.value, o.text])"))
    for action in {e["action"] for e in everything}:
        assert offered.get(action) and not re.fullmatch(r"[a-z_.]+", offered[action]), action

    # 对象: one entry's history — voided with its reason on top, posted below, in words
    voided = ids[5]
    page.fill("[data-test=a-target]", f"entry:{voided}")
    page.locator("[data-test=a-target]").dispatch_event("change")
    expect(rows).to_have_count(2)
    expect(page.locator("[data-test=a-count]")).to_contain_text("共 2 条")
    expect(page.locator("[data-test=a-older]")).to_have_count(0)  # the whole history on screen: nothing older
    expect(page.locator("section.office.audit")).not_to_contain_text("null")
    expect(rows.nth(0)).to_have_attribute("data-action", "entry.voided")
    expect(rows.nth(0).locator("td.what")).to_have_text("作废记录")
    expect(rows.nth(0).locator("td.reason")).to_have_text("重复记分，作废")
    expect(rows.nth(1).locator("td.what")).to_have_text("录入记录")
    posted = rows.nth(1).locator("td.detail")
    for words in ("标段：LJ-01", f"分值：{1 + 5 % 3}", "考核项目：安全", "类型：扣分", "考核细则：S1"):
        expect(posted).to_contain_text(words)
    expect(posted).not_to_contain_text("突击队")  # null left out

    # #/audit/<target> opens the screen filtered; the 记录 screen links an entry to it
    page.evaluate(f"location.hash = '#/audit/entry:{ids[7]}'")
    expect(page.locator("[data-test=a-target]")).to_have_value(f"entry:{ids[7]}")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-action", "entry.posted")
    tab(page, "entries")
    page.select_option("[data-test=f-period]", "")
    page.locator(f"tr[data-entry='{voided}']").click()
    page.click("[data-test=entry-history]")
    expect(page.locator("[data-test=a-target]")).to_have_value(f"entry:{voided}")
    expect(rows).to_have_count(2)

    # 起始日期 is a day on the competition's clock (Los Angeles), whatever the browser's (Shanghai)
    tab(page, "audit")
    today = utcnow().astimezone(ZoneInfo(ZONE)).date()
    page.fill("[data-test=a-since]", (today + timedelta(days=1)).isoformat())
    page.locator("[data-test=a-since]").dispatch_event("change")
    expect(page.locator("[data-test=a-count]")).to_contain_text("共 0 条")
    page.fill("[data-test=a-since]", today.isoformat())
    page.locator("[data-test=a-since]").dispatch_event("change")
    expect(page.locator("[data-test=a-count]")).to_contain_text(f"共 {total} 条")
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=ZoneInfo(ZONE)).isoformat()
    assert any(f"since={midnight}" in unquote(url) for url in page.loaded if "/audit?" in url), midnight


def test_every_action_the_service_records_has_a_chinese_name():
    """The 操作 column and filter name every action a `record(` call (or a rulebook correction) writes."""
    from conftest import ROOT

    recorded = set()
    for path in (ROOT / "scoring").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        recorded |= set(re.findall(r'\b(?:record|record_many|_correct)\((?:[^()"]*?,\s*)?"([a-z_]+\.[a-z_]+)"', text))
        if 'record(f"notice.{action}"' in text:  # a review: passed or rejected
            recorded |= {"notice.passed", "notice.rejected"}
    assert {"entry.posted", "notice.overdue", "criterion.updated", "user.password_set"} <= recorded, recorded
    screen = (ROOT / "scoring/webapp/static/office/audit.js").read_text(encoding="utf-8")
    named = dict(re.findall(r'"([a-z_]+\.[a-z_]+)": "([^"]+)"', screen))
    assert recorded - named.keys() == set()
    assert not [name for name in named.values() if re.fullmatch(r"[a-z_.]+", name)]
