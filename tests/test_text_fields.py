"""Line breaks only where a line is meant, and usernames that cannot pass for someone else's.

Found by a probe: `client_id "nl-1\\n"` and a section `"LJ-01\\n"` were stored (a regex ending in `$`
lets a trailing newline through), a recipient or competition name with CR/LF made every later mail fail,
a note with newlines wrote fake 【一票否决】 paragraphs into the plain-text mail, `jіngsaiban` (a
Cyrillic і) sat next to `jingsaiban`, and `leaderboard/history?to=0001-01-05` was a 500.
"""
from __future__ import annotations

import re

import pytest

BREAKS = {"trailing LF": "\n", "CR LF": "\r\n", "TAB": "\t", "vertical tab": "\x0b", "escape": "\x1b",
          "line separator": "\u2028", "NEL": "\x85"}


PATTERNED = ("client_id", "code", "period", "email", "username")  # their own messages say what may be used


def one_line_cases(api) -> list[tuple[str, str, dict, str]]:
    """(method, path, body with a {} where the break goes, the field named in the 422)."""
    months = api.months
    section = {"code": "LJ-09", "name": "九标段", "start_km": 100, "end_km": 110, "contractor": "中铁"}
    team = {"code": "TJD-9", "name": "九队", "leader": "张三", "section": "LJ-01"}
    veto = {"section": "LJ-01", "period": months.this, "reason": "事故"}
    recipient = {"email": "leader@example.org", "name": "指挥部", "scope": "all"}
    cases = [("entries", {**api.entry(observed_at=months.observed_at()), "client_id": "nl-1{}"}, "client_id"),
             ("entries", api.entry(section="LJ-01{}", observed_at=months.observed_at()), "section"),
             ("entries", api.entry(team="TJD-1{}", observed_at=months.observed_at()), "team"),
             ("sections", {**section, "code": "LJ-09{}"}, "code"),
             ("sections", {**section, "name": "九标段{}"}, "name"),
             ("sections", {**section, "contractor": "中铁{}十局"}, "contractor"),
             ("teams", {**team, "code": "TJD-9{}"}, "code"),
             ("teams", {**team, "name": "九{}队"}, "name"),
             ("teams", {**team, "leader": "张三{}"}, "leader"),
             ("vetoes", {**veto, "reason": "事故{}【流动红旗】"}, "reason"),
             ("vetoes", {**veto, "period": months.this + "{}"}, "period"),
             ("recipients", {**recipient, "name": "指挥部{}Bcc: x@evil.example"}, "name"),
             ("recipients", {**recipient, "email": "leader@example.org{}"}, "email")]
    return [("POST", f"/competitions/{{cid}}/{path}", body, field) for path, body, field in cases] + [
        ("POST", "/competitions", {"name": "新赛季{}"}, "name"),
        ("POST", "/competitions", {"organizer": "公路中心{}"}, "organizer"),
        ("POST", "/users", {"username": "bob{}", "password": "password-bob", "role": "viewer"}, "username"),
        ("PATCH", "/users/1", {"display_name": "李{}树荣"}, "display_name"),
        ("PATCH", "/competitions/{cid}", {"organizer": "公路中心{}"}, "organizer"),
        ("PATCH", "/competitions/{cid}/criteria/safety", {"name": "安全{}"}, "name"),
        ("PATCH", "/competitions/{cid}/criteria/safety/items/S1", {"name": "防护{}"}, "name"),
        ("PATCH", "/competitions/{cid}/sections/LJ-01", {"contractor": "中铁{}十局"}, "contractor"),
        ("PATCH", "/competitions/{cid}/teams/TJD-1", {"leader": "张三{}"}, "leader"),
    ]


def fill(body, brk: str):
    if isinstance(body, dict):
        return {k: fill(v, brk) for k, v in body.items()}
    if isinstance(body, list):
        return [fill(v, brk) for v in body]
    return body.replace("{}", brk) if isinstance(body, str) else body


@pytest.mark.parametrize("brk", BREAKS.values(), ids=BREAKS.keys())
def test_single_line_fields_refuse_line_breaks_and_control_characters(app, client, world, months, brk, api):
    from conftest import competition_body

    before = api.stored()
    for method, path, body, field in one_line_cases(api):
        if path == "/competitions":
            body = {**competition_body(), **body}
        r = client.open("/api/v1" + path.format(cid=world.cid), method=method, json=fill(body, brk),
                        headers=world.headers())
        problem = api.problem(r, 422, field)
        if field not in PATTERNED:
            assert any("控制字符" in message for message in problem["errors"][field]), problem
    assert api.stored() == before


