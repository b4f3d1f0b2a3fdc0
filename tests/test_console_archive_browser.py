"""Archiving from the console (CONTRACT.md §3 `PATCH /competitions/{cid}` `{"archived"}`, §5), in Debian's chromium
against a real gunicorn: the office archives a sandbox competition in 竞赛设置 after a confirmation that says what
archiving does; it leaves the competitions and waits under 已归档的竞赛, and the API agrees (out of the list, a
supervisor's posting refused); 恢复 brings it back, and the API agrees; archiving the console's own competition
moves the console to the other one — every screen, and after a reload — and archiving the last one leaves the
console with no competition, as on the first day."""
from __future__ import annotations

import os
import uuid

import pytest
import requests
from conftest import competition_body
from playwright.sync_api import expect
from test_console_browser import DOCS, confirm, office, office_api, open_app, tab  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

REAL, SANDBOX = "外环二期五比五赛", "培训演练（沙盒）"


@pytest.fixture
def two(office_api):  # noqa: F811 - the fixture, passed on
    """Two competitions made through the API (the real one first: the console starts in it), a section each and a
    supervisor of the sandbox. Yields (api base URL, admin headers, real cid, sandbox cid, supervisor headers)."""
    call = office_api.call
    real = call("POST", "/competitions", competition_body(name=REAL))["id"]
    sandbox = call("POST", "/competitions", competition_body(name=SANDBOX, organizer="培训组"))["id"]
    for cid, code in ((real, "LJ-01"), (sandbox, "SB-01")):
        call("POST", f"/competitions/{cid}/sections", {"code": code, "name": "一标段", "start_km": 0, "end_km": 40,
                                                      "contractor": "山东路桥集团"})
    call("POST", "/users", {"username": "shiyan", "password": "shiyan-pass-2026", "role": "supervisor",
                            "competition": sandbox, "sections": ["SB-01"]})
    yield office_api.url, office_api.admin, real, sandbox, office_api.login("shiyan", "shiyan-pass-2026")


