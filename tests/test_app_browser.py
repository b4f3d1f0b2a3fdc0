"""The supervisors' tablet app (CONTRACT.md §5) in Debian's chromium, against a real gunicorn.

What a supervisor on the road relies on: a posting reaches the board; postings made offline survive a
reload and go out once, whatever the network or the server does in between; a refused posting stays
with its reason until it is discarded; a revoked login asks for a new one and loses nothing; plain http
on a LAN name (no service worker, no crypto.subtle, no randomUUID) still posts. One gunicorn and one
browser serve the whole module; each test has its own browser context (its own IndexedDB and worker).
"""
from __future__ import annotations

import base64
import hashlib
import io
import re
import threading
import time
import uuid

import pytest
import requests
from conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, World, empty_tables
from PIL import Image
from playwright.sync_api import expect

from scoring import create_app
from scoring.extensions import db

pytestmark = pytest.mark.browser

SEND_MS = 20_000  # a send, with the machine busy with other tests
PASSWORD = {"sup1": "password-sup1", "sup2": "password-sup2", "admin": "password-admin"}


# -- one server, one browser ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(database_url):
    """The small competition of conftest (LJ-01 for sup1, LJ-02 and LJ-03 for sup2) behind a gunicorn."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        empty_tables()
    world = World(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    server = LiveServer(database_url).start()
    yield server, world
    server.stop()


@pytest.fixture
def new_page(browser, site):
    """Opens the app in a fresh context; afterwards, no CSP violation and no script error on any page."""
    server, _ = site
    contexts, problems = [], []

    def open_app(browser_=None, base=None, **options):
        context = (browser_ or browser).new_context(**{"viewport": {"width": 1280, "height": 800},
                                                        "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
                                                        **options})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: "Content Security Policy" in m.text and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
        page.goto(f"{base or server.url}/app/")
        return page

    yield open_app
    for context in contexts:
        context.close()
    assert problems == []


def login(page, username):
    page.fill("[data-test=username]", username)
    page.fill("[data-test=password]", PASSWORD[username])
    page.click("[data-test=login]")
    expect(page.locator("nav.tabs")).to_be_visible()
    expect(page.locator("form.posting")).to_be_visible()  # the rulebook, sections and teams are on the tablet


def wait_for_worker(page):
    """The service worker controls the page: the shell is cached, the app opens offline from now on."""
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null",
                           timeout=20_000)


def post(page, *, section, criterion="safety", item="S1", points="1", kind="deduction", team="", note="",
         chainage="", photos=()) -> str:
    """Fill the form through its hooks and submit; returns the new posting's client_id."""
    page.click("a[data-screen=post]")
    form = page.locator("form.posting")
    form.wait_for()
    before = form.get_attribute("data-last-client-id")
    page.select_option("[data-test=section]", section)
    page.select_option("[data-test=team]", team)
    page.select_option("[data-test=kind]", kind)
    page.select_option("[data-test=criterion]", criterion)
    page.select_option("[data-test=item]", item)
    page.fill("[data-test=points]", str(points))
    page.fill("[data-test=note]", note)
    page.fill("[data-test=chainage]", chainage)
    if photos:
        page.set_input_files("[data-test=photo]", list(photos))
        expect(form.locator(".thumb")).to_have_count(len(photos), timeout=SEND_MS)
    page.click("[data-test=submit]")
    page.wait_for_function("(before) => (document.querySelector('form.posting').dataset.lastClientId || null) "
                           "!== before", arg=before)
    return form.get_attribute("data-last-client-id")


def open_outbox(page):
    page.click("a[data-screen=outbox]")
    page.locator(".outbox-screen").wait_for()


def row(page, client_id):
    return page.locator(f'[data-test=outbox-item][data-client-id="{client_id}"]')


def expect_states(page, client_ids, state, timeout=SEND_MS):
    for client_id in client_ids:
        expect(row(page, client_id)).to_have_attribute("data-state", state, timeout=timeout)


def count(page) -> str:
    return page.locator("[data-test=outbox-count]").inner_text()


