"""Who may do what (CONTRACT.md §2 "Auth" and §3), tokens, logins, headers and CORS."""
from __future__ import annotations

import re
from datetime import timedelta

import photo_support
import pytest
from conftest import LiveServer, competition_body, entry
from sqlalchemy import select, update

from scoring import create_app
from scoring.extensions import db

ROLES = ("admin", "supervisor", "viewer", "display", None)
TOKEN_OF_ROLE = {"admin": "admin", "supervisor": "sup1", "viewer": "viewer", "display": "wall"}
READ = {"admin", "supervisor", "viewer"}


def allowed_roles(method: str, path: str) -> set[str]:
    """The contract, route by route: which roles may call it (on their own competition and sections)."""
    rules = [
        ("POST", r"/auth/token/revoke", {"admin", "supervisor", "viewer", "display"}),  # logging out
        ("GET", r"/auth/me", {"admin", "supervisor", "viewer", "display"}),  # who am I: every token
        ("POST", r"/competitions/\{cid\}/entries", {"admin", "supervisor"}),
        ("POST", r"/competitions/\{cid\}/photos", {"admin", "supervisor"}),
        ("POST", r"/entries/\{entry_id\}/void", {"admin", "supervisor"}),
        ("GET", r"/competitions/\{cid\}/leaderboard(/history)?", READ | {"display"}),
        ("GET", r"/competitions/\{cid\}/(audit|recipients)", {"admin"}),
        ("GET", r"/competitions/\{cid\}/reports/\{period\}/deliveries", {"admin"}),
        ("GET", r"/users", {"admin"}),
        ("GET", r"/competitions/\{cid\}/(reports/\{period\}|exports/.+)", {"admin", "viewer"}),
        ("GET", r".*", READ),
        ("POST|DELETE|PUT|PATCH", r".*", {"admin"}),  # every other write is the competition office's
    ]
    route = path.removeprefix("/api/v1")
    for methods, pattern, roles in rules:
        if re.fullmatch(methods, method) and re.fullmatch(pattern, route):
            return roles
    raise AssertionError(f"no rule for {method} {path}")


@pytest.fixture
def resources(app, client, world):
    """One of each thing a path can name, so an allowed call reaches its handler."""
    from scoring.auth.operations import create_user

    posted = client.post(world.url("/entries"), json=entry(), headers=world.headers("sup1")).get_json()
    veto = client.post(world.url("/vetoes"), json={"section": "LJ-02", "period": "2026-11", "reason": "r"},
                       headers=world.headers()).get_json()
    recipient = client.post(world.url("/recipients"), json={"email": "a@example.org", "name": "甲"},
                            headers=world.headers()).get_json()
    photo = client.post(world.url("/photos"), data=photo_support.photo(),
                        headers={**world.headers("sup1"), "Content-Type": "image/jpeg"}).get_json()
    with app.app_context():
        spare = create_user("spare", "viewer")
        db.session.commit()
        spare_id = spare.id
    return {"cid": world.cid, "entry_id": posted["id"], "veto_id": veto["id"], "rid": recipient["id"],
            "user_id": spare_id, "key": "2026-10", "period": "2026-11", "photo_id": photo["id"]}