def test_the_office_archives_and_restores_a_competition_in_the_console(open_app, two, months, tmp_path):  # noqa: F811
    api, admin, real, sandbox, supervisor = two
    shots = DOCS if os.environ.get("CONSOLE_SCREENSHOTS") else tmp_path

    def listed(archived: bool = False) -> list[int]:
        r = requests.get(f"{api}/competitions{'?archived=true' if archived else ''}", headers=admin, timeout=30)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()]

    def post_entry() -> requests.Response:
        return requests.post(f"{api}/competitions/{sandbox}/entries", headers=supervisor, timeout=30, json={
            "client_id": str(uuid.uuid4()), "section": "SB-01", "team": None, "criterion": "safety", "item": "S1",
            "kind": "deduction", "points": 1, "observed_at": months.observed_at(months.this), "note": "演练"})

    page = open_app("office")
    page.set_viewport_size({"width": 1280, "height": 800})
    tab(page, "setup")
    in_use = page.locator("[data-test=competitions] tbody tr")
    shelf = page.locator("[data-test=archived]")
    shelved = shelf.locator("[data-test=archived-list] tbody tr[data-competition]")
    expect(in_use).to_have_count(2)
    expect(page.locator(f"[data-test=competitions] tr[data-competition='{real}']")).to_contain_text("当前")
    expect(shelf.locator("summary")).to_have_text("已归档的竞赛（0）")

    # 归档: the confirmation names the competition and says plainly what archiving does; cancelling changes nothing
    row = page.locator(f"[data-test=competitions] tr[data-competition='{sandbox}']")
    row.locator("[data-test=archive]").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("h2")).to_have_text(f"归档竞赛「{SANDBOX}」？")
    for words in ("只读：不能再记分、结账、发邮件和群消息", "不删除任何数据", "可以恢复"):
        expect(dialog).to_contain_text(words)
    expect(dialog).not_to_contain_text("当前的竞赛")  # the console works in the other one
    dialog.get_by_role("button", name="取消").click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert sandbox in listed()
    row.locator("[data-test=archive]").click()
    confirm(page)
    expect(page.locator("#toast")).to_have_text(f"已归档「{SANDBOX}」")

    # it leaves the table and waits, collapsed, under 已归档的竞赛; the console stays where it was
    expect(in_use).to_have_count(1)
    expect(row).to_have_count(0)
    expect(page.locator(f"[data-test=competitions] tr[data-competition='{real}']")).to_contain_text("当前")
    expect(shelf.locator("summary")).to_have_text("已归档的竞赛（1）")
    expect(shelved).to_have_count(1)
    expect(shelved).to_be_hidden()
    shelf.locator("summary").click()
    expect(shelved).to_be_visible()
    expect(shelved).to_contain_text(SANDBOX)
    expect(page.locator("#toast")).to_be_hidden()  # the picture without the passing message
    page.screenshot(path=str(shots / "console-archive.png"))

    # the API agrees: out of the list, among the archived, and a supervisor's posting to it is refused
    assert sandbox not in listed() and real in listed()
    assert listed(archived=True) == [sandbox]
    refused = post_entry()
    assert refused.status_code == 409, refused.text
    assert "已归档" in refused.json()["detail"]

    # 恢复, after a confirmation: back in the table (the list stays open), and the API agrees
    shelved.locator("[data-test=restore]").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("h2")).to_have_text(f"恢复竞赛「{SANDBOX}」？")
    expect(dialog).to_contain_text("可以再记分、结账、发邮件和群消息")
    confirm(page)
    expect(page.locator("#toast")).to_have_text(f"已恢复「{SANDBOX}」")
    expect(in_use).to_have_count(2)
    expect(shelf.locator("summary")).to_have_text("已归档的竞赛（0）")
    expect(shelf).to_have_attribute("open", "")
    assert sorted(listed()) == sorted([real, sandbox]) and listed(archived=True) == []
    accepted = post_entry()
    assert accepted.status_code == 201, accepted.text

    # archiving the console's own competition: the confirmation says where the console goes, and it goes there
    page.locator(f"[data-test=competitions] tr[data-competition='{real}'] [data-test=archive]").click()
    expect(page.locator("dialog[open]")).to_contain_text(f"这是控制台当前的竞赛；归档后控制台改用「{SANDBOX}」。")
    confirm(page)
    expect(page.locator(f"[data-test=competitions] tr[data-competition='{sandbox}']")).to_contain_text("当前")
    expect(in_use).to_have_count(1)
    policy = page.locator("section.office.setup h3").filter(has_text="结账与通报")
    expect(policy).to_have_text(f"结账与通报（{SANDBOX}）")
    assert listed() == [sandbox] and listed(archived=True) == [real]
    # the other screens work in the sandbox now, and so does the console after a reload
    tab(page, "leaders")
    expect(page.locator("section.office.leaders [data-code=SB-01]").first).to_be_visible()
    expect(page.locator("section.office.leaders [data-code=LJ-01]")).to_have_count(0)
    tab(page, "entries")
    expect(page.locator("section.office.entries .notice")).to_have_count(0)
    page.reload()
    tab(page, "setup")
    expect(page.locator(f"[data-test=competitions] tr[data-competition='{sandbox}']")).to_contain_text("当前")

    # archiving the last one in use: no competition, as on the first day; the screens say so, nothing breaks
    page.locator(f"[data-test=competitions] tr[data-competition='{sandbox}'] [data-test=archive]").click()
    expect(page.locator("dialog[open]")).to_contain_text("归档后没有在用的竞赛")
    confirm(page)
    expect(page.locator("[data-test=competitions] td.empty")).to_have_text("没有数据")
    expect(shelf.locator("summary")).to_have_text("已归档的竞赛（2）")
    tab(page, "months")
    expect(page.locator("section.office.months .notice")).to_have_text("还没有竞赛。请到「竞赛设置」新建一个。")

    # a competition archived on another PC while the console works in it: the console moves on by itself
    tab(page, "setup")
    shelf.locator("summary").click()  # collapsed again since the reload
    shelf.locator(f"tr[data-competition='{real}'] [data-test=restore]").click()
    confirm(page)
    expect(page.locator(f"[data-test=competitions] tr[data-competition='{real}']")).to_contain_text("当前")
    r = requests.patch(f"{api}/competitions/{real}", json={"archived": True}, headers=admin, timeout=30)
    assert r.status_code == 200, r.text
    shelf.locator(f"tr[data-competition='{sandbox}'] [data-test=restore]").click()
    confirm(page)
    expect(page.locator(f"[data-test=competitions] tr[data-competition='{sandbox}']")).to_contain_text("当前")
    expect(in_use).to_have_count(1)
