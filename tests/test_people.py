"""People change (CONTRACT.md §3 "People and places change"): someone leaves the project, forgets a
password, moves from one section to another. Through the API and through the office's commands.
Renamed sections, teams and rules: test_corrections.py. Who may call what: test_security.py."""
from __future__ import annotations

import pytest
import requests
from conftest import LiveServer, bearer
from sqlalchemy import select, update

from scoring.auth.models import User
from scoring.extensions import db

ME = "/api/v1/auth/me"


@pytest.fixture
def people(app, client, world, api):
    """The office's hands on people: `people.id(name)`, `people.patch(name, body)`, `people.password(name, pw)`
    (each asserting its answer, the documented success unless `status=`), and `people.audit(action)`."""

    class People:
        def id(self, username: str) -> int:
            with app.app_context():
                found = db.session.scalar(select(User.id).where(User.username == username))
                db.session.remove()
            return found

        def patch(self, username: str, body: dict, status: int = 200, who: str = "admin") -> dict:
            return api.answer(client.patch(f"/api/v1/users/{self.id(username)}", json=body,
                                           headers=world.headers(who)), status)

        def password(self, username: str, password: str, status: int = 200, **extra) -> dict:
            return api.answer(client.post(f"/api/v1/users/{self.id(username)}/password",
                                          json={"password": password, **extra}, headers=world.headers()), status)

        def audit(self, action: str) -> list[dict]:
            return api.audit(f"?action={action}")

    return People()


# -- the leaver -------------------------------------------------------------------------------------

def test_the_leaver_loses_every_token_and_the_password_but_keeps_her_history(client, world, api, login, people):
    old_token = login("sup1", "password-sup1").get_json()["token"]
    posted = api.post(who="sup1", points=2)
    assert client.get(ME, headers=world.headers("sup1")).status_code == 200

    user = people.patch("sup1", {"active": False, "reason": "调离项目"})
    assert user["active"] is False and user["sections"] == ["LJ-01"]  # what she was stays on record

    for token in (world.tokens["sup1"], old_token):  # every token at once
        api.problem(client.get(ME, headers=bearer(token)), 401)
        # A posting her tablet queued before she left, sent now: refused, nothing stored.
        api.problem(client.post(world.url("/entries"), json=api.entry(), headers=bearer(token)), 401)
    # Her password is refused with the very answer of a wrong one: nothing says the account exists.
    refused, wrong = login("sup1", "password-sup1"), login("sup2", "not-her-password")
    api.problem(refused, 401)
    assert refused.get_json() == wrong.get_json()

    # History intact: her entry is still hers and still counts.
    listed = api.get("/entries?supervisor=sup1").get_json()
    assert [(e["id"], e["supervisor"], e["status"]) for e in listed] == [(posted["id"], "sup1", "counted")]
    assert api.rows()["LJ-01"]["total"] == 98
    posted_events = api.audit("?action=entry.posted")
    assert [(e["target"], e["actor"]) for e in posted_events] == [(f"entry:{posted['id']}", "sup1")]

    (event,) = people.audit("user.updated")
    assert (event["actor"], event["reason"]) == ("admin", "调离项目")
    assert event["detail"] == {"username": "sup1", "before": {"active": True}, "after": {"active": False}}
    assert len(people.audit("token.revoked")) == 2

    # Back on the project: the password works again; the old tokens stay dead.
    assert people.patch("sup1", {"active": True, "reason": "返回项目"})["active"] is True
    fresh = login("sup1", "password-sup1")
    assert fresh.status_code == 200
    assert client.get(ME, headers=bearer(fresh.get_json()["token"])).status_code == 200
    api.problem(client.get(ME, headers=world.headers("sup1")), 401)


def test_the_token_lookup_itself_checks_the_flag(app, client, world, api):
    """Even with its token rows untouched (a deactivation committed by any process, any host), the token no
    longer authenticates: the active flag is read in the same query that finds the token."""
    with app.app_context():
        db.session.execute(update(User).where(User.username == "viewer").values(active=False))
        db.session.commit()
    api.problem(client.get(world.url(), headers=world.headers("viewer")), 401)
    assert client.get(world.url(), headers=world.headers("sup2")).status_code == 200