def stored(site, client_ids) -> list[dict]:
    """The entries the server holds with these client_ids (each one at most once: client_id is unique)."""
    server, world = site
    r = requests.get(f"{server.url}/api/v1/competitions/{world.cid}/entries?per_page=500",
                     headers=world.headers(), timeout=30)
    assert r.status_code == 200, r.text
    return [e for e in r.json() if e["client_id"] in set(client_ids)]


def board_total(site, code) -> float | None:
    server, world = site
    r = requests.get(f"{server.url}/api/v1/competitions/{world.cid}/leaderboard?board=sections&period=current",
                     headers=world.headers("viewer"), timeout=30)
    return {row["code"]: row for row in r.json()["rows"]}[code]["total"]


def camera_photo(path, size=(4000, 3000)) -> str:
    """A landscape JPEG as a phone writes it: EXIF orientation 6 (turn right), time taken, GPS."""
    image = Image.new("RGB", size, (90, 120, 160))
    for x in range(0, size[0], 200):  # something to compress
        image.paste((200, 60 + x % 150, 40), (x, 0, x + 100, size[1] // 2))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2026:05:06 10:15:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (36.0, 27.0, 0.0), 3: "E", 4: (115.0, 58.0, 30.0)})
    image.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return str(path)


# What the tablet keeps, read (and, to play a supervisor who sneaks a change in, written) straight in
# IndexedDB through the app's own storage module.
READ_RECORD = """async (clientId) => {
  const db = await import("/app/static/js/db.js");
  const record = await db.get("outbox", clientId);
  const photos = [];
  for (const p of record.photos) {
    const bytes = new Uint8Array(await p.blob.arrayBuffer());
    let text = "";
    for (const b of bytes) text += String.fromCharCode(b);
    photos.push({ id: p.id, width: p.width, height: p.height, base64: btoa(text) });
  }
  return { body: record.body, state: record.state, photos };
}"""

READ_SESSION = """async () => (await (await import("/app/static/js/db.js")).get("kv", "session")) ?? null"""

EDIT_RECORD = """async ([clientId, change, newId]) => {
  const db = await import("/app/static/js/db.js");
  const record = await db.get("outbox", clientId);
  Object.assign(record.body, change);
  if (newId) {
    await db.remove("outbox", clientId);
    record.client_id = record.body.client_id = newId;
  }
  await db.put("outbox", record);
}"""


# -- online ------------------------------------------------------------------------------------------

def test_a_deduction_posted_online_moves_the_board(new_page, site):
    page = new_page(permissions=["geolocation"], geolocation={"latitude": 36.4567891, "longitude": 115.9812345})
    login(page, "sup1")
    page.click("a[data-screen=boards]")
    before = board_total(site, "LJ-01")
    shown = page.locator("tr[data-code='LJ-01'] td.total")
    expect(shown).to_have_text("未考核" if before is None else f"{before:.2f}")

    client_id = post(page, section="LJ-01", team="TJD-1", criterion="safety", item="S1", points="2.5",
                     note="临边防护缺失")
    open_outbox(page)
    expect_states(page, [client_id], "sent")
    (entry,) = stored(site, [client_id])
    assert (entry["section"], entry["team"], entry["item"], entry["points"], entry["note"]) == \
        ("LJ-01", "TJD-1", "S1", 2.5, "临边防护缺失")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\+08:00", entry["observed_at"])  # now, Shanghai time
    assert entry["location"] == {"lat": 36.456789, "lon": 115.981235}  # the device's position, allowed
    assert f"#{entry['id']}" in row(page, client_id).inner_text()
    assert count(page) == "0"

    after = board_total(site, "LJ-01")
    assert after != before
    page.click("a[data-screen=boards]")
    expect(page.locator("tr[data-code='LJ-01'] td.total")).to_have_text(f"{after:.2f}")


def test_the_board_screen_asks_with_if_none_match(new_page):
    page = new_page()
    login(page, "sup2")
    sections = "/leaderboard?board=sections"
    with page.expect_response(lambda r: sections in r.url) as first:
        page.click("a[data-screen=boards]")
    assert first.value.status == 200
    expect(page.locator("tr[data-code='LJ-02']")).to_be_visible()
    page.click("a.chip[href='#/boards/teams']")
    expect(page.locator("tr[data-code='TJD-2']")).to_be_visible()
    with page.expect_response(lambda r: sections in r.url) as second:
        page.click("a.chip[href='#/boards/sections']")
    assert second.value.request.header_value("if-none-match") == first.value.header_value("etag")
    assert second.value.status == 304  # unchanged: nothing but headers came back
    expect(page.locator("tr[data-code='LJ-02']")).to_be_visible()  # drawn from the copy kept


def test_photos_and_chainage_reach_the_server(new_page, site, tmp_path):
    server, world = site
    page = new_page()
    login(page, "sup1")
    page.context.set_offline(True)  # to look at the queued photo first
    client_id = post(page, section="LJ-01", points="1", chainage="k5+200", note="扬尘治理不到位",
                     photos=[camera_photo(tmp_path / "finding.jpg")])
    queued = base64.b64decode(page.evaluate(READ_RECORD, client_id)["photos"][0]["base64"])
    page.context.set_offline(False)
    open_outbox(page)
    expect_states(page, [client_id], "sent")
    (entry,) = stored(site, [client_id])
    assert entry["chainage"] == "K5+200" and entry["photos"] == [hashlib.sha256(queued).hexdigest()]
    photo = requests.get(f"{server.url}/api/v1/photos/{entry['photos'][0]}", headers=world.headers("sup1"),
                         timeout=30)
    assert photo.status_code == 200
    shown = Image.open(io.BytesIO(photo.content))
    assert shown.width < shown.height <= 2048  # turned upright on the tablet, never larger than 2048 px
    # The same bytes again: stored once, and the server read the camera's time and place from them.
    again = requests.post(f"{server.url}/api/v1/competitions/{world.cid}/photos", data=queued, timeout=30,
                          headers={**world.headers("sup1"), "Content-Type": "image/jpeg"})
    assert again.status_code == 200 and again.json()["id"] == entry["photos"][0]
    assert again.json()["taken_at"].startswith("2026-05-06T10:15:00")
    assert again.json()["location"]["lat"] == pytest.approx(36.45, abs=1e-4)


# -- the tablet's side of a photo -------------------------------------------------------------------

def test_a_photo_is_made_upright_small_and_named_by_its_sha256_before_it_is_queued(new_page, tmp_path):
    page = new_page()
    login(page, "sup2")
    page.context.set_offline(True)  # keep it in the outbox, to look at what was queued
    client_id = post(page, section="LJ-02", photos=[camera_photo(tmp_path / "p.jpg")])
    record = page.evaluate(READ_RECORD, client_id)
    (photo,) = record["photos"]
    data = base64.b64decode(photo["base64"])
    assert photo["id"] == hashlib.sha256(data).hexdigest() and record["body"]["photos"] == [photo["id"]]
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (1536, 2048) == (photo["width"], photo["height"])
    exif = image.getexif()
    assert exif.get(0x0112) == 1  # upright already: the server must not turn it again
    assert exif.get_ifd(0x8769).get(0x9003) == "2026:05:06 10:15:00"  # when the camera took it
    assert exif.get_ifd(0x8825).get(1) == "N"  # and where
    assert len(data) < 1_000_000
    page.context.set_offline(False)


# -- offline, and back -------------------------------------------------------------------------------

def test_five_postings_made_offline_survive_a_reload_and_are_sent_once(new_page, site):
    page = new_page()
    login(page, "sup2")
    wait_for_worker(page)
    page.context.set_offline(True)
    ids = [post(page, section="LJ-03", team="TJD-3" if n % 2 else "", criterion="quality", item="Q1",
                points=str(0.5 + n), note=f"离线记录 {n}") for n in range(5)]
    open_outbox(page)
    expect_states(page, ids, "queued")

    response = page.reload()  # no network: the service worker opens the app
    assert response.from_service_worker
    open_outbox(page)
    expect_states(page, ids, "queued")
    assert count(page) == "5"
    assert stored(site, ids) == []

    page.context.set_offline(False)  # the "online" event sends them
    expect_states(page, ids, "sent")
    expect(page.locator("[data-test=outbox-count]")).to_have_text("0")
    entries = stored(site, ids)
    assert sorted(e["client_id"] for e in entries) == sorted(ids)
    assert sorted(e["points"] for e in entries) == [0.5, 1.5, 2.5, 3.5, 4.5]

    posts = []
    page.on("request", lambda r: r.method == "POST" and "/entries" in r.url and posts.append(r.url))
    page.click("[data-test=send-now]")
    expect(page.locator(".send-status")).to_have_attribute("data-busy", "false")
    page.wait_for_timeout(500)
    assert posts == [] and len(stored(site, ids)) == 5


def test_the_server_stopped_mid_send_loses_nothing_and_doubles_nothing(new_page, site):
    server, _ = site
    page = new_page(service_workers="block")  # so the test can stand between the page and the server
    login(page, "sup1")
    page.context.set_offline(True)
    first = [post(page, section="LJ-01", criterion="environment", item="E1", points=str(n + 1)) for n in range(4)]
    stopped = threading.Event()

    def stored_then_server_gone(route):
        if stopped.is_set():
            route.continue_()
            return
        route.fetch()  # the server stores the batch …
        server.stop()  # … and goes down before the tablet hears the answer
        stopped.set()
        route.abort("connectionreset")

    page.route("**/api/v1/competitions/*/entries", stored_then_server_gone)
    try:
        page.context.set_offline(False)
        open_outbox(page)
        deadline = time.monotonic() + SEND_MS / 1000
        while not stopped.is_set() and time.monotonic() < deadline:
            page.wait_for_timeout(100)  # Playwright's sync API runs the route handler while the page is awaited
        assert stopped.is_set()
        expect_states(page, first, "queued")  # no answer: kept, not dropped
        for client_id in first:  # the server may hold it already: the same id must keep the same content
            expect(row(page, client_id)).to_contain_text("不能再修改")
            expect(row(page, client_id).get_by_role("button", name="修改")).to_have_count(0)
        late = post(page, section="LJ-01", criterion="environment", item="E1", points="0.5")
        open_outbox(page)
        page.click("[data-test=send-now]")
        expect(page.locator(".send-status")).to_contain_text("无法连接服务器", timeout=SEND_MS)
        expect_states(page, [*first, late], "queued")
        assert count(page) == "5"
    finally:
        if not server.process or server.process.poll() is not None:
            server.start()
        page.unroute("**/api/v1/competitions/*/entries")
    page.click("[data-test=send-now]")
    expect_states(page, [*first, late], "sent")
    entries = stored(site, [*first, late])
    assert sorted(e["client_id"] for e in entries) == sorted([*first, late])  # each exactly once
    assert sorted(e["points"] for e in entries) == [0.5, 1, 2, 3, 4]


def test_a_503_keeps_postings_queued_and_its_retry_after_is_respected(new_page, site):
    page = new_page(service_workers="block")
    login(page, "sup2")
    page.context.set_offline(True)
    ids = [post(page, section="LJ-02", criterion="quality", item="Q2", points=p) for p in ("1", "1.25")]
    offered = []

    def busy_once(route):
        offered.append(time.monotonic())
        if len(offered) == 1:
            route.fulfill(status=503, content_type="application/problem+json", headers={"Retry-After": "3"},
                          body='{"type": "about:blank", "title": "Service Unavailable", "status": 503, '
                               '"detail": "The database is unavailable; try again shortly."}')
        else:
            route.continue_()

    page.route("**/api/v1/competitions/*/entries", busy_once)
    page.context.set_offline(False)
    open_outbox(page)
    expect(page.locator(".send-status")).to_contain_text("服务器暂时不可用（503）", timeout=SEND_MS)
    expect_states(page, ids, "queued")
    page.click("[data-test=send-now]")  # the server asked for 3 s: the button does not hammer it
    expect(page.locator(".send-status")).to_contain_text("秒后自动重试")
    expect_states(page, ids, "sent")  # the timer tries again once the 3 s are over
    assert len(offered) == 2 and offered[1] - offered[0] >= 3
    assert sorted(e["points"] for e in stored(site, ids)) == [1, 1.25]


# -- refusals and logins -----------------------------------------------------------------------------

def test_a_refused_posting_stays_returned_with_its_reason_and_the_others_go_through(new_page, site):
    server, world = site
    taken = str(uuid.uuid4())
    first = requests.post(f"{server.url}/api/v1/competitions/{world.cid}/entries", headers=world.headers("sup1"),
                          json={"client_id": taken, "section": "LJ-01", "criterion": "safety", "item": "S2",
                                "kind": "deduction", "points": 1,
                                "observed_at": "2026-01-05T10:00:00+08:00"}, timeout=30)
    assert first.status_code == 201, first.text
    page = new_page()
    login(page, "sup1")
    wait_for_worker(page)
    page.context.set_offline(True)
    wrong_item, conflict, good = (post(page, section="LJ-01", criterion="safety", item="S2", points=str(p))
                                  for p in (1.5, 2, 0.5))
    page.evaluate(EDIT_RECORD, [wrong_item, {"item": "Q1"}, None])  # an item of another criterion
    page.evaluate(EDIT_RECORD, [conflict, {}, taken])  # an id the server holds with other content
    page.reload()  # offline, from the service worker: the app reads the outbox as it now is
    page.context.set_offline(False)
    open_outbox(page)
    expect_states(page, [wrong_item, taken], "returned")
    expect_states(page, [good], "sent")
    refused = row(page, wrong_item).inner_text()
    assert "422" in refused and "细则 Q1 属于「质量」，不属于「安全」" in refused and "复制为新记录" in refused
    assert "409" in row(page, taken).inner_text() and "内容不同" in row(page, taken).inner_text()
    assert [e["client_id"] for e in stored(site, [wrong_item, taken, good])] == [taken, good]
    assert next(e for e in stored(site, [taken]))["points"] == 1  # the first content stands
    assert count(page) == "2"

    page.click("[data-test=send-now]")  # returned stays returned: it is not sent again
    expect(page.locator(".send-status")).to_have_attribute("data-busy", "false")
    expect_states(page, [wrong_item, taken], "returned")

    row(page, wrong_item).locator("[data-action=discard]").click()
    page.locator("dialog.ask button.danger").click()
    expect(row(page, wrong_item)).to_have_count(0)
    assert count(page) == "1"

    row(page, taken).get_by_role("button", name="复制为新记录").click()  # a fresh posting from the returned one
    expect(page.locator("[data-test=points]")).to_have_value("2")
    page.fill("[data-test=points]", "2.5")
    page.click("[data-test=submit]")
    open_outbox(page)
    expect(page.locator("[data-test=outbox-item][data-state=sent]")).to_have_count(2, timeout=SEND_MS)
    expect_states(page, [taken], "returned")  # until discarded on purpose


def test_a_revoked_login_asks_for_a_new_one_and_then_sends_the_queue_once(new_page, site):
    server, world = site
    made = requests.post(f"{server.url}/api/v1/users", headers=world.headers(), timeout=30, json={
        "username": "jianli-rev", "password": "password-rev", "role": "supervisor", "competition": world.cid,
        "sections": ["LJ-03"]})
    assert made.status_code == 201, made.text
    PASSWORD["jianli-rev"] = "password-rev"
    page = new_page()
    login(page, "jianli-rev")
    page.context.set_offline(True)
    ids = [post(page, section="LJ-03", criterion="management", item="M1", points=p) for p in ("1", "2")]
    revoked = requests.post(f"{server.url}/api/v1/users/{made.json()['id']}/tokens/revoke",
                            headers=world.headers(), timeout=30)
    assert revoked.json()["revoked"] >= 1
    page.context.set_offline(False)

    dialog = page.locator("dialog.relogin")
    expect(dialog).to_be_visible(timeout=SEND_MS)
    expect(dialog.locator("[data-test=username]")).to_have_value("jianli-rev")
    assert "2 条待提交的记录都还在" in dialog.inner_text()
    assert stored(site, ids) == []
    dialog.locator("[data-test=password]").fill("password-rev")
    dialog.locator("[data-test=login]").click()
    expect(dialog).to_have_count(0)
    open_outbox(page)
    expect_states(page, ids, "sent")
    assert sorted(e["points"] for e in stored(site, ids)) == [1, 2]


def test_the_form_refuses_what_the_api_would_refuse_before_queueing(new_page, site):
    page = new_page()
    login(page, "sup1")
    page.context.set_offline(True)
    page.click("a[data-screen=post]")
    page.select_option("[data-test=section]", "LJ-01")
    page.select_option("[data-test=criterion]", "safety")
    errors = page.locator(".field-error:not([hidden])")

    def refused(*expected):
        page.click("[data-test=submit]")
        for text in expected:
            expect(errors.filter(has_text=text)).to_have_count(1)
        assert count(page) == "0"

    page.fill("[data-test=points]", "1")
    refused("扣分必须选择考核细则")
    page.select_option("[data-test=item]", "S1")
    for points, message in (("1.555", "最多两位小数"), ("16", "不能超过该细则满分 15 分"), ("", "请填写分值")):
        page.fill("[data-test=points]", points)
        refused(message)
    page.fill("[data-test=points]", "1")
    page.fill("[data-test=chainage]", "K99+000")
    refused("不在本标段范围 K0+000–K15+000 内")
    page.fill("[data-test=chainage]", "K5+20")
    refused("桩号格式应为 K23+450")
    page.fill("[data-test=chainage]", "")
    page.fill("[data-test=observed-at]", "2099-01-01T08:00")
    refused("检查时间不能晚于现在")
    page.fill("[data-test=observed-at]", "2026-01-05T08:00")
    page.fill("[data-test=rectify-by]", "2026-01-04")
    refused("整改期限不能早于检查日期")
    page.fill("[data-test=rectify-by]", "")
    page.select_option("[data-test=kind]", "bonus")
    expect(page.locator("[data-test=rectify-by]")).to_be_disabled()
    page.select_option("[data-test=item]", "")  # a bonus may leave the item out
    page.fill("[data-test=chainage]", "k5＋200")  # typed loosely: tidied, and inside K0+000–K15+000
    page.click("[data-test=submit]")
    expect(page.locator("[data-test=outbox-count]")).to_have_text("1")
    client_id = page.locator("form.posting").get_attribute("data-last-client-id")
    body = page.evaluate(READ_RECORD, client_id)["body"]
    assert (body["kind"], body["criterion"], body["item"], body["points"], body["chainage"]) == \
        ("bonus", "safety", None, 1, "K5+200")
    assert body["observed_at"] == "2026-01-05T08:00:00+08:00" and "rectify_by" not in body

    open_outbox(page)  # never offered to the server (the device is offline): it may still be changed
    row(page, client_id).get_by_role("button", name="修改").click()
    expect(page.locator("[data-test=chainage]")).to_have_value("K5+200")
    page.fill("[data-test=points]", "2")
    page.click("[data-test=submit]")
    expect_states(page, [client_id], "queued")
    assert page.evaluate(READ_RECORD, client_id)["body"]["points"] == 2
    assert count(page) == "1"


def test_a_commendation_from_above_goes_without_criterion_and_its_warning_is_shown(new_page, site):
    """A competition with a general bonus cap: the form offers 不限项目 for a bonus, and the server's warning
    (3 posted, cap 2) reaches the supervisor at once."""
    server, world = site
    base = f"{server.url}/api/v1"
    body = {"name": "上级表彰试点", "organizer": "市公路事业发展中心", "general_bonus_cap": 2,
            "criteria": requests.get(f"{base}/competitions/{world.cid}", headers=world.headers(), timeout=30).json()[
                "criteria"]}
    competition = requests.post(f"{base}/competitions", json=body, headers=world.headers(), timeout=30)
    assert competition.status_code == 201, competition.text
    cid = competition.json()["id"]
    section = requests.post(f"{base}/competitions/{cid}/sections", headers=world.headers(), timeout=30, json={
        "code": "LJ-01", "name": "一标段", "start_km": 0, "end_km": 15, "contractor": "山东路桥集团"})
    assert section.status_code == 201, section.text
    user = requests.post(f"{base}/users", headers=world.headers(), timeout=30, json={
        "username": "supg", "password": "password-supg", "role": "supervisor", "competition": cid,
        "sections": ["LJ-01"]})
    assert user.status_code == 201, user.text
    PASSWORD["supg"] = "password-supg"
    page = new_page()
    login(page, "supg")
    page.click("a[data-screen=post]")
    page.select_option("[data-test=kind]", "bonus")
    assert page.locator("[data-test=criterion] option[value='']").inner_text() == "不限项目（上级表彰等）"
    client_id = post(page, section="LJ-01", kind="bonus", criterion="", item="", points="3", note="上级表彰")
    open_outbox(page)
    expect_states(page, [client_id], "sent")
    expect(row(page, client_id)).to_contain_text("超过上限 2 分")
    r = requests.get(f"{base}/competitions/{cid}/entries", headers=world.headers(), timeout=30)
    (entry,) = r.json()
    assert (entry["criterion"], entry["item"], entry["kind"], entry["points"]) == (None, None, "bonus", 3)
    r = requests.get(f"{base}/competitions/{cid}/leaderboard?board=sections&period=current",
                     headers=world.headers("admin"), timeout=30)
    (lj01,) = r.json()["rows"]
    assert (lj01["total"], lj01["bonus"]) == (102, 2)


def test_my_postings_of_the_month_and_a_void_with_its_reason(new_page, site):
    page = new_page()
    login(page, "sup2")
    client_id = post(page, section="LJ-02", criterion="schedule", item="P1", points="3", note="进度滞后于计划")
    open_outbox(page)
    expect_states(page, [client_id], "sent")
    (entry,) = stored(site, [client_id])
    page.click("a[data-screen=mine]")
    mine = page.locator(f"article.entry[data-entry-id='{entry['id']}']")
    expect(mine).to_contain_text("进度滞后于计划")
    expect(page.locator("article.entry")).to_have_count(len([e for e in stored_all(site) if e["supervisor"] == "sup2"
                                                             and e["period"] == entry["period"]]))
    mine.get_by_role("button", name="作废").click()
    dialog = page.locator("dialog.ask")
    dialog.get_by_role("button", name="作废").click()
    expect(dialog.locator(".field-error")).to_have_text("请填写作废理由")  # a reason is required
    dialog.locator("textarea").fill("桩号记错，重新检查")
    dialog.get_by_role("button", name="作废").click()
    expect(mine).to_contain_text("作废理由：桩号记错，重新检查")
    (voided,) = stored(site, [client_id])
    assert voided["status"] == "void" and voided["void_reason"] == "桩号记错，重新检查"
    expect(mine.get_by_role("button", name="作废")).to_have_count(0)

    token = page.evaluate(READ_SESSION)["token"]
    page.get_by_role("button", name="退出").click()
    page.locator("dialog.ask").get_by_role("button", name="退出").click()
    expect(page.locator("[data-test=username]")).to_have_value("sup2")  # the login screen, name kept
    server, _ = site
    deadline = time.monotonic() + SEND_MS / 1000
    while requests.get(f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"},
                       timeout=30).status_code != 401:  # logging out revoked the token on the server
        assert time.monotonic() < deadline, "the token still works after logging out"
        page.wait_for_timeout(100)
    assert page.evaluate(READ_SESSION) is None  # and it is gone from the tablet


def stored_all(site) -> list[dict]:
    server, world = site
    return requests.get(f"{server.url}/api/v1/competitions/{world.cid}/entries?per_page=500",
                        headers=world.headers(), timeout=30).json()


# -- plain http on a LAN name ------------------------------------------------------------------------

@pytest.fixture
def lan_browser(browser):
    """Chromium resolving tablet.test to this machine: http://tablet.test is not a secure context."""
    lan = browser.browser_type.launch(executable_path=CHROMIUM,
                                      args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP tablet.test 127.0.0.1"])
    yield lan
    lan.close()


def test_plain_http_on_a_lan_name_still_posts_and_keeps_its_outbox(lan_browser, new_page, site, tmp_path):
    server, _ = site
    page = new_page(browser_=lan_browser, base=f"http://tablet.test:{server.port}")
    facts = page.evaluate("() => ({secure: isSecureContext, worker: 'serviceWorker' in navigator, "
                          "subtle: Boolean(crypto.subtle), uuid: typeof crypto.randomUUID})")
    assert facts == {"secure": False, "worker": False, "subtle": False, "uuid": "undefined"}
    login(page, "sup1")
    page.context.set_offline(True)

    with_photo = post(page, section="LJ-01", points="1", photos=[camera_photo(tmp_path / "lan.jpg")])
    record = page.evaluate(READ_RECORD, with_photo)  # the id made by the app's own SHA-256
    assert record["photos"][0]["id"] == hashlib.sha256(base64.b64decode(record["photos"][0]["base64"])).hexdigest()
    ids = [with_photo, *(post(page, section="LJ-01", item="S2", points=p) for p in ("0.5", "1.5"))]
    for client_id in ids:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", client_id)
    open_outbox(page)
    expect_states(page, ids, "queued")
    page.context.set_offline(False)
    expect_states(page, ids, "sent")
    assert sorted(e["client_id"] for e in stored(site, ids)) == sorted(ids)
    assert [e["photos"] for e in stored(site, [with_photo])] == [[record["photos"][0]["id"]]]


# -- the SHA-256 the app carries -----------------------------------------------------------------------

def test_the_apps_own_sha256_gives_the_standards_answers(new_page):
    page = new_page()
    data = bytes(range(256)) * 400 + b"tail"
    answers = page.evaluate("""async (b64) => {
        const { sha256Local, sha256Hex } = await import("/app/static/js/sha256.js");
        const text = (s) => new TextEncoder().encode(s);
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        return {
          abc: sha256Local(text("abc")),
          empty: sha256Local(text("")),
          two_blocks: sha256Local(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
          million_a: sha256Local(new Uint8Array(1000000).fill(97)),
          data: sha256Local(data),
          subtle: await sha256Hex(data.buffer),
          edges: [55, 56, 63, 64, 65, 119, 120].map((n) => sha256Local(data.subarray(0, n))),
        };
    }""", base64.b64encode(data).decode())
    # FIPS 180-2 appendix B and the NIST example values
    assert answers["abc"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert answers["empty"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert answers["two_blocks"] == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    assert answers["million_a"] == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    assert answers["data"] == answers["subtle"] == hashlib.sha256(data).hexdigest()
    assert answers["edges"] == [hashlib.sha256(data[:n]).hexdigest() for n in (55, 56, 63, 64, 65, 119, 120)]


# -- built for a thumb, landscape and portrait -----------------------------------------------------------

@pytest.mark.parametrize("width, height", [(1280, 800), (800, 1280)])
def test_every_control_is_big_enough_for_a_gloved_thumb_and_nothing_is_cut(new_page, width, height):
    page = new_page(viewport={"width": width, "height": height})
    for screen in ("login", "post", "outbox"):
        if screen == "post":
            login(page, "sup1")
            page.click("a[data-screen=post]")
            page.locator("form.posting").wait_for()
        elif screen == "outbox":
            open_outbox(page)
        small = page.evaluate("""() => [...document.querySelectorAll(
              'button, select, a.tab, a.chip, .button, textarea, label.check, '
              + 'input:not([type=checkbox]):not([type=file])')]
            .filter((el) => el.offsetParent !== null)
            .map((el) => [el.dataset.test || el.className || el.tagName, el.getBoundingClientRect()])
            .filter(([, box]) => box.height < 48 || box.width < 48)
            .map(([name, box]) => `${name} ${Math.round(box.width)}×${Math.round(box.height)}`)""")
        assert small == [], (screen, small)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), screen
        assert page.evaluate(LOW_CONTRAST) == [], screen


# WCAG 2 contrast of every visible text against the first opaque background behind it: at least 4.5:1
# (AA) everywhere; the palette aims at 7:1 for reading in the sun.
LOW_CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const linear = (v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  const lum = ([r, g, b]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join("");
    if (!text || el.offsetParent === null || el.closest("[disabled]")) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${text.slice(0, 20)} ${ratio.toFixed(1)}`);
  }
  return low;
}"""
