"""What responses say about themselves: nobody caches a token, an export or a report; the report's
page may use its inline styles and nothing else; links never come from a forged Host header."""
from __future__ import annotations

import pytest
from conftest import LiveServer

import config
from scoring import create_app

REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")


@pytest.fixture
def posted(api):
    return api.post(who="sup1")


def test_tokens_entries_exports_and_reports_are_never_stored_by_a_cache(client, world, months, posted, api):
    this = months.this
    answers = {
        "login": client.post("/api/v1/auth/token", json={"username": "admin", "password": "password-admin"}),
        "failed login": client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong-one"}),
        "user and token": client.post("/api/v1/users", json={"username": "kiosk", "role": "display",
                                                            "competition": world.cid}, headers=world.headers()),
        "entries": client.get(world.url("/entries"), headers=world.headers()),
        "an entry": client.post(world.url("/entries"), json=api.entry(), headers=world.headers()),
        "void": client.post(f"/api/v1/entries/{posted['id']}/void", json={"reason": "录错"}, headers=world.headers()),
        **{path: client.get(world.url(path), headers=world.headers()) for path in (
            f"/exports/entries.csv?period={this}", f"/exports/entries.xlsx?period={this}",
            f"/exports/standings.csv?period={this}", f"/exports/standings.xlsx?period={this}",
            f"/reports/{this}?format=html", f"/reports/{this}?format=text", f"/reports/{this}?format=xlsx")},
    }
    for name, r in answers.items():
        assert r.status_code < 500 and r.headers.get("Cache-Control") == "no-store", (name, r.status_code, r.headers)
    board = client.get(world.url("/leaderboard"), headers=world.headers())
    assert board.headers["Cache-Control"] == "no-cache" and board.headers["ETag"]  # revalidated, not refused


def test_the_report_page_may_use_inline_styles_and_nothing_else(client, world, months, posted):
    r = client.get(world.url(f"/reports/{months.this}?format=html"), headers=world.headers())
    assert r.status_code == 200 and r.headers["Content-Security-Policy"] == REPORT_CSP
    others = [client.get(world.url(f"/reports/{months.this}?format=text"), headers=world.headers()),
              client.get(world.url("/entries"), headers=world.headers())]
    assert all(o.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'" for o in others)


@pytest.mark.browser
def test_the_report_page_shows_styled_without_a_csp_violation(world, months, posted, database_url,
                                                             browser):
    server = LiveServer(database_url, workers=1).start()
    try:
        context = browser.new_context(extra_http_headers=world.headers())
        page = context.new_page()
        refused = []
        page.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
        path = world.url(f"/reports/{months.this}?format=html")
        response = page.goto(server.url + path)
        assert response.status == 200
        heading = page.locator("h1")
        assert "月度考核通报" in heading.inner_text()
        assert heading.evaluate("e => getComputedStyle(e).color") == "rgb(168, 7, 26)"  # its inline #a8071a
        assert refused == []
        context.close()
    finally:
        server.stop()


def test_page_links_never_echo_a_forged_host(app, client, world, database_url):
    for n in range(3):
        client.post(world.url("/sections"), json={"code": f"LJ-1{n}", "name": "标段", "start_km": 50 + n,
                                                  "end_km": 51 + n, "contractor": "中铁"}, headers=world.headers())
    r = client.get(world.url("/sections?per_page=2&page=2"), headers={**world.headers(), "Host": "evil.example"})
    links = r.headers["Link"]
    assert "evil.example" not in links and "localhost" not in links
    assert f'</api/v1/competitions/{world.cid}/sections?page=3&per_page=2>; rel="next"' in links
    public = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                         "PUBLIC_URL": "https://scoring.example.org/wubi"})
    with public.app_context():
        r = public.test_client().get(world.url("/sections?per_page=2"),
                                     headers={**world.headers(), "Host": "evil.example"})
        from scoring.extensions import db

        db.engine.dispose()
    first = f'<https://scoring.example.org/wubi/api/v1/competitions/{world.cid}/sections?page=1&per_page=2>'
    assert f'{first}; rel="first"' in r.headers["Link"] and "evil.example" not in r.headers["Link"]


@pytest.mark.parametrize("url", ["scoring.example.org", "ftp://scoring.example.org",
                                 "https://scoring.example.org?x=1", "https://user:pw@scoring.example.org",
                                 "https://scoring.example.org:99999", "https://scoring.example.org/a b"])
def test_a_malformed_public_url_stops_start_up_naming_it(url):
    with pytest.raises(config.ConfigError, match="PUBLIC_URL"):
        config.load({"PUBLIC_URL": url})
    assert config.load({"PUBLIC_URL": "https://scoring.example.org/"})["PUBLIC_URL"] == "https://scoring.example.org"