def test_a_deactivated_display_sends_the_wall_to_its_error_page(client, world, api, people):
    wall = f"/wall/{world.cid}?token={world.tokens['wall']}"
    assert client.get(wall).status_code == 200
    people.patch("wall", {"active": False, "reason": "大屏更换"})
    page = client.get(wall)
    assert page.status_code == 401 and page.mimetype == "text/html"
    assert "显示令牌无效或已撤销" in page.get_data(as_text=True)
    api.problem(client.get(world.url("/leaderboard"), headers=world.headers("wall")), 401)


def test_deactivation_reaches_every_worker_at_once(database_url, world, months):
    """A real gunicorn with two workers: once the office's PATCH has returned, no worker answers the leaver's
    token, and a supervisor's new sections hold on every worker for the very next request."""
    server = LiveServer(database_url, workers=2).start()
    try:
        api = f"{server.url}/api/v1"
        admin, leaver, mover = (bearer(world.tokens[who]) for who in ("admin", "viewer", "sup1"))
        with requests.Session() as http:
            for _ in range(8):  # both workers have served them
                assert http.get(f"{api}/auth/me", headers=leaver, timeout=10).status_code == 200
                assert http.get(f"{api}/auth/me", headers=mover, timeout=10).json()["sections"] == ["LJ-01"]
            users = {u["username"]: u["id"] for u in http.get(f"{api}/users", headers=admin, timeout=10).json()}
            assert http.patch(f"{api}/users/{users['viewer']}", json={"active": False}, headers=admin,
                              timeout=10).status_code == 200
            assert http.patch(f"{api}/users/{users['sup1']}", json={"sections": ["LJ-03"]}, headers=admin,
                              timeout=10).status_code == 200
            for _ in range(8):
                assert http.get(f"{api}/auth/me", headers=leaver, timeout=10).status_code == 401
                assert http.get(f"{api}/auth/me", headers=mover, timeout=10).json()["sections"] == ["LJ-03"]
            entry = {"client_id": "moved-1", "section": "LJ-03", "team": None, "criterion": "safety", "item": "S1",
                     "kind": "deduction", "points": 1, "observed_at": months.observed_at(), "note": "未戴安全帽",
                     "location": None}
            assert http.post(f"{api}/competitions/{world.cid}/entries", json=entry, headers=mover,
                             timeout=10).status_code == 201
    finally:
        server.stop()


def test_the_last_active_admin_cannot_be_deactivated(client, world, api, people, login):
    before = api.stored()
    problem = api.problem(client.patch(f"/api/v1/users/{people.id('admin')}", json={"active": False},
                                       headers=world.headers()), 409)
    assert "管理员" in problem["detail"]
    assert api.stored() == before
    made = api.answer(client.post("/api/v1/users", json={"username": "office2", "role": "admin",
                                                         "password": "password-office2"}, headers=world.headers()), 201)
    people.patch("admin", {"active": False, "reason": "交接给 office2"}, who="admin")
    # Her own token died with the change; the other admin carries on.
    api.problem(client.get("/api/v1/users", headers=world.headers()), 401)
    assert client.get("/api/v1/users", headers=bearer(made["token"])).status_code == 200


# -- moving a supervisor ------------------------------------------------------------------------------

