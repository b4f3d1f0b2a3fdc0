"""The web app's files as served (CONTRACT.md §5) and the small public API it needs: /auth/me and the
entries' supervisor filter. Its behaviour in a browser is tests/test_app_browser.py."""
from __future__ import annotations

import json
import re
from io import BytesIO

import pytest
from PIL import Image

from scoring.webapp.routes import STATIC

BUDGET = 150_000  # bytes of the app's own JavaScript and CSS, uncompressed (icons apart)
SCRIPTS = sorted(p for p in STATIC.rglob("*.js"))


def test_the_app_is_served_under_a_strict_csp(client):
    page = client.get("/app/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    csp = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'" and csp["worker-src"] == "'self'"
    assert csp["img-src"] == "'self' blob: data:" and csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
    assert " style=" not in html and "<style" not in html
    for url in ("/app/static/js/main.js", "/app/static/app.css", "/app/sw.js", "/app/manifest.webmanifest"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Security-Policy"] == page.headers["Content-Security-Policy"], url
    assert client.get("/app").headers["Location"].endswith("/app/")


def test_the_scripts_never_write_markup_or_inline_styles():
    """Text goes in as text (names and notes are typed by people); looks come from classes only."""
    for path in SCRIPTS:
        source = path.read_text(encoding="utf-8")
        for forbidden in (".innerHTML", ".outerHTML", ".insertAdjacentHTML(", "document.write(",
                          'setAttribute("style"', "eval(", "new Function("):
            assert forbidden not in source, (path.name, forbidden)


def test_javascript_and_css_stay_within_the_budget():
    """What a supervisor's tablet loads: everything but office/ (the console's screens, fetched with import()
    only when an admin or a viewer opens one, and never cached by the service worker)."""
    files = [p for p in STATIC.rglob("*") if p.suffix in (".js", ".css")]
    tablet = [p for p in files if not p.relative_to(STATIC).as_posix().startswith("office/")]
    total = sum(p.stat().st_size for p in tablet)
    office = sum(p.stat().st_size for p in files) - total
    print(f"web app: {len(tablet)} JS/CSS files, {total:,} bytes of {BUDGET:,}; an admin adds {office:,}")
    assert total <= BUDGET, f"{total:,} bytes of JS and CSS, over the budget of {BUDGET:,}"
    for path in tablet:  # the tablet's modules reach the office's only through import(), never statically
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^import[^;]*office/", source, re.M), path.name


def test_the_page_preloads_every_module_so_a_slow_link_fetches_them_at_once(client):
    html = client.get("/app/").get_data(as_text=True)
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/app/static/js/([^"]+)">', html))
    modules = {p.relative_to(STATIC / "js").as_posix() for p in (STATIC / "js").rglob("*.js")}
    assert preloaded | {"main.js"} == modules
    assert '<script type="module" src="/app/static/js/main.js"></script>' in html


def test_the_service_worker_caches_the_whole_shell_and_nothing_of_the_api(client):
    response = client.get("/app/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"  # an update is seen at the next load
    source = response.get_data(as_text=True)
    build = json.loads(re.search(r"const BUILD = (\{.*?\});", source).group(1))
    assert re.fullmatch(r"[0-9a-f]{16}", build["version"])
    files = {f"/app/static/{p.relative_to(STATIC).as_posix()}" for p in STATIC.rglob("*")
             if p.is_file() and p.name not in ("index.html", "manifest.webmanifest", "sw.js")
             and not p.relative_to(STATIC).as_posix().startswith("office/")}  # the console: online only
    assert set(build["shell"]) == files | {"/app/", "/app/manifest.webmanifest"}
    assert not any("/api/" in url for url in build["shell"])
    for url in build["shell"]:
        assert client.get(url).status_code == 200, url
    assert 'url.pathname.startsWith("/app/")' in source  # the fetch handler lets everything else pass


def test_the_app_is_installable_with_a_chinese_name_and_icons(client):
    response = client.get("/app/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["name"].startswith("五比五赛") and manifest["lang"] == "zh-CN"
    assert manifest["start_url"] == "/app/" and manifest["scope"] == "/app/" and manifest["display"] == "standalone"
    sizes = set()
    for icon in manifest["icons"]:
        image = Image.open(BytesIO(client.get(icon["src"]).get_data()))
        assert f"{image.width}x{image.height}" == icon["sizes"] and image.format == "PNG"
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])


# -- the public API the app needs ---------------------------------------------------------------------

@pytest.mark.parametrize("who, role, competition, sections", [
    ("sup2", "supervisor", True, ["LJ-02", "LJ-03"]), ("admin", "admin", False, []),
    ("viewer", "viewer", False, []), ("wall", "display", True, []),
])
def test_auth_me_says_who_the_token_belongs_to(client, world, who, role, competition, sections):
    r = client.get("/api/v1/auth/me", headers=world.headers(who))
    assert r.status_code == 200, r.get_json()
    me = r.get_json()
    assert set(me) == {"id", "username", "role", "competition", "sections"}
    assert (me["username"], me["role"], me["sections"]) == (who, role, sections)
    assert me["competition"] == (world.cid if competition else None)


def test_auth_me_needs_a_live_token(client, world):
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.post("/api/v1/auth/token/revoke", headers=world.headers("sup1")).status_code == 200
    assert client.get("/api/v1/auth/me", headers=world.headers("sup1")).status_code == 401


def test_entries_filter_by_who_posted_them(client, world, api):
    for section, who in (("LJ-01", "sup1"), ("LJ-02", "sup2"), ("LJ-03", "sup2"), ("LJ-02", "admin")):
        api.post(section=section, who=who)
    r = client.get(world.url("/entries?supervisor=sup2"), headers=world.headers("sup1"))
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "2"
    assert {e["section"] for e in r.get_json()} == {"LJ-02", "LJ-03"}
    assert {e["supervisor"] for e in r.get_json()} == {"sup2"}
    both = client.get(world.url("/entries?supervisor=sup2&section=LJ-03"), headers=world.headers("viewer"))
    assert [e["section"] for e in both.get_json()] == ["LJ-03"]
    assert client.get(world.url("/entries?supervisor=nobody"), headers=world.headers()).get_json() == []


def test_the_openapi_document_describes_them(client):
    spec = client.get("/api/openapi.json").get_json()
    me = spec["paths"]["/api/v1/auth/me"]["get"]
    assert "200" in me["responses"]
    params = {p["name"] for p in spec["paths"]["/api/v1/competitions/{cid}/entries"]["get"]["parameters"]}
    assert "supervisor" in params
