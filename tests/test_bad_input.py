"""Bad input (CONTRACT.md §2): a clear 4xx in the problem+json shape, never a 500, and nothing stored changes.

Limits stated here: bodies up to MAX_BODY_BYTES (2 MiB by default) else 413; a note up to 4,000 characters;
points 0-100 with at most 2 decimals; observed_at between the years 2000 and 2100, at most 24 h ahead of
the server clock, with its UTC offset; text without NUL characters (PostgreSQL cannot store them).
"""
from __future__ import annotations

import json

import pytest
from conftest import competition_body
from sqlalchemy import update

from scoring import create_app
from scoring.extensions import db

JSON = {"Content-Type": "application/json"}
SQL = "'); DROP TABLE entries; -- \" OR 1=1 --"
HTML = "<script>alert('x')</script><img src=x onerror=alert(1)>&amp;"


def stored_counts(app) -> tuple:
    from scoring.audit.models import AuditEvent
    from scoring.entries.models import Entry
    from scoring.standings.models import SubjectTally

    with app.app_context():
        return tuple(db.session.query(m).count() for m in (Entry, AuditEvent, SubjectTally))


def post_raw(client, world, data: bytes, who: str = "sup1", path: str = "/entries"):
    return client.post(world.url(path), data=data, headers={**world.headers(who), **JSON})


# -- size and shape of the body --------------------------------------------------------------------

def test_oversized_body_is_413(app, client, world, api):
    before = stored_counts(app)
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 2 * 1024 * 1024  # MAX_BODY_BYTES unset: 2 MiB
    body = json.dumps(api.entry(note="x" * limit)).encode()
    api.problem(post_raw(client, world, body), 413)
    assert stored_counts(app) == before


def test_max_body_bytes_setting_is_honoured(database_url, world, api):
    import config

    assert config.load({"MAX_BODY_BYTES": "4096"})["MAX_CONTENT_LENGTH"] == 4096
    small = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "MAX_CONTENT_LENGTH": 4096})
    client = small.test_client()
    batch = json.dumps({"entries": [api.entry() for _ in range(30)]}).encode()
    assert len(batch) > 4096
    api.problem(post_raw(client, world, batch), 413)
    assert post_raw(client, world, json.dumps(api.entry()).encode()).status_code == 201


# (Each test builds one small world, a few password hashes, so cases run in loops, not as parameters.)