def test_a_moved_supervisor_posts_to_the_new_section_and_not_the_old(client, world, api, people):
    sent = api.entry(section="LJ-01")
    mine = api.post(sent, who="sup1")
    moved = people.patch("sup1", {"sections": ["LJ-02"], "reason": "调往二标段"})
    assert moved["sections"] == ["LJ-02"]
    assert client.get(ME, headers=world.headers("sup1")).get_json()["sections"] == ["LJ-02"]

    # The tablet's queue, sent after the move: the old section's posting is invalid, the new one's created.
    batch = api.answer(client.post(world.url("/entries"), json={"entries": [
        api.entry(section="LJ-01"), api.entry(section="LJ-02", team="TJD-2")]}, headers=world.headers("sup1")))
    old, new = batch["results"]
    assert old["status"] == "invalid" and "LJ-01" in old["errors"]["section"][0]
    assert new["status"] == "created"
    api.problem(client.post(world.url("/entries"), json=api.entry(section="LJ-01"), headers=world.headers("sup1")),
                403, "section")
    # Resending what was stored before the move is answered as any resend: the entry first stored.
    assert api.post(sent, who="sup1", status=200)["id"] == mine["id"]
    # What she posted on LJ-01 before the move stays hers, and she may still void it while the month is open.
    assert api.void(mine["id"], who="sup1")["status"] == "void"

    (event,) = people.audit("user.updated")
    assert event["detail"]["before"] == {"sections": ["LJ-01"]}
    assert event["detail"]["after"] == {"sections": ["LJ-02"]}
    assert event["reason"] == "调往二标段"


def test_display_name_is_corrected_and_cleared(people):
    assert people.patch("sup2", {"display_name": "李树荣"})["display_name"] == "李树荣"
    assert people.patch("sup2", {"display_name": None})["display_name"] is None
    people.patch("sup2", {"display_name": None})  # nothing to change: nothing recorded
    assert [e["detail"]["after"] for e in people.audit("user.updated")] == [{"display_name": "李树荣"},
                                                                           {"display_name": None}]


BAD_PATCHES = {
    "unknown field": ({"role": "admin"}, 422, "role"),
    "active as a string": ({"active": "false"}, 422, "active"),
    "active as a number": ({"active": 0}, 422, "active"),
    "unknown section": ({"sections": ["LJ-01", "LJ-99"]}, 422, "sections"),
    "sections not a list": ({"sections": "LJ-02"}, 422, "sections"),
    "empty display name": ({"display_name": ""}, 422, "display_name"),
    "display name with a line break": ({"display_name": "李\n树荣"}, 422, "display_name"),
}


def test_bad_user_patches_change_nothing(client, world, api, people):
    before = api.stored()
    for case, (body, status, field) in BAD_PATCHES.items():
        problem = api.problem(client.patch(f"/api/v1/users/{people.id('sup1')}", json={"active": False, **body},
                                           headers=world.headers()), status, field)
        assert problem, case
    api.problem(client.patch("/api/v1/users/99999", json={"active": False}, headers=world.headers()), 404)
    api.problem(client.patch(f"/api/v1/users/{people.id('viewer')}", json={"sections": ["LJ-01"]},
                             headers=world.headers()), 422, "competition")  # an office-wide user has no sections
    assert api.stored() == before
    assert client.get(ME, headers=world.headers("sup1")).status_code == 200


# -- passwords ----------------------------------------------------------------------------------------

def test_the_office_sets_a_forgotten_password_and_her_tokens_die(client, world, api, login, people):
    other = login("sup2", "password-sup2").get_json()["token"]
    answer = people.password("sup2", "ring-road-2027", reason="忘记密码")
    assert answer == {"revoked": 2}
    for token in (world.tokens["sup2"], other):
        api.problem(client.get(ME, headers=bearer(token)), 401)
    api.problem(login("sup2", "password-sup2"), 401)
    assert login("sup2", "ring-road-2027").status_code == 200
    (event,) = people.audit("user.password_set")
    assert event["reason"] == "忘记密码" and "ring-road-2027" not in str(api.audit())


def test_password_rules(client, world, api, people, login):
    made = api.answer(client.post("/api/v1/users", json={"username": "jianli-zhang", "role": "supervisor",
                                                         "password": "password-z1"}, headers=world.headers()), 201)
    before = api.stored()
    for password in ("short-9ch", "Jianli-Zhang", "JIANLI-ZHANG "):
        problem = people.password("jianli-zhang", password, status=422)
        assert "password" in problem["errors"], password
    same = {"username": "jianli-wang", "role": "viewer", "password": "jianli-wang"}
    api.problem(client.post("/api/v1/users", json=same, headers=world.headers()), 422, "password")
    api.problem(client.post("/api/v1/auth/password", json={"current": "password-z1", "new": "jianli-zhang"},
                            headers=bearer(made["token"])), 422, "new")
    assert api.stored() == before


