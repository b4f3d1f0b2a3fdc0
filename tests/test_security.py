"""Who may do what (CONTRACT.md §2 "Auth" and §3), security headers and CORS. Logins and tokens: test_auth.py."""
from __future__ import annotations

import re

import photo_support
from conftest import bearer, competition_body
from sqlalchemy import select

from scoring import create_app
from scoring.extensions import db

ROLES = ("admin", "supervisor", "viewer", "display", "contractor", None)
TOKEN_OF_ROLE = {"admin": "admin", "supervisor": "sup1", "viewer": "viewer", "display": "wall", "contractor": "con1"}
READ = {"admin", "supervisor", "viewer", "contractor"}
EVERY = READ | {"display"}


def allowed_roles(method: str, path: str) -> set[str]:
    """The contract, route by route: which roles may call it (on their own competition and sections)."""
    rules = [
        ("POST", r"/auth/token/revoke", EVERY),  # logging out
        ("GET", r"/auth/me", EVERY),  # who am I: every token
        ("POST", r"/auth/password", EVERY),  # one's own password
        ("POST", r"/competitions/\{cid\}/entries", {"admin", "supervisor"}),
        ("POST", r"/competitions/\{cid\}/photos", {"admin", "supervisor", "contractor"}),
        ("POST", r"/entries/\{entry_id\}/(void|correct)", {"admin", "supervisor"}),
        ("POST", r"/notices/\{notice_id\}/responses", {"admin", "contractor"}),
        ("POST", r"/notices/\{notice_id\}/review", {"admin", "supervisor"}),
        ("GET", r"/competitions/\{cid\}/leaderboard(/history)?", READ | {"display"}),
        ("GET", r"/competitions/\{cid\}/(audit|recipients|channels)", {"admin"}),
        ("GET", r"/competitions/\{cid\}/channels/\{channel_id\}/deliveries", {"admin"}),
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


class ValidRequests:
    """For each operation of the OpenAPI document, a request made in earnest (a valid body, things that exist)
    and the success the contract documents for it. A request is built afresh for each role where more than one
    role may succeed (each voids an entry of its own, logs out a token of its own)."""

    def __init__(self, app, api, months):
        from scoring.auth.operations import create_user

        self.app, self.api, self.months, self.n = app, api, months, 0
        api.post(month=months.ago(2))
        api.close(months.ago(2))  # a closed month: reopen, report, send
        api.post(month=months.last)  # a month to close
        self.veto_id = api.veto("LJ-02")["id"]
        self.recipient_id = api.answer(api.client.post(api.world.url("/recipients"), json={
            "email": "a@example.org", "name": "甲"}, headers=api.world.headers()), 201)["id"]
        self.photo_id = self.upload(0)["id"]
        self.notice_id = api.notice()["id"]
        self.channel_id = api.answer(api.client.post(api.world.url("/channels"), json={
            "kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-0000", "events": ["veto"]},
            headers=api.world.headers()), 201)["id"]
        with app.app_context():
            spare = create_user("spare", "viewer")
            db.session.commit()
            self.spare_id = spare.id

    def unique(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def upload(self, seed: int) -> dict:
        return self.api.answer(self.api.client.post(self.api.world.url("/photos"), data=photo_support.photo(seed=seed),
                                                    headers={**self.api.world.headers("sup1"),
                                                             "Content-Type": "image/jpeg"}), 201)

    def __call__(self, method: str, path: str, role: str | None) -> tuple[str, dict, int, dict]:
        """(url, the body as test-client arguments, success status, headers) of `method path` for `role`."""
        api, months, closed = self.api, self.months, self.months.ago(2)
        route = path.removeprefix("/api/v1").replace("{cid}", str(api.world.cid))
        headers = api.world.headers(TOKEN_OF_ROLE.get(role))
        body = None
        match method, path.removeprefix("/api/v1"):
            case "POST", "/auth/token/revoke":  # logging out must not log the matrix out: a token of its own
                status, headers = 200, self.fresh_token(role)
            case "GET", "/users":
                status = 200
            case "POST", "/users":
                status, body = 201, {"username": self.unique("user"), "role": "viewer", "password": "long-enough"}
            case "POST", "/users/{user_id}/tokens/revoke":
                status, route = 200, f"/users/{self.spare_id}/tokens/revoke"
            case "PATCH", "/users/{user_id}":
                status, route, body = 200, f"/users/{self.spare_id}", {"display_name": self.unique("备用"),
                                                                       "sections": [], "reason": "更正"}
            case "POST", "/users/{user_id}/password":
                status, route, body = 200, f"/users/{self.spare_id}/password", {"password": self.unique("new-pass-")}
            case "POST", "/auth/password":  # someone of that role changes their own: a person of its own
                password = "password-old"
                status, headers = 200, self.person(role, password)
                body = {"current": password, "new": self.unique("password-new-")}
            case "PATCH", "/competitions/{cid}":
                status, body = 200, {"name": self.unique("市大外环五比五赛"), "reason": "更正错别字"}
            case "PATCH", "/competitions/{cid}/criteria/{code}":
                status, route, body = 200, route.replace("{code}", "safety"), {"name": self.unique("比平安稳定")}
            case "PATCH", "/competitions/{cid}/criteria/{code}/items/{item}":
                route = route.replace("{code}", "safety").replace("{item}", "S1")
                status, body = 200, {"name": self.unique("安全防护")}
            case "PATCH", "/competitions/{cid}/sections/{code}":
                route = route.replace("{code}", "LJ-03")
                status, body = 200, {"contractor": self.unique("中铁十局"), "end_km": 46}
            case "PATCH", "/competitions/{cid}/teams/{code}":
                status, route, body = 200, route.replace("{code}", "TJD-3"), {"leader": self.unique("王")}
            case "POST", "/competitions":
                status, body = 201, competition_body(name=self.unique("赛"))
            case "POST", "/competitions/{cid}/sections":
                code = self.unique("LJ-9")
                status, body = 201, {"code": code, "name": "九标段", "start_km": 90, "end_km": 99, "contractor": "c"}
            case "POST", "/competitions/{cid}/teams":
                status, body = 201, {"code": self.unique("TJD-9"), "name": "突击队", "leader": "张三",
                                     "section": "LJ-01"}
            case "POST", "/competitions/{cid}/entries":
                status, body = 201, api.entry()
            case "POST", "/competitions/{cid}/photos":  # a new photo each time (the same bytes again are a 200)
                headers = {**headers, "Content-Type": "image/jpeg"}
                return "/api/v1" + route, {"data": photo_support.photo(seed=int(self.unique("")))}, 201, headers
            case "GET", "/notices/{notice_id}":
                status, route = 200, route.replace("{notice_id}", str(self.notice_id))
            case "POST", "/notices/{notice_id}/responses":  # a notice of its own, still open
                status, body = 201, {"note": "已整改"}
                route = route.replace("{notice_id}", str(api.notice()["id"]))
            case "POST", "/notices/{notice_id}/review":  # a notice of its own, answered
                notice = api.notice()
                api.respond(notice["id"])
                status, body = 200, {"result": "pass", "note": "复查合格"}
                route = route.replace("{notice_id}", str(notice["id"]))
            case "GET", "/photos/{photo_id}":
                status, route = 200, route.replace("{photo_id}", self.photo_id)
            case "POST", "/entries/{entry_id}/void":
                entry = api.post(who="sup1")  # the supervisor's own, in an open month
                status, route, body = 200, f"/entries/{entry['id']}/void", {"reason": "录入错误"}
            case "POST", "/entries/{entry_id}/correct":
                entry = api.post(who="sup1")  # the supervisor's own, in an open month
                status, route = 201, f"/entries/{entry['id']}/correct"
                body = {"reason": "分值录错", "entry": api.entry(points=0.5)}
            case "POST", "/competitions/{cid}/reports/{period}/approve":
                status, route = 200, self.awaiting_approval()
            case "POST", "/competitions/{cid}/vetoes":
                status, body = 201, {"section": "LJ-03", "period": months.this, "reason": "发生安全事故"}
            case "POST", "/competitions/{cid}/vetoes/{veto_id}/revoke":
                status, body = 200, {"reason": "复核撤销"}
                route = route.replace("{veto_id}", str(self.veto_id))
            case "POST", "/competitions/{cid}/periods/{key}/close":
                status, route = 200, route.replace("{key}", str(months.last))
            case "POST", "/competitions/{cid}/periods/{key}/reopen":
                api.close(closed)
                status, route, body = 200, route.replace("{key}", str(closed)), {"reason": "补录迟到数据"}
            case "POST", "/competitions/{cid}/recipients":
                status, body = 201, {"email": f"{self.unique('r')}@example.org", "name": "乙"}
            case "DELETE", "/competitions/{cid}/recipients/{rid}":
                status, route = 204, route.replace("{rid}", str(self.recipient_id))
            case "POST", "/competitions/{cid}/channels":
                status, body = 201, {"kind": "feishu", "events": ["month_closed"],
                                     "url": f"https://open.feishu.cn/open-apis/bot/v2/hook/{self.unique('hook-')}"}
            case "DELETE", "/competitions/{cid}/channels/{channel_id}":  # a channel of its own for each role
                status, route = 204, route.replace("{channel_id}", str(api.answer(api.client.post(
                    api.world.url("/channels"), json={"kind": "wecom", "events": ["veto"], "url":
                    f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={self.unique('k-')}"},
                    headers=api.world.headers()), 201)["id"]))
            case "GET", "/competitions/{cid}/channels/{channel_id}/deliveries":
                status, route = 200, route.replace("{channel_id}", str(self.channel_id))
            case "POST", "/competitions/{cid}/reports/{period}/send":
                status, route = 202, route.replace("{period}", str(closed))
            case "GET", _ if "{period}" in path:
                status, route = 200, route.replace("{period}", str(closed))
            case "GET", _ if "{" not in route:
                status = 200
            case _:
                raise AssertionError(f"no valid request written for {method} {path}: add one to ValidRequests")
        return "/api/v1" + route, {"json": body}, status, headers

    def awaiting_approval(self) -> str:
        """The route of a closed month's report that waits for approval: in a competition of its own that asks
        for one (so the world's own mail runs as before)."""
        api, admin, last = self.api, self.api.world.headers(), self.months.last
        made = api.answer(api.client.post("/api/v1/competitions", headers=admin, json=competition_body(
            name=self.unique("审批赛"), report_approval=True)), 201)
        base = f"/api/v1/competitions/{made['id']}"
        api.answer(api.client.post(f"{base}/sections", headers=admin, json={
            "code": "LJ-01", "name": "一标段", "start_km": 0, "end_km": 20, "contractor": "c"}), 201)
        entry = {k: v for k, v in api.entry(last).items() if k not in ("team", "chainage")}
        api.answer(api.client.post(f"{base}/entries", headers=admin, json=entry), 201)
        api.answer(api.client.post(f"{base}/periods/{last}/close", headers=admin), 200)
        return f"/competitions/{made['id']}/reports/{last}/approve"

    def person(self, role: str | None, password: str) -> dict:
        """The Authorization header of a new user of `role` with `password`; none for None."""
        from scoring.auth.operations import create_user, issue_token

        if role is None:
            return {}
        with self.app.app_context():
            user = create_user(self.unique(f"{role}-"), role, password, self.api.world.cid)
            token, _ = issue_token(user)
            db.session.commit()
        return bearer(token)

    def fresh_token(self, role: str | None) -> dict:
        from scoring.auth.models import User
        from scoring.auth.operations import issue_token

        if role is None:
            return {}
        with self.app.app_context():
            user = db.session.scalar(select(User).where(User.username == TOKEN_OF_ROLE[role]))
            token, _ = issue_token(user)
            db.session.commit()
        return bearer(token)


def operations(client):
    spec = client.get("/api/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, set(operation["responses"])


def test_role_endpoint_matrix(app, client, api, months):
    """Every operation of the OpenAPI document × every role, each sending a valid request: 401 without a token,
    403 for a role the contract does not allow, and for an allowed role the documented success."""
    valid = ValidRequests(app, api, months)
    seen = []
    for method, path, documented in operations(client):
        if path == "/api/v1/auth/token":
            continue  # the login itself: no token needed (test_auth.py)
        allowed = allowed_roles(method, path)
        for role in ROLES:
            url, body, success, headers = valid(method, path, role)
            assert str(success) in documented, (method, path, success, documented)
            r = client.open(url, method=method, headers=headers, **body)
            if role is None:
                expected = "401"
                ok = r.status_code == 401 and "Bearer" in r.headers.get("WWW-Authenticate", "")
            elif role in allowed:
                expected = str(success)
                ok = r.status_code == success
            else:
                expected = "403"
                ok = r.status_code == 403
            if r.status_code >= 400:
                assert r.mimetype == "application/problem+json", (method, url, role, r.status_code)
            seen.append((method, path, role))
            answer = r.get_data()[:300].decode("utf-8", "replace")  # exports are binary
            assert ok, f"{method} {url} as {role}: {r.status_code}, expected {expected}: {answer}"
    assert len(seen) >= 5 * 30  # the whole document was walked


def test_display_reads_only_the_boards_of_its_own_competition(client, world, api, months):
    other = client.post("/api/v1/competitions", json=competition_body(name="另一赛"), headers=world.headers())
    base = f"/api/v1/competitions/{other.get_json()['id']}"
    wall = world.headers("wall")
    for path in ("/leaderboard", f"/leaderboard?board=teams&period={months.year}", "/leaderboard/history"):
        assert client.get(world.url(path), headers=wall).status_code == 200, path
    api.problem(client.get(f"{base}/leaderboard", headers=wall), 403)
    api.problem(client.get(f"{base}/leaderboard/history", headers=wall), 403)
    assert client.get(f"{base}/leaderboard", headers=world.headers("viewer")).status_code == 200
    for path in ("", "/entries", "/vetoes", "/sections", "/teams", "/periods", "/audit"):
        api.problem(client.get(world.url(path), headers=wall), 403)
    api.problem(client.get("/api/v1/users", headers=wall), 403)


def test_viewer_reads_everything_but_the_audit_and_changes_nothing(client, world, api, months):
    viewer = world.headers("viewer")
    for path in ("", "/entries", "/vetoes", "/sections", "/teams", "/periods", "/leaderboard"):
        assert client.get(world.url(path), headers=viewer).status_code == 200, path
    before = api.stored()
    api.problem(client.get(world.url("/audit"), headers=viewer), 403)
    for path, body in (("/entries", api.entry()),
                       ("/vetoes", {"section": "LJ-01", "period": months.this, "reason": "x"}),
                       (f"/periods/{months.last}/close", None)):
        api.problem(client.post(world.url(path), json=body, headers=viewer), 403)
    assert api.stored() == before


def test_a_supervisor_touches_only_assigned_sections(app, client, world, api, months):
    entry = api.entry
    sup1, sup2 = world.headers("sup1"), world.headers("sup2")
    r = client.post(world.url("/entries"), json=entry(section="LJ-02"), headers=sup1)
    assert r.status_code == 403 and "LJ-02" in r.get_json()["errors"]["section"][0]
    assert client.post(world.url("/entries"), json=entry(section="LJ-03", team="TJD-3"), headers=sup2).status_code \
        == 201
    batch = client.post(world.url("/entries"), json={"entries": [entry(), entry(section="LJ-03")]}, headers=sup1)
    assert [x["status"] for x in batch.get_json()["results"]] == ["created", "invalid"]
    assert "section" in batch.get_json()["results"][1]["errors"]

    theirs = client.post(world.url("/entries"), json=entry(section="LJ-02"), headers=sup2).get_json()
    mine = client.post(world.url("/entries"), json=entry(observed_at=months.at(months.last, 5, 9)),
                       headers=sup1).get_json()
    assert client.post(f"/api/v1/entries/{theirs['id']}/void", json={"reason": "x"}, headers=sup1).status_code \
        == 403
    api.close(months.last)
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


def test_cors_is_closed_unless_the_origin_is_listed(database_url, client, world, api):
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
    assert {"POST", "PATCH"} <= set(preflight.headers["Access-Control-Allow-Methods"].replace(" ", "").split(","))
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Origin" in preflight.headers.get("Vary", "")
    r = c.post(world.url("/entries"), json=api.entry(), headers={"Origin": tablets, **world.headers("sup1")})
    assert r.status_code == 201 and r.headers["Access-Control-Allow-Origin"] == tablets
    assert "Access-Control-Allow-Credentials" not in r.headers  # bearer tokens, never cookies
    other = c.get("/api/v1/competitions", headers={"Origin": "https://evil.example", **world.headers()})
    assert "Access-Control-Allow-Origin" not in other.headers
    with opened.app_context():
        db.engine.dispose()


def test_a_contractor_reads_only_its_sections_and_posts_nothing(client, world, api, months):
    """CONTRACT.md §2: the builder's manager reads its sections' entries, the boards and its section's report;
    it posts no entries and sees no other section's."""
    con = world.headers("con1")
    mine, theirs = api.post(section="LJ-01"), api.post(section="LJ-02")
    listed = api.answer(client.get(world.url("/entries"), headers=con))
    assert [e["id"] for e in listed] == [mine["id"]]
    assert [e["id"] for e in api.answer(client.get(world.url("/entries?section=LJ-01"), headers=con))] == [mine["id"]]
    api.problem(client.get(world.url("/entries?section=LJ-02"), headers=con), 403)
    assert theirs["id"] not in {e["id"] for e in api.answer(client.get(world.url("/entries"), headers=con))}
    before = api.stored()
    api.problem(client.post(world.url("/entries"), json=api.entry(), headers=con), 403)
    api.problem(client.post(f"/api/v1/entries/{mine['id']}/void", json={"reason": "x"}, headers=con), 403)
    assert api.stored() == before
    assert api.rows(who="con1")["LJ-01"]["assessed"]  # the boards: every section, as everyone sees them
    report = client.get(world.url(f"/reports/{months.this}?scope=LJ-01&format=text"), headers=con)
    assert report.status_code == 200 and "LJ-01" in report.get_data(as_text=True)
    api.problem(client.get(world.url(f"/reports/{months.this}?scope=LJ-02&format=text"), headers=con), 403)
    api.problem(client.get(world.url(f"/reports/{months.this}?format=text"), headers=con), 403)
    api.problem(client.get(world.url("/audit"), headers=con), 403)