def test_deeply_nested_json_is_400(app, client, world, api):
    before = stored_counts(app)
    for body in (b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000,
                 b'{"entries": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
                 b'{"note": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
                 b'{"note": "\\u0000", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"):
        api.problem(post_raw(client, world, body), 400)
    assert stored_counts(app) == before


def test_invalid_utf8_is_400(app, client, world, api):
    before = stored_counts(app)
    valid = json.dumps(api.entry(note="PLACEHOLDER")).encode()
    for body in (valid.replace(b"PLACEHOLDER", b"\xc3\x28"),  # a broken two-byte sequence
                 valid.replace(b"PLACEHOLDER", b"\xed\xa0\x80"),  # an encoded lone surrogate
                 valid.replace(b"PLACEHOLDER", b"caf\xe9"),  # Latin-1, not UTF-8
                 "\ufeff".encode("utf-16-le") + valid.decode().encode("utf-16-le")):
        api.problem(post_raw(client, world, body), 400)
        api.problem(post_raw(client, world, body.replace(b"PLACEHOLDER", b"x"), who="admin", path="/vetoes"),
                       400)
    assert stored_counts(app) == before


def test_escaped_lone_surrogates_are_422(app, client, world, api, months):
    """Valid JSON syntax, but no database stores half a surrogate pair; a whole pair (an emoji) is fine."""
    before = stored_counts(app)
    valid = json.dumps(api.entry(note="PLACEHOLDER"))
    for escape in ("\\ud800", "\\udfff", "x\\ud83dy"):
        api.problem(post_raw(client, world, valid.replace("PLACEHOLDER", escape).encode()), 422)
        body = '{"section": "LJ-01", "period": "' + months.this + '", "reason": "' + escape + '"}'
        api.problem(post_raw(client, world, body.encode(), who="admin", path="/vetoes"), 422)
    assert stored_counts(app) == before
    r = post_raw(client, world, valid.replace("PLACEHOLDER", "\\ud83d\\udea7").encode())
    assert r.status_code == 201 and r.get_json()["note"] == "\U0001f6a7"


def test_malformed_json_is_400(client, world, api):
    for body in (b"", b"{", b"{'single': 'quotes'}", b"nul", b'{"a": 1} trailing', b"\x00", b'{"note": "a\x00b"}'):
        api.problem(post_raw(client, world, body), 400)
        if body:  # on the other endpoints an empty body is a body with every field missing: 422
            api.problem(post_raw(client, world, body, who="admin", path="/vetoes"), 400)


def test_a_huge_batch_is_422_and_stores_nothing(app, client, world, api):
    before = stored_counts(app)
    body = json.dumps({"entries": [api.entry() for _ in range(501)]}).encode()
    problem = api.problem(post_raw(client, world, body), 422)
    assert "entries" in problem["errors"]
    assert stored_counts(app) == before


def test_batch_items_that_are_not_objects_do_not_block_the_others(app, client, world, api):
    good = api.entry()
    r = client.post(world.url("/entries"), json={"entries": [good, 5, None, "x", [], {"x": [[[]]]}]},
                    headers=world.headers("sup1"))
    assert r.status_code == 200
    statuses = [result["status"] for result in r.get_json()["results"]]
    assert statuses == ["created", "invalid", "invalid", "invalid", "invalid", "invalid"]


# -- absurd values -----------------------------------------------------------------------------------

def test_absurd_points_are_422(app, client, world, api):
    before = stored_counts(app)
    for points in ("1e400", "-1e400", "1e-400", '"NaN"', "NaN", "Infinity", "-Infinity", "-1", "100.01",
                   "123456789012345678901234567890", "0.001", '"1.5"', "true", "null", "[]", "{}"):
        body = json.dumps(api.entry(points=7)).replace('"points": 7', f'"points": {points}').encode()
        problem = api.problem(post_raw(client, world, body), 422)
        assert "points" in problem["errors"], points
    # More digits than Python reads as an int (4,300): the body does not parse, 400.
    body = json.dumps(api.entry(points=7)).replace('"points": 7', '"points": 1' + "0" * 5000).encode()
    api.problem(post_raw(client, world, body), 400)
    assert stored_counts(app) == before


def test_negative_zero_is_plain_zero(client, world, api):
    """JSON has a single zero: -0 is stored as 0 (an inspection with nothing found), never as -0."""
    for points in ("-0", "-0.0", "0.00", "-0e10"):
        body = json.dumps(api.entry(points=7)).replace('"points": 7', f'"points": {points}').encode()
        r = post_raw(client, world, body)
        assert r.status_code == 201
        assert r.get_data(as_text=True).count('"points":0.0') == 1
    board = api.board()
    assert board["rows"][0]["total"] == 100


def test_absurd_locations_chainages_ids_and_queries(app, client, world, api):
    before = stored_counts(app)
    for location in ({"lat": 1e308 * 10, "lon": 0}, {"lat": 91, "lon": 0}, {"lat": 0, "lon": -181},
                     {"lat": "north", "lon": 0}, {"lat": 0}, {"lat": 0, "lon": 0, "alt": 3}):
        body = json.dumps(api.entry(location=location)).replace("Infinity", "1e400").encode()
        assert "location" in api.problem(post_raw(client, world, body), 422)["errors"]
    for km in ("1e400", "-5", "NaN", "99999999999999999999", '"ten"'):
        body = f'{{"code": "LJ-09", "name": "九标段", "start_km": 0, "end_km": {km}, "contractor": "c"}}'.encode()
        api.problem(post_raw(client, world, body, who="admin", path="/sections"), 422)
    for path in ("/api/v1/competitions/99999999999999999999999", "/api/v1/competitions/2147483648/leaderboard",
                 "/api/v1/competitions/-1", "/api/v1/competitions/1e3"):
        api.problem(client.get(path, headers=world.headers()), 404)
    api.problem(client.post("/api/v1/entries/9223372036854775808/void", json={"reason": "x"},
                               headers=world.headers()), 404)
    for query in ("page=0", "page=99999999999999999999", "per_page=501", "per_page=-1", "per_page=1e3",
                  "period=2025-13", "status=deleted", "criterion=luck"):
        api.problem(client.get(world.url(f"/entries?{query}"), headers=world.headers()), 422)
    r = client.post("/api/v1/users", json={"username": "x1", "role": "viewer", "competition": 10**30},
                    headers=world.headers())
    assert "competition" in api.problem(r, 422)["errors"]
    assert stored_counts(app) == before


# -- text ----------------------------------------------------------------------------------------------

def test_a_10000_character_note_is_422_and_4000_is_fine(app, client, world, api):
    before = stored_counts(app)
    problem = api.problem(client.post(world.url("/entries"), json=api.entry(note="噪" * 10_000),
                                         headers=world.headers("sup1")), 422)
    assert "4000" in problem["errors"]["note"][0]
    assert stored_counts(app) == before
    ok = client.post(world.url("/entries"), json=api.entry(note="噪" * 4000), headers=world.headers("sup1"))
    assert ok.status_code == 201 and ok.get_json()["note"] == "噪" * 4000


def test_nul_characters_are_422_on_every_database(app, client, world, api):
    before = stored_counts(app)
    for note in ("a\x00b", "\x00"):
        api.problem(client.post(world.url("/entries"), json=api.entry(note=note), headers=world.headers("sup1")),
                       422)
    api.problem(client.post("/api/v1/auth/token", json={"username": "admin\x00", "password": "x"}), 422)
    api.problem(client.get(world.url("/entries?section=a%00b"), headers=world.headers()), 422)
    assert stored_counts(app) == before
    # A backslash followed by "u0000" as text is not a NUL: it is stored as written.
    r = client.post(world.url("/entries"), json=api.entry(note="C:\\u0000\\path"), headers=world.headers("sup1"))
    assert r.status_code == 201 and r.get_json()["note"] == "C:\\u0000\\path"


def test_timestamps_far_away_or_malformed_are_422(app, client, world, api, months):
    before = stored_counts(app)
    for observed_at in ("1900-01-01T00:00:00+08:00", "1999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00",
                        "9999-12-31T23:59:59+14:00", "2101-01-01T00:00:00+08:00", months.observed_at(months.next),
                        "2025-11-02T10:15:00", "2025-13-45T99:00:00+08:00", "yesterday", "1700000000",
                        "2025-11-02T10:15:00+25:00", 1700000000):
        problem = api.problem(client.post(world.url("/entries"), json=api.entry(observed_at=observed_at),
                                             headers=world.headers("sup1")), 422)
        assert "observed_at" in problem["errors"], observed_at
    r = client.get(world.url("/audit?since=0001-01-01T00:00:00%2B14:00"), headers=world.headers())
    assert "since" in api.problem(r, 422)["errors"]
    assert stored_counts(app) == before


def test_sql_and_html_in_every_text_field_are_stored_verbatim(client, world, api):
    for n, evil in enumerate([SQL, HTML, "Robert'); DELETE FROM users;--", "${7*7}{{7*7}}", "\u202egnp.exe"]):
        check_stored_verbatim(client, world, api, evil, f"LJ-7{n}", f"TJD-7{n}")
    # The tables are all still there and whole.
    assert len(client.get("/api/v1/users", headers=world.headers()).get_json()) == len(world.tokens)


def check_stored_verbatim(client, world, api, evil: str, section_code: str, team_code: str) -> None:
    admin = {"headers": world.headers(), "environ_base": {"HTTP_USER_AGENT": evil}}
    competition = client.post("/api/v1/competitions", json=competition_body(name=evil, organizer=evil), **admin)
    assert competition.status_code == 201, competition.get_json()
    cid = competition.get_json()["id"]
    assert client.get(f"/api/v1/competitions/{cid}", headers=world.headers()).get_json()["name"] == evil

    section = client.post(world.url("/sections"), json={"code": section_code, "name": evil, "start_km": 1,
                                                        "end_km": 2, "contractor": evil}, **admin)
    assert section.status_code == 201
    team = client.post(world.url("/teams"), json={"code": team_code, "name": evil, "leader": evil,
                                                  "section": section_code}, **admin)
    assert team.status_code == 201
    posted = client.post(world.url("/entries"), json=api.entry(section=section_code, team=team_code, note=evil),
                         **admin)
    assert posted.status_code == 201 and posted.get_json()["note"] == evil
    void = client.post(f"/api/v1/entries/{posted.get_json()['id']}/void", json={"reason": evil}, **admin)
    assert void.get_json()["void_reason"] == evil
    veto = client.post(world.url("/vetoes"), json={"section": section_code, "period": api.months.this, "reason": evil},
                       **admin)
    assert veto.get_json()["reason"] == evil
    # One address receives a competition's reports once: each round its own.
    recipient = client.post(world.url("/recipients"), json={"email": f"ops-{section_code.lower()}@example.org",
                                                             "name": evil}, **admin)
    assert recipient.status_code == 201 and recipient.get_json()["name"] == evil

    sections = client.get(world.url("/sections"), headers=world.headers()).get_json()
    assert [s for s in sections if s["code"] == section_code][0]["contractor"] == evil
    teams = client.get(world.url("/teams"), headers=world.headers()).get_json()
    assert [t for t in teams if t["code"] == team_code][0]["leader"] == evil
    listed = client.get(world.url(f"/entries?section={section_code}"), headers=world.headers()).get_json()
    assert [e["note"] for e in listed] == [evil]
    board = api.board(kind="teams", who="admin")
    assert evil in [row["name"] for row in board["rows"]]
    audit = client.get(world.url("/audit?per_page=500"), headers=world.headers()).get_json()
    assert evil in {event["user_agent"] for event in audit}
    assert evil in {event["reason"] for event in audit}


def test_sql_in_code_fields_is_422_and_finds_nothing(app, client, world, api):
    before = stored_counts(app)
    for field, value in (("section", "LJ-01' OR '1'='1"), ("team", "TJD-1; DROP TABLE teams"), ("item", "S1' --"),
                         ("criterion", "safety' OR 1=1"), ("client_id", "x'); DROP TABLE entries;--"),
                         ("kind", "<b>bonus</b>")):
        problem = api.problem(client.post(world.url("/entries"), json=api.entry(**{field: value}),
                                             headers=world.headers("sup1")), 422)
        assert field in problem["errors"]
    assert stored_counts(app) == before
    listed = client.get(world.url("/entries"), query_string={"section": "LJ-01' OR '1'='1"}, headers=world.headers())
    assert listed.status_code == 200 and listed.get_json() == []


@pytest.mark.browser
def test_wall_page_shows_html_from_the_data_as_text(client, world, api, live_server, page):
    """Names come from admins' input; the wall (a real browser) shows them as text, never as markup."""
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    assert client.post(world.url("/teams"), json={"code": "TJD-9", "name": HTML, "leader": HTML, "section": "LJ-01"},
                       headers=world.headers()).status_code == 201
    api.post(team="TJD-9", who="sup1")
    served = page.goto(f"{live_server.url}/wall/{world.cid}?token={world.tokens['wall']}")
    assert served.status == 200
    assert "<script>alert('x')</script>" not in served.text() and "<img src=x" not in served.text()
    name = page.locator("#board-teams .row[data-code='TJD-9'] .name .text")
    name.wait_for(timeout=15_000)
    assert name.inner_text() == HTML  # the text as typed, entities and all
    assert page.locator("#board-teams img, #board-sections img, #board-teams script").count() == 0
    assert dialogs == [] and page.console_errors == []


def test_control_characters_in_names_do_not_break_the_xlsx_exports(app, client, world, api, months):
    """Found by schemathesis: a \\x0b in a team name made every XLSX export a 500. Names are one line
    now (422); rows stored before that still export."""
    team = {"code": "TJD-8", "name": "八\x0b队", "leader": "x\x01", "section": "LJ-01"}
    assert client.post(world.url("/teams"), json=team, headers=world.headers()).status_code == 422
    assert client.post(world.url("/teams"), json={**team, "name": "八队", "leader": "x"},
                       headers=world.headers()).status_code == 201
    posted = api.post(team="TJD-8", who="sup1")
    with app.app_context():
        from scoring.competitions.models import Team
        from scoring.competitions.operations import bump_revision
        from scoring.entries.models import Entry

        db.session.execute(update(Team).where(Team.code == "TJD-8").values(name="八\x0b队", leader="x\x01"))
        db.session.execute(update(Entry).where(Entry.id == posted["id"]).values(note="a\x1fb"))
        bump_revision(world.cid)
        db.session.commit()
    for path in (f"/exports/standings.xlsx?period={months.this}&board=teams",
                 f"/exports/entries.xlsx?period={months.this}", f"/reports/{months.this}?format=xlsx"):
        r = client.get(world.url(path), headers=world.headers())
        assert r.status_code == 200 and r.data[:2] == b"PK", path  # a zip: the workbook
