"""Tokens, users and roles (CONTRACT.md §2 "Auth", §3 users and auth/token)."""
from datetime import timedelta

import pytest
from conftest import competition_body, entry
from core_support import assert_problem, dump_tables, headers_for
from sqlalchemy import select, update

from scoring.auth.models import ApiToken
from scoring.extensions import db
from scoring.clock import utcnow

TOKEN = "/api/v1/auth/token"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def login(client, username, password):
    return client.post(TOKEN, json={"username": username, "password": password})


def test_login_issues_a_working_token(client, world):
    r = login(client, "sup1", "password-sup1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["role"] == "supervisor" and set(body) == {"token", "role", "expires_at"}
    assert body["expires_at"] > utcnow().isoformat()
    assert client.get(world.url(), headers=bearer(body["token"])).status_code == 200
    assert client.post(world.url("/entries"), json=entry(), headers=bearer(body["token"])).status_code == 201


def test_wrong_password_and_unknown_user_get_the_same_401(client, world):
    wrong = login(client, "admin", "password-sup1")
    unknown = login(client, "nobody", "password-admin")
    no_password = login(client, "wall", "")
    assert_problem(wrong, 401)
    assert wrong.get_json() == unknown.get_json()
    assert_problem(no_password, 422, "password")


def test_sixth_failure_in_the_window_is_a_429_with_retry_after(client, world):
    for _ in range(5):
        assert_problem(login(client, "admin", "guess"), 401)
    for username, password in (("admin", "guess"), ("admin", "password-admin")):
        problem = login(client, username, password)
        assert_problem(problem, 429)
        assert int(problem.headers["Retry-After"]) > 0
    # The limit also holds per address: guessing other names from here is blocked too.
    assert_problem(login(client, "viewer", "password-viewer"), 429)


def test_failures_below_the_limit_do_not_block_a_right_password(client, world):
    for _ in range(4):
        assert_problem(login(client, "viewer", "guess"), 401)
    assert login(client, "viewer", "password-viewer").status_code == 200


def test_tokens_are_stored_hashed(app, client, world):
    issued = [login(client, "admin", "password-admin").get_json()["token"], *world.tokens.values()]
    created = client.post("/api/v1/users", json={"username": "office2", "role": "viewer", "password": "long-enough"},
                          headers=world.headers()).get_json()
    issued.append(created["token"])
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == len(issued)
    stored = repr(dump_tables(app))
    for token in issued:
        assert len(token) >= 40
        assert token not in stored
        assert client.get(world.url("/leaderboard"), headers=bearer(token)).status_code == 200


def test_logout_revokes_the_token_at_once(client, world):
    token = login(client, "viewer", "password-viewer").get_json()["token"]
    assert client.post(f"{TOKEN}/revoke", headers=bearer(token)).get_json() == {"revoked": 1}
    assert_problem(client.get(world.url(), headers=bearer(token)), 401)
    assert_problem(client.post(f"{TOKEN}/revoke", headers=bearer(token)), 401)
    assert client.get(world.url(), headers=world.headers("viewer")).status_code == 200  # the other token lives on


def test_admin_revokes_all_of_a_users_tokens(client, world):
    sup1_user = next(u for u in client.get("/api/v1/users", headers=world.headers()).get_json()
                     if u["username"] == "sup1")
    second = login(client, "sup1", "password-sup1").get_json()["token"]
    assert_problem(client.post(f"/api/v1/users/{sup1_user['id']}/tokens/revoke", headers=world.headers("sup2")), 403)
    r = client.post(f"/api/v1/users/{sup1_user['id']}/tokens/revoke", headers=world.headers())
    assert r.get_json() == {"revoked": 2}
    for token in (world.tokens["sup1"], second):
        assert_problem(client.post(world.url("/entries"), json=entry(), headers=bearer(token)), 401)
    assert_problem(client.post("/api/v1/users/999999/tokens/revoke", headers=world.headers()), 404)
    assert client.get(world.url("/entries"), headers=world.headers()).get_json() == []


def test_expired_token_is_refused(app, client, world):
    with app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    for who in ("admin", "viewer", "wall"):
        assert_problem(client.get(world.url("/leaderboard"), headers=world.headers(who)), 401)


@pytest.mark.parametrize("header", ["Basic YWRtaW46cHc=", "Bearer", "Bearer ", "Token abc", "bearer"])
def test_malformed_authorization_header_is_a_401(client, world, header):
    assert_problem(client.get(world.url(), headers={"Authorization": header}), 401)


# -- users ---------------------------------------------------------------------------------------

def test_admin_creates_a_supervisor_whose_token_posts_for_assigned_sections(client, world):
    body = {"username": "inspector", "password": "long-enough", "role": "supervisor", "competition": world.cid,
            "sections": ["LJ-02", "LJ-03"]}
    r = client.post("/api/v1/users", json=body, headers=world.headers())
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert (created["username"], created["role"], created["competition"], created["sections"]) == \
        ("inspector", "supervisor", world.cid, ["LJ-02", "LJ-03"])
    assert "password" not in created and "password_hash" not in created
    token = created["token"]
    assert client.post(world.url("/entries"), json=entry(section="LJ-03"), headers=bearer(token)).status_code == 201
    assert_problem(client.post(world.url("/entries"), json=entry(), headers=bearer(token)), 403)
    assert login(client, "inspector", "long-enough").status_code == 200
    names = [u["username"] for u in client.get("/api/v1/users", headers=world.headers()).get_json()]
    assert names == ["admin", "sup1", "sup2", "viewer", "wall", "inspector"]


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
def test_invalid_user(app, client, world, case):
    change, status, field = INVALID_USERS[case]
    body = {"username": "inspector", "password": "long-enough", "role": "supervisor", "competition": world.cid,
            "sections": ["LJ-01"], **change}
    before = dump_tables(app)
    assert_problem(client.post("/api/v1/users", json=body, headers=world.headers()), status, *filter(None, [field]))
    assert dump_tables(app) == before


@pytest.mark.parametrize("who,status", [("sup1", 403), ("viewer", 403), ("wall", 403), (None, 401), ("bad", 401)])
def test_only_admin_manages_users(client, world, who, status):
    body = {"username": "x1", "password": "long-enough", "role": "admin"}
    assert_problem(client.post("/api/v1/users", json=body, headers=headers_for(world, who)), status)
    assert_problem(client.get("/api/v1/users", headers=headers_for(world, who)), status)
    assert len(client.get("/api/v1/users", headers=world.headers()).get_json()) == 5


def test_users_create_command_prints_a_working_token(client, runner, world):
    result = runner.invoke(args=["users", "create", "inspector", "--role", "supervisor", "--sections", "LJ-02",
                                 "--competition", str(world.cid), "--password", "long-enough"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert client.post(world.url("/entries"), json=entry(section="LJ-02"), headers=bearer(token)).status_code == 201
    assert_problem(client.post(world.url("/entries"), json=entry(), headers=bearer(token)), 403)
    assert login(client, "inspector", "long-enough").status_code == 200

    result = runner.invoke(args=["users", "create", "office", "--role", "admin"])
    assert result.exit_code == 0
    assert client.post("/api/v1/competitions", json=competition_body(),
                       headers=bearer(result.output.strip().splitlines()[-1])).status_code == 201


@pytest.mark.parametrize("args,words", [(["inspector", "--role", "supervisor", "--sections", "LJ-99"], "LJ-99"),
                                        (["sup1", "--role", "viewer"], "exists"),
                                        (["screen", "--role", "display"], "competition"),
                                        (["x", "--role", "boss"], "boss")])
def test_users_create_command_refuses_bad_input_in_one_line(app, runner, world, args, words):
    before = dump_tables(app)
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code != 0 and words in result.output and "Traceback" not in result.output
    assert dump_tables(app) == before


# -- roles ---------------------------------------------------------------------------------------

def test_display_reads_only_the_leaderboards_of_its_own_competition(client, world):
    other = client.post("/api/v1/competitions", json=competition_body(name="另一赛"),
                        headers=world.headers()).get_json()
    wall = world.headers("wall")
    assert client.get(world.url("/leaderboard"), headers=wall).status_code == 200
    assert client.get(world.url("/leaderboard?board=teams&period=2026"), headers=wall).status_code == 200
    base = f"/api/v1/competitions/{other['id']}"
    assert_problem(client.get(f"{base}/leaderboard", headers=wall), 403)
    assert client.get(f"{base}/leaderboard", headers=world.headers("viewer")).status_code == 200
    for path in ("", "/entries", "/vetoes", "/sections", "/teams", "/periods", "/audit"):
        assert_problem(client.get(world.url(path), headers=wall), 403)
    assert_problem(client.get("/api/v1/users", headers=wall), 403)


def test_viewer_reads_everything_but_the_audit_and_changes_nothing(app, client, world):
    viewer = world.headers("viewer")
    for path in ("", "/entries", "/vetoes", "/sections", "/teams", "/periods", "/leaderboard"):
        assert client.get(world.url(path), headers=viewer).status_code == 200, path
    before = dump_tables(app)
    assert_problem(client.get(world.url("/audit"), headers=viewer), 403)
    for path, body in (("/entries", entry()), ("/vetoes", {"section": "LJ-01", "period": "2026-11", "reason": "x"}),
                       ("/periods/2026-10/close", None)):
        assert_problem(client.post(world.url(path), json=body, headers=viewer), 403)
    assert dump_tables(app) == before