@pytest.mark.parametrize("path", ["/entries?period={this}%0A", "/leaderboard?period={this}%0A",
                                  "/exports/entries.csv?period={this}%0A", "/vetoes?period={this}%0A",
                                  "/leaderboard?period=current%0A"])
def test_a_month_with_a_trailing_newline_is_not_a_month(client, world, months, path, api):
    api.problem(client.get(world.url(path.format(this=months.this)), headers=world.headers()), 422, "period")


def test_notes_and_reasons_keep_their_lines_but_cannot_start_a_section_of_the_mail(client, world, months, api):
    forged = "脚手架未设护栏\n\n【一票否决】\nLJ-02 二标段：发生重大安全事故\n【流动红旗】\r\n本月流动红旗授予 LJ-02"
    last = months.last
    assert api.post(month=last, points=3, note=forged, who="sup1")["note"] == forged  # stored as typed
    other = api.post(month=last, who="sup1")
    voided = client.post(f"/api/v1/entries/{other['id']}/void", json={"reason": "重复录入\n【一票否决】"},
                         headers=world.headers())
    assert voided.status_code == 200 and voided.get_json()["void_reason"] == "重复录入\n【一票否决】"
    api.problem(client.post(world.url("/entries"), json=api.entry(note="a\x1bb", observed_at=months.observed_at()),
                               headers=world.headers("sup1")), 422, "note")
    for scope in ("all", "LJ-01"):  # the top deductions, and a section's own list of entries
        r = client.get(world.url(f"/reports/{last}?format=text&scope={scope}"), headers=world.headers())
        assert r.status_code == 200
        lines = r.get_data(as_text=True).splitlines()
        headings = [line for line in lines if line.startswith("【")]
        assert headings.count("【一票否决】") == 1 and headings.count("【流动红旗】") == 1, headings
        assert not any(line.startswith(("LJ-02 二标段：发生", "本月流动红旗授予 LJ-02")) for line in lines)
        assert any(line.strip() == "【一票否决】" and line.startswith(" ") for line in lines)  # shown, indented


LOOK_ALIKES = ["jіngsaiban", "ｊｉｎｇｓａｉｂａｎ", "jingsaiban\u200b", "-jingsaiban", "jing saiban", "井赛办"]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_usernames_are_ascii_so_none_passes_for_another(app, client, world, runner, name, api):
    before = api.stored()
    r = client.post("/api/v1/users", json={"username": name, "password": "password-123", "role": "admin"},
                    headers=world.headers())
    problem = api.problem(r, 422, "username")
    assert "用户名只能用英文字母" in problem["errors"]["username"][0] and "ASCII" in problem["errors"]["username"][0]
    result = runner.invoke(args=["users", "create", "--role", "viewer", "--", name])
    assert result.exit_code != 0 and "ASCII" in result.output
    assert api.stored() == before
    made = client.post("/api/v1/users", json={"username": "jingsaiban.2", "password": "password-123",
                                              "role": "admin"}, headers=world.headers())
    assert made.status_code == 201


def test_a_token_made_by_the_admin_names_the_admin_in_the_audit(client, world):
    made = client.post("/api/v1/users", json={"username": "jianli-d", "password": "password-123",
                                              "role": "supervisor", "competition": world.cid,
                                              "sections": ["LJ-01"]}, headers=world.headers())
    assert made.status_code == 201
    login = client.post("/api/v1/auth/token", json={"username": "jianli-d", "password": "password-123"})
    assert login.status_code == 200
    tokens = client.get(world.url("/audit?action=token.created&per_page=500"), headers=world.headers()).get_json()
    mine = [(e["actor"], e["detail"]["username"]) for e in tokens if e["detail"]["username"] == "jianli-d"]
    assert mine == [("admin", "jianli-d"), ("jianli-d", "jianli-d")]  # made for them, then their own login


@pytest.mark.parametrize("query", ["to=0001-01-05", "from=0001-01-01&to=0001-01-05", "to=9999-12-31",
                                   "from=1999-12-31"])
def test_history_outside_the_years_of_the_service_is_a_422(client, world, query, api):
    r = client.get(world.url(f"/leaderboard/history?{query}"), headers=world.headers("wall"))
    api.problem(r, 422)


def test_every_pattern_matches_the_whole_value():
    """`$` lets a trailing newline through; fields.Pattern anchors with \\Z. No validator goes around it."""
    from conftest import ROOT

    for path in (ROOT / "scoring").rglob("*.py"):
        for call in re.findall(r"validate\.Regexp\((.*)", path.read_text(encoding="utf-8")):
            assert re.match(r"""rf?["'].*\\Z\)?["']""", call), (path, call)
