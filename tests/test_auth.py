"""Who is asking: logins, tokens, passwords and users (CONTRACT.md §2 "Auth", §3 users and auth/token).
What each role may then do is tested in test_security.py."""
import re
from datetime import timedelta

import pytest
from conftest import LiveServer, bearer, competition_body
from sqlalchemy import select, update

from scoring import create_app
from scoring.auth.models import ApiToken
from scoring.clock import utcnow
from scoring.extensions import db

TOKEN = "/api/v1/auth/token"


# -- logging in --------------------------------------------------------------------------------------

def test_login_issues_a_working_token(client, world, api, login):
    r = login("sup1", "password-sup1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["role"] == "supervisor" and set(body) == {"token", "role", "expires_at"}
    assert body["expires_at"] > utcnow().isoformat()
    assert client.get(world.url(), headers=bearer(body["token"])).status_code == 200
    assert client.post(world.url("/entries"), json=api.entry(), headers=bearer(body["token"])).status_code == 201


def test_login_errors_do_not_tell_which_names_exist(client, world, api, login):
    wrong = login("admin", "password-sup1")
    unknown = login("nobody", "password-admin")
    api.problem(wrong, 401)
    assert wrong.get_json() == unknown.get_json()
    assert "nobody" not in unknown.get_data(as_text=True) and "admin" not in wrong.get_data(as_text=True)
    api.problem(login("wall", ""), 422, "password")
    elsewhere = login("admin", "wrong", environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert elsewhere.status_code == 401 and elsewhere.get_json() == unknown.get_json()
    # A user that exists but has no password (made by the CLI without --password) looks the same.
    nopw = client.post("/api/v1/users", json={"username": "tablet7", "role": "viewer"}, headers=world.headers())
    assert nopw.status_code == 201
    none = login("tablet7", "x", environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert none.status_code == 401 and none.get_json() == unknown.get_json()


def test_sixth_failure_in_the_window_is_a_429_with_retry_after(app, world, api, login):
    assert app.config["LOGIN_MAX_FAILURES"] == 5
    for _ in range(5):
        api.problem(login("admin", "guess"), 401)
    for username, password in (("admin", "guess"), ("admin", "password-admin")):
        problem = login(username, password)
        api.problem(problem, 429)
        assert 0 < int(problem.headers["Retry-After"]) <= app.config["LOGIN_WINDOW_SECONDS"]
    # Another name from the same address is not locked by these typos (one office behind one proxy) …
    assert login("viewer", "password-viewer").status_code == 200
    # … and the admin at another address is never locked out by someone else's failures.
    assert login("admin", "password-admin", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_failures_below_the_limit_do_not_block_a_right_password(world, api, login):
    for _ in range(4):
        api.problem(login("viewer", "guess"), 401)
    assert login("viewer", "password-viewer").status_code == 200


# -- tokens ------------------------------------------------------------------------------------------

def test_tokens_are_stored_hashed(app, client, world, api, login):
    issued = [login("admin", "password-admin").get_json()["token"], *world.tokens.values()]
    created = client.post("/api/v1/users", json={"username": "office2", "role": "viewer", "password": "long-enough"},
                          headers=world.headers()).get_json()
    issued.append(created["token"])
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == len(issued)
    stored = repr(api.stored())
    for token in issued:
        assert len(token) >= 40
        assert token not in stored
        assert client.get(world.url("/leaderboard"), headers=bearer(token)).status_code == 200


def test_a_database_dump_holds_no_usable_token(client, world, runner, login, tmp_path):
    """All text of all tables: no issued token is in it, and nothing in it works as a token."""
    issued = dict(world.tokens)
    issued["login"] = login("admin", "password-admin").get_json()["token"]
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


def test_logout_revokes_the_token_at_once(client, world, api, login):
    token = login("viewer", "password-viewer").get_json()["token"]
    assert client.post(f"{TOKEN}/revoke", headers=bearer(token)).get_json() == {"revoked": 1}
    api.problem(client.get(world.url(), headers=bearer(token)), 401)
    api.problem(client.post(f"{TOKEN}/revoke", headers=bearer(token)), 401)
    assert client.get(world.url(), headers=world.headers("viewer")).status_code == 200  # the other token lives on


def test_admin_revokes_all_of_a_users_tokens(client, world, api, login):
    sup1_user = next(u for u in client.get("/api/v1/users", headers=world.headers()).get_json()
                     if u["username"] == "sup1")
    second = login("sup1", "password-sup1").get_json()["token"]
    api.problem(client.post(f"/api/v1/users/{sup1_user['id']}/tokens/revoke", headers=world.headers("sup2")), 403)
    r = client.post(f"/api/v1/users/{sup1_user['id']}/tokens/revoke", headers=world.headers())
    assert r.get_json() == {"revoked": 2}
    for token in (world.tokens["sup1"], second):
        api.problem(client.post(world.url("/entries"), json=api.entry(), headers=bearer(token)), 401)
    api.problem(client.post("/api/v1/users/999999/tokens/revoke", headers=world.headers()), 404)
    assert client.get(world.url("/entries"), headers=world.headers()).get_json() == []


def test_an_expired_token_stops_working(app, client, world, api, login):
    assert client.get("/api/v1/competitions", headers=world.headers("viewer")).status_code == 200
    with app.app_context():  # its time runs out (moving the clock would move every token)
        db.session.execute(update(ApiToken).where(ApiToken.user.has(username="viewer"))
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    api.problem(client.get("/api/v1/competitions", headers=world.headers("viewer")), 401)
    assert client.get("/api/v1/competitions", headers=world.headers("admin")).status_code == 200
    fresh = login("viewer", "password-viewer").get_json()
    assert fresh["role"] == "viewer" and fresh["expires_at"] > utcnow().isoformat()
    with app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    for who in ("admin", "viewer", "wall"):
        api.problem(client.get(world.url("/leaderboard"), headers=world.headers(who)), 401)


MALFORMED = ["Basic YWRtaW46cHc=", "Bearer", "Bearer ", "Token abc", "bearer", "Bearer nope", "{admin}",
             "Bearer {admin}x", "Bearer {admin_cut}"]


@pytest.mark.parametrize("header", MALFORMED)
def test_a_wrong_or_malformed_token_is_a_401(client, world, api, header):
    header = header.format(admin=world.tokens["admin"], admin_cut=world.tokens["admin"][:-1])
    for url in ("/api/v1/competitions", world.url()):
        api.problem(client.get(url, headers={"Authorization": header}), 401)


def test_revocation_is_effective_at_once_on_every_worker(client, world, database_url):
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


# -- passwords -------------------------------------------------------------------------------------------

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


# -- users ---------------------------------------------------------------------------------------

def test_admin_creates_a_supervisor_whose_token_posts_for_assigned_sections(client, world, api, login):
    body = {"username": "inspector", "password": "long-enough", "role": "supervisor", "competition": world.cid,
            "sections": ["LJ-02", "LJ-03"]}
    r = client.post("/api/v1/users", json=body, headers=world.headers())
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert (created["username"], created["role"], created["competition"], created["sections"]) == \
        ("inspector", "supervisor", world.cid, ["LJ-02", "LJ-03"])
    assert "password" not in created and "password_hash" not in created
    token = created["token"]
    assert client.post(world.url("/entries"), json=api.entry(section="LJ-03"), headers=bearer(token)).status_code \
        == 201
    api.problem(client.post(world.url("/entries"), json=api.entry(), headers=bearer(token)), 403)
    assert login("inspector", "long-enough").status_code == 200
    names = [u["username"] for u in client.get("/api/v1/users", headers=world.headers()).get_json()]
    assert names == ["admin", "sup1", "sup2", "viewer", "wall", "con1", "inspector"]


INVALID_USERS = {
    "unknown role": ({"role": "boss"}, 422, "role"),
    "short password": ({"password": "short"}, 422, "password"),
    "bad username": ({"username": "a b"}, 422, "username"),
    "unknown field": ({"email": "x@example.org"}, 422, "email"),
    "unknown section": ({"sections": ["LJ-99"]}, 422, "sections"),
    "sections without competition": ({"competition": None}, 422, "competition"),
    "unknown competition": ({"competition": 999}, 422, "competition"),
    "display without competition": ({"role": "display", "sections": [], "competition": None}, 422, "competition"),
    "existing name": ({"username": "sup1"}, 409, None),
}


@pytest.mark.parametrize("case", INVALID_USERS, ids=list(INVALID_USERS))
def test_invalid_user(client, world, api, case):
    change, status, field = INVALID_USERS[case]
    body = {"username": "inspector", "password": "long-enough", "role": "supervisor", "competition": world.cid,
            "sections": ["LJ-01"], **change}
    before = api.stored()
    api.problem(client.post("/api/v1/users", json=body, headers=world.headers()), status, *filter(None, [field]))
    assert api.stored() == before


@pytest.mark.parametrize("who,status", [("sup1", 403), ("viewer", 403), ("wall", 403), ("con1", 403),
                                       (None, 401), ("bad", 401)])
def test_only_admin_manages_users(client, world, api, who, status):
    body = {"username": "x1", "password": "long-enough", "role": "admin"}
    api.problem(client.post("/api/v1/users", json=body, headers=world.headers(who)), status)
    api.problem(client.get("/api/v1/users", headers=world.headers(who)), status)
    assert len(client.get("/api/v1/users", headers=world.headers()).get_json()) == len(world.tokens)


def test_users_create_command_prints_a_working_token(client, runner, world, api, login):
    result = runner.invoke(args=["users", "create", "inspector", "--role", "supervisor", "--sections", "LJ-02",
                                 "--competition", str(world.cid), "--password", "long-enough"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert client.post(world.url("/entries"), json=api.entry(section="LJ-02"), headers=bearer(token)).status_code \
        == 201
    api.problem(client.post(world.url("/entries"), json=api.entry(), headers=bearer(token)), 403)
    assert login("inspector", "long-enough").status_code == 200

    result = runner.invoke(args=["users", "create", "office", "--role", "admin"])
    assert result.exit_code == 0
    assert client.post("/api/v1/competitions", json=competition_body(),
                       headers=bearer(result.output.strip().splitlines()[-1])).status_code == 201


@pytest.mark.parametrize("args,words", [(["inspector", "--role", "supervisor", "--sections", "LJ-99"], "LJ-99"),
                                        (["sup1", "--role", "viewer"], "exists"),
                                        (["screen", "--role", "display"], "competition"),
                                        (["x", "--role", "boss"], "boss")])
def test_users_create_command_refuses_bad_input_in_one_line(runner, api, args, words):
    before = api.stored()
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code != 0 and words in result.output and "Traceback" not in result.output
    assert api.stored() == before
