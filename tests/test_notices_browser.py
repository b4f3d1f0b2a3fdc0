"""The rectification loop in the app (CONTRACT.md §5, §7), in Debian's chromium against a real gunicorn: the
supervisor issues a notice from the posting form; the contractor answers it offline, and the answer goes out of
the outbox once the network is back; the supervisor rejects it; the contractor answers again; the supervisor
passes it. Each step is checked against the API, as the office would see it."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect
from test_app_browser import SEND_MS, camera_photo, new_page, post, site  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def login(page, username):
    page.fill("[data-test=username]", username)
    page.fill("[data-test=password]", f"password-{username}")
    page.click("[data-test=login]")
    expect(page.locator("nav.tabs")).to_be_visible()


def notice_of(site, entry_client_id: str) -> dict:  # noqa: F811 - the fixture, passed on
    server, world = site
    r = requests.get(f"{server.url}/api/v1/competitions/{world.cid}/notices?per_page=500",
                     headers=world.headers("admin"), timeout=30)
    (found,) = [n for n in r.json() if n["entry"]["client_id"] == entry_client_id]
    return found


def open_notices(page, which="all"):
    page.goto(page.url.split("#")[0] + f"#/notices/{which}")
    page.locator(".notices-screen").wait_for()


def wait_sent(page):
    page.click("a[data-screen=outbox]")
    expect(page.locator("[data-test=outbox-count]")).to_have_text("0", timeout=SEND_MS)


def test_issue_answer_offline_reject_answer_pass(new_page, site, tmp_path):  # noqa: F811 - fixtures
    supervisor = new_page()
    login(supervisor, "sup1")
    supervisor.locator("form.posting").wait_for()
    due = supervisor.evaluate("() => new Date(Date.now() + 3 * 864e5).toLocaleDateString('sv-SE')")

    supervisor.click("a[data-screen=post]")
    supervisor.locator("form.posting").wait_for()
    supervisor.fill("[data-test=rectify-by]", due)
    client_id = post(supervisor, section="LJ-01", item="S1", points="2", note="临边防护缺失")
    wait_sent(supervisor)
    notice = notice_of(site, client_id)
    assert (notice["status"], notice["rectify_by"]) == ("open", due)

    contractor = new_page()
    login(contractor, "con1")
    card = contractor.locator(f'[data-test=notice][data-number="{notice["number"]}"]')
    expect(card).to_have_attribute("data-status", "open", timeout=SEND_MS)
    contractor.context.set_offline(True)  # in a dead zone
    card.locator("[data-test=response-note]").fill("已补设防护栏")
    card.locator("[data-test=response-photo]").set_input_files(camera_photo(tmp_path / "after.jpg", (1600, 1200)))
    card.locator("[data-test=respond]").click()
    expect(contractor.locator("[data-test=outbox-count]")).to_have_text("1")
    assert notice_of(site, client_id)["status"] == "open"  # nothing reached the server
    contractor.click("a[data-screen=outbox]")
    expect(contractor.locator("[data-test=outbox-item]")).to_have_attribute("data-state", "queued")
    contractor.context.set_offline(False)
    expect(contractor.locator("[data-test=outbox-count]")).to_have_text("0", timeout=SEND_MS)
    answered = notice_of(site, client_id)
    assert answered["status"] == "responded" and len(answered["steps"][-1]["photos"]) == 1

    open_notices(supervisor, "todo")
    card = supervisor.locator(f'[data-test=notice][data-number="{notice["number"]}"]')
    expect(card).to_have_attribute("data-status", "responded", timeout=SEND_MS)
    card.locator("[data-test=reject]").click()  # no reason: the form refuses it
    expect(card.locator(".field-error")).to_be_visible()
    card.locator("[data-test=review-note]").fill("防护栏高度不足 1.2 米")
    card.locator("[data-test=reject]").click()
    wait_sent(supervisor)
    assert notice_of(site, client_id)["status"] == "open"

    open_notices(contractor, "todo")
    card = contractor.locator(f'[data-test=notice][data-number="{notice["number"]}"]')
    expect(card).to_have_attribute("data-status", "open", timeout=SEND_MS)
    expect(card).to_contain_text("防护栏高度不足 1.2 米")
    card.locator("[data-test=response-note]").fill("已加高至 1.2 米")
    card.locator("[data-test=respond]").click()
    wait_sent(contractor)

    open_notices(supervisor, "todo")
    card = supervisor.locator(f'[data-test=notice][data-number="{notice["number"]}"]')
    expect(card).to_have_attribute("data-status", "responded", timeout=SEND_MS)
    card.locator("[data-test=pass]").click()
    wait_sent(supervisor)
    closed = notice_of(site, client_id)
    assert closed["status"] == "closed"
    assert [s["action"] for s in closed["steps"]] == ["issued", "responded", "rejected", "responded", "passed"]
    open_notices(supervisor, "closed")
    expect(supervisor.locator(f'[data-test=notice][data-number="{notice["number"]}"]')).to_have_attribute(
        "data-status", "closed", timeout=SEND_MS)
    supervisor.screenshot(path=str(tmp_path / "notices.png"))