def test_anyone_changes_their_own_password_with_the_current_one(client, world, api, login):
    tablet = login("sup1", "password-sup1").get_json()["token"]
    answer = api.answer(client.post("/api/v1/auth/password", json={"current": "password-sup1",
                                                                   "new": "a-better-one-2027"},
                                    headers=world.headers("sup1")))
    assert answer == {"revoked": 1}  # the tablet's token; this one stays
    api.problem(client.get(ME, headers=bearer(tablet)), 401)
    assert client.get(ME, headers=world.headers("sup1")).status_code == 200
    api.problem(login("sup1", "password-sup1"), 401)
    assert login("sup1", "a-better-one-2027").status_code == 200
    (event,) = api.audit("?action=user.password_changed")
    assert event["actor"] == "sup1" and "a-better-one" not in str(api.audit())


def test_a_wrong_current_password_counts_as_a_failed_login(app, client, world, api, login):
    """A stolen token cannot be used to guess the password behind it: the throttle of logins holds here too."""
    change = {"current": "a-guess-000", "new": "another-one-2027"}
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        api.problem(client.post("/api/v1/auth/password", json=change, headers=world.headers("viewer")), 422, "current")
    throttled = client.post("/api/v1/auth/password", json={**change, "current": "password-viewer"},
                            headers=world.headers("viewer"))
    api.problem(throttled, 429)
    assert int(throttled.headers["Retry-After"]) > 0
    api.problem(login("viewer", "password-viewer"), 429)  # the same counter as the login's
    assert login("sup2", "password-sup2", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200


# -- the office's terminal ----------------------------------------------------------------------------

def test_users_deactivate_reactivate_and_password_commands(client, runner, world, api, login, people):
    result = runner.invoke(args=["users", "deactivate", "sup2", "--reason", "合同期满"])
    assert result.exit_code == 0, result.output
    api.problem(client.get(ME, headers=world.headers("sup2")), 401)
    api.problem(login("sup2", "password-sup2"), 401)
    (event,) = people.audit("user.updated")
    assert (event["actor"], event["reason"], event["detail"]["after"]) == ("cli", "合同期满", {"active": False})

    assert runner.invoke(args=["users", "reactivate", "sup2"]).exit_code == 0
    assert login("sup2", "password-sup2").status_code == 200

    result = runner.invoke(args=["users", "password", "sup2", "--password-stdin"], input="from-stdin-2027\n")
    assert result.exit_code == 0, result.output
    assert "from-stdin-2027" not in result.output
    assert login("sup2", "from-stdin-2027").status_code == 200
    result = runner.invoke(args=["users", "password", "sup2"], input="typed-twice-2027\ntyped-twice-2027\n")
    assert result.exit_code == 0, result.output
    assert login("sup2", "typed-twice-2027").status_code == 200


@pytest.mark.parametrize("args,stdin,words", [
    (["deactivate", "nobody"], None, "nobody"),
    (["reactivate", "nobody"], None, "nobody"),
    (["deactivate", "admin"], None, "admin"),  # the last active admin
    (["password", "sup1", "--password-stdin"], "short\n", "10"),
    (["password", "sup1", "--password-stdin"], "SUP1\n", "10"),
    (["password", "nobody", "--password-stdin"], "long-enough-1\n", "nobody"),
])
def test_user_commands_refuse_bad_input_in_one_line(runner, api, args, stdin, words):
    before = api.stored()
    result = runner.invoke(args=["users", *args], input=stdin)
    assert result.exit_code != 0 and words in result.output and "Traceback" not in result.output, result.output
    assert api.stored() == before