def operations(client):
    spec = client.get("/api/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path


def test_role_endpoint_matrix(app, client, world, resources):
    """Every operation of the OpenAPI document × every role: 401 without a token, 403 for a role the
    contract does not allow, and for an allowed role the request gets past the door (not 401/403)."""
    from scoring.auth.operations import issue_token

    seen = []
    for method, path in operations(client):
        if path == "/api/v1/auth/token":
            continue  # the login itself: no token needed (tested below)
        url = path.format(**resources)
        allowed = allowed_roles(method, path)
        for role in ROLES:
            headers = {}
            if role is not None:
                headers = world.headers(TOKEN_OF_ROLE[role])
                if path.endswith("/auth/token/revoke"):  # logging out must not log the matrix out
                    with app.app_context():
                        from scoring.auth.models import User

                        user = db.session.scalar(select(User).where(User.username == TOKEN_OF_ROLE[role]))
                        token, _ = issue_token(user)
                        db.session.commit()
                    headers = {"Authorization": f"Bearer {token}"}
            r = client.open(url, method=method, json={} if method in ("POST", "PUT", "PATCH") else None,
                            headers=headers)
            if role is None:
                expected = "401"
                ok = r.status_code == 401 and "Bearer" in r.headers.get("WWW-Authenticate", "")
            elif role in allowed:
                expected = "past the door"
                ok = r.status_code not in (401, 403) and r.status_code < 500
            else:
                expected = "403"
                ok = r.status_code == 403
            if r.status_code >= 400:
                assert r.mimetype == "application/problem+json", (method, url, role, r.status_code)
            seen.append((method, path, role))
            answer = r.get_data()[:300].decode("utf-8", "replace")  # exports are binary
            assert ok, f"{method} {url} as {role}: {r.status_code}, expected {expected}: {answer}"
    assert len(seen) >= 5 * 30  # the whole document was walked


def test_a_wrong_or_malformed_token_is_401(client, world):
    for header in ("Bearer nope", "Bearer ", "Basic YWRtaW46cGFzc3dvcmQ=", world.tokens["admin"],
                   "Bearer " + world.tokens["admin"][:-1], "Bearer " + world.tokens["admin"] + "x"):
        r = client.get("/api/v1/competitions", headers={"Authorization": header})
        assert r.status_code == 401 and r.mimetype == "application/problem+json", header


def test_display_reads_only_the_boards_of_its_own_competition(client, world):
    other = client.post("/api/v1/competitions", json=competition_body(name="另一个赛"), headers=world.headers())
    other_id = other.get_json()["id"]
    wall = world.headers("wall")
    assert client.get(world.url("/leaderboard"), headers=wall).status_code == 200
    assert client.get(world.url("/leaderboard/history"), headers=wall).status_code == 200
    assert client.get(f"/api/v1/competitions/{other_id}/leaderboard", headers=wall).status_code == 403
    assert client.get(f"/api/v1/competitions/{other_id}/leaderboard/history", headers=wall).status_code == 403
    for path in ("", "/entries", "/sections", "/periods"):
        assert client.get(world.url(path), headers=wall).status_code == 403
    assert client.get(f"/api/v1/competitions/{other_id}/leaderboard", headers=world.headers("viewer")).status_code \
        == 200


def test_a_supervisor_touches_only_assigned_sections(app, client, world):
    sup1, sup2 = world.headers("sup1"), world.headers("sup2")
    r = client.post(world.url("/entries"), json=entry(section="LJ-02"), headers=sup1)
    assert r.status_code == 403 and "LJ-02" in r.get_json()["errors"]["section"][0]
    assert client.post(world.url("/entries"), json=entry(section="LJ-03", team="TJD-3"), headers=sup2).status_code \
        == 201
    batch = client.post(world.url("/entries"), json={"entries": [entry(), entry(section="LJ-03")]}, headers=sup1)
    assert [x["status"] for x in batch.get_json()["results"]] == ["created", "invalid"]
    assert "section" in batch.get_json()["results"][1]["errors"]

    theirs = client.post(world.url("/entries"), json=entry(section="LJ-02"), headers=sup2).get_json()
    mine = client.post(world.url("/entries"), json=entry(observed_at="2026-10-05T09:00:00+08:00"),
                       headers=sup1).get_json()
    assert client.post(f"/api/v1/entries/{theirs['id']}/void", json={"reason": "x"}, headers=sup1).status_code \
        == 403
    assert client.post(world.url("/periods/2026-10/close"), headers=world.headers()).status_code == 200
    closed = client.post(f"/api/v1/entries/{mine['id']}/void", json={"reason": "x"}, headers=sup1)
    assert closed.status_code == 403  # the month is closed: only the office voids now
    assert client.post(f"/api/v1/entries/{mine['id']}/void", json={"reason": "x"},
                       headers=world.headers()).status_code == 200
    listed = client.get(world.url("/entries?section=LJ-02"), headers=sup1).get_json()
    assert [e["id"] for e in listed] == [theirs["id"]]  # reading is open to supervisors; writing is not
    # Nothing of the refused requests was stored.
    from scoring.entries.models import Entry

    with app.app_context():
        assert db.session.query(Entry).count() == 4


# -- tokens and passwords --------------------------------------------------------------------------------

def test_a_database_dump_holds_no_usable_token(app, client, world, tmp_path, runner):
    """All text of all tables: no issued token is in it, and nothing in it works as a token."""
    issued = dict(world.tokens)
    login = client.post("/api/v1/auth/token", json={"username": "admin", "password": "password-admin"})
    issued["login"] = login.get_json()["token"]
    path = tmp_path / "dump.jsonl"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    dump = path.read_text(encoding="utf-8")
    for name, token in issued.items():
        assert token not in dump, name
        assert token[:16] not in dump, name
    for password in ("password-admin", "password-sup1", "password-viewer"):
        assert password not in dump
    candidates = set(re.findall(r'"([A-Za-z0-9_\-:$.]{20,})"', dump))
    assert len(candidates) >= 6  # the stored hashes are among them
    for candidate in candidates:
        r = client.get("/api/v1/competitions", headers={"Authorization": f"Bearer {candidate}"})
        assert r.status_code == 401, candidate


def test_passwords_are_hashed_slowly(database_url, world):
    """Production hashes with werkzeug's scrypt (the suite swaps in a cheap pbkdf2 to save time)."""
    import config
    from scoring.auth.models import User
    from scoring.auth.operations import create_user

    assert config.load({})["PASSWORD_HASH_METHOD"] == "scrypt"
    production = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    assert production.config["PASSWORD_HASH_METHOD"] == "scrypt"
    with production.app_context():
        create_user("office2", "admin", "a long passphrase")
        db.session.commit()
        for user in db.session.scalars(select(User)):
            assert user.password_hash.split(":")[0] in ("scrypt", "pbkdf2"), user.password_hash[:20]
            assert "password-" not in user.password_hash and "passphrase" not in user.password_hash
        stored = db.session.scalar(select(User.password_hash).where(User.username == "office2"))
        db.engine.dispose()
    method, salt, _ = stored.split("$")
    assert method.startswith("scrypt:32768:8:") and len(salt) >= 16  # werkzeug's default cost, salted


def test_an_expired_token_stops_working(app, client, world):
    from scoring.auth.models import ApiToken
    from scoring.clock import utcnow

    assert client.get("/api/v1/competitions", headers=world.headers("viewer")).status_code == 200
    with app.app_context():  # its time runs out (moving the clock would move every token)
        db.session.execute(update(ApiToken).where(ApiToken.user.has(username="viewer"))
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    r = client.get("/api/v1/competitions", headers=world.headers("viewer"))
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert client.get("/api/v1/competitions", headers=world.headers("admin")).status_code == 200
    login = client.post("/api/v1/auth/token", json={"username": "viewer", "password": "password-viewer"}).get_json()
    assert login["role"] == "viewer" and login["expires_at"] > utcnow().isoformat()


def test_revocation_is_effective_at_once_on_every_worker(app, client, world, database_url):
    """Two gunicorn workers: right after the revoke answers, no request with the token gets through."""
    import requests

    server = LiveServer(database_url, workers=2).start()
    try:
        url, headers = server.url + "/api/v1/competitions", world.headers("viewer")
        session = requests.Session()
        for _ in range(60):  # until both workers have booted and answer
            if session.get(url, headers=headers, timeout=30).status_code == 200:
                break
        users = session.get(server.url + "/api/v1/users", headers=world.headers(), timeout=30).json()
        viewer_id = next(u["id"] for u in users if u["username"] == "viewer")
        revoked = session.post(f"{server.url}/api/v1/users/{viewer_id}/tokens/revoke", headers=world.headers(),
                               timeout=30)
        assert revoked.status_code == 200 and revoked.json()["revoked"] == 1
        statuses = [requests.get(url, headers=headers, timeout=30).status_code for _ in range(20)]
        assert statuses == [401] * 20
        # Logging out: the token that asked is dead for the very next request.
        own = session.post(server.url + "/api/v1/auth/token/revoke", headers=world.headers("sup1"), timeout=30)
        assert own.json() == {"revoked": 1}
        assert requests.get(url, headers=world.headers("sup1"), timeout=30).status_code == 401
    finally:
        server.stop()
    audit = client.get(world.url("/audit?action=token.revoked"), headers=world.headers()).get_json()
    assert len(audit) == 2


def test_login_is_rate_limited(app, client, world):
    assert app.config["LOGIN_MAX_FAILURES"] == 5
    for _ in range(5):
        r = client.post("/api/v1/auth/token", json={"username": "admin", "password": "guess"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "admin", "password": "password-admin"})
    assert r.status_code == 429 and r.mimetype == "application/problem+json"
    assert int(r.headers["Retry-After"]) > 0
    # Another name from the same address is limited too: guessing many names does not help.
    r = client.post("/api/v1/auth/token", json={"username": "viewer", "password": "password-viewer"})
    assert r.status_code == 429
    # From another address the right password still works (the office is not locked out by one tablet).
    r = client.post("/api/v1/auth/token", json={"username": "sup2", "password": "password-sup2"},
                    environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 200


def test_login_errors_do_not_tell_which_names_exist(client, world):
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "password-admin"})
    wrong = client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong"},
                        environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_json() == wrong.get_json()
    assert "nobody" not in unknown.get_data(as_text=True) and "admin" not in wrong.get_data(as_text=True)
    # A user that exists but has no password (made by the CLI without --password) looks the same.
    nopw = client.post("/api/v1/users", json={"username": "tablet7", "role": "viewer"}, headers=world.headers())
    assert nopw.status_code == 201
    none = client.post("/api/v1/auth/token", json={"username": "tablet7", "password": "x"},
                       environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert none.status_code == 401 and none.get_json() == unknown.get_json()


# -- headers and CORS --------------------------------------------------------------------------------

def test_security_headers_on_pages_and_api(app, client, world):
    paths = ["/api/v1/competitions", world.url("/leaderboard"), "/api/v1/nope", "/healthz", "/api/openapi.json",
             "/api/docs"]
    if any(rule.rule.startswith("/wall/") for rule in app.url_map.iter_rules()):
        paths += [f"/wall/{world.cid}?token={world.tokens['wall']}", f"/wall/{world.cid}?token=wrong"]
    for path in paths:
        r = client.get(path, headers=world.headers())
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["Referrer-Policy"] in ("no-referrer", "same-origin", "strict-origin-when-cross-origin")
        framing = r.headers.get("X-Frame-Options") == "DENY" or "frame-ancestors 'none'" in r.headers.get(
            "Content-Security-Policy", "")
        assert framing, path
        assert "Server" not in r.headers or "Werkzeug" not in r.headers["Server"]


def test_cors_is_closed_unless_the_origin_is_listed(database_url, client, world):
    headers = {"Origin": "https://evil.example", **world.headers()}
    r = client.get("/api/v1/competitions", headers=headers)
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    preflight = client.options(world.url("/entries"), headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Methods" not in preflight.headers

    tablets = "https://tablets.example.org"
    opened = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "CORS_ORIGINS": [tablets]})
    c = opened.test_client()
    preflight = c.options(world.url("/entries"), headers={
        "Origin": tablets, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == tablets
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Origin" in preflight.headers.get("Vary", "")
    r = c.post(world.url("/entries"), json=entry(), headers={"Origin": tablets, **world.headers("sup1")})
    assert r.status_code == 201 and r.headers["Access-Control-Allow-Origin"] == tablets
    assert "Access-Control-Allow-Credentials" not in r.headers  # bearer tokens, never cookies
    other = c.get("/api/v1/competitions", headers={"Origin": "https://evil.example", **world.headers()})
    assert "Access-Control-Allow-Origin" not in other.headers
    with opened.app_context():
        db.engine.dispose()
