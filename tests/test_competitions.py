"""Competitions, their five criteria and items, sections and teams (CONTRACT.md §3), and the HTTP
conventions every endpoint shares (§2): problem+json errors, pagination, the OpenAPI document."""
import copy

import pytest
from conftest import PROBLEM, competition_body

URL = "/api/v1/competitions"


def test_admin_creates_a_competition_and_everyone_reads_it(client, world):
    r = client.post(URL, json=competition_body(name="第二届五比五赛"), headers=world.headers("admin"))
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["name"] == "第二届五比五赛" and created["timezone"] == "Asia/Shanghai"
    assert [c["code"] for c in created["criteria"]] == ["quality", "safety", "schedule", "environment", "management"]
    assert created["criteria"][0]["items"] == [{"code": "Q1", "name": "实体质量", "max_points": 15},
                                               {"code": "Q2", "name": "工艺工法", "max_points": 10}]
    assert created["criteria"][0]["weight"] == 25 and created["criteria"][0]["bonus_cap"] == 3
    assert created["tie_break"] == ["safety", "quality", "schedule", "environment", "management"]
    assert "第二届五比五赛" in r.get_data(as_text=True)  # Chinese stays Chinese

    for who in ("admin", "sup1", "viewer"):
        detail = client.get(f"{URL}/{created['id']}", headers=world.headers(who))
        assert detail.status_code == 200 and detail.get_json() == created
        listed = client.get(URL, headers=world.headers(who))
        assert [c["name"] for c in listed.get_json()] == ["市大外环五比五赛", "第二届五比五赛"]
        assert listed.headers["X-Total-Count"] == "2"


def test_timezone_defaults_to_shanghai_and_tie_break_to_the_default_order(client, world):
    body = competition_body()
    del body["timezone"], body["tie_break"]
    created = client.post(URL, json=body, headers=world.headers()).get_json()
    assert created["timezone"] == "Asia/Shanghai"
    assert sorted(created["tie_break"]) == sorted(["quality", "safety", "schedule", "environment", "management"])


def _criteria(mutate):
    body = competition_body()
    mutate(body["criteria"])
    return body


def _set(path, value):
    def mutate(criteria):
        target = criteria
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


INVALID_COMPETITIONS = {
    "four criteria": (_criteria(lambda c: c.pop()), "criteria", "five codes"),
    "six criteria": (_criteria(lambda c: c.append(copy.deepcopy(c[0]))), "criteria", "five codes"),
    "unknown criterion code": (_criteria(_set([4, "code"], "innovation")), "criteria", None),
    "criterion twice": (_criteria(_set([4, "code"], "quality")), "criteria", "five codes"),
    "weights add to 105": (_criteria(lambda c: (_set([0, "weight"], 30)(c),
                                                _set([0, "items", 0, "max_points"], 20)(c))), "criteria", "not 100"),
    "item maxima do not match the weight": (_criteria(_set([1, "items", 1, "max_points"], 9)), "criteria", "weight"),
    "weight with 3 decimals": (_criteria(_set([2, "weight"], 20.001)), "criteria", "2 decimal"),
    "negative bonus cap": (_criteria(_set([2, "bonus_cap"], -1)), "criteria", None),
    "no items": (_criteria(_set([2, "items"], [])), "criteria", None),
    "item code twice": (_criteria(_set([1, "items", 0, "code"], "Q1")), "criteria", "unique"),
    "unknown field in an item": (_criteria(_set([0, "items", 0, "colour"], "red")), "criteria", None),
    "unknown field": (competition_body(sponsor="x"), "sponsor", None),
    "missing name": ({k: v for k, v in competition_body().items() if k != "name"}, "name", None),
    "unknown time zone": (competition_body(timezone="Asia/Beijing"), "timezone", None),
    "tie-break twice": (competition_body(tie_break=["safety", "safety"]), "tie_break", None),
    "tie-break unknown": (competition_body(tie_break=["speed"]), "tie_break", None),
    "criteria not a list": (competition_body(criteria="all five"), "criteria", None),
}


@pytest.mark.parametrize("case", INVALID_COMPETITIONS, ids=list(INVALID_COMPETITIONS))
def test_invalid_competition_is_a_422_naming_the_rule(client, world, case, api):
    body, field, words = INVALID_COMPETITIONS[case]
    r = client.post(URL, json=body, headers=world.headers())
    problem = api.problem(r, 422, field)
    if words:
        assert words in " ".join(str(m) for m in _flat(problem["errors"][field])), problem
    assert client.get(URL, headers=world.headers()).headers["X-Total-Count"] == "1"


def _flat(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _flat(value)
    elif isinstance(messages, list):
        for value in messages:
            yield from _flat(value)
    else:
        yield messages


@pytest.mark.parametrize("who,status", [("sup1", 403), ("viewer", 403), ("wall", 403), (None, 401), ("bad", 401)])
def test_only_admin_creates_competitions_sections_and_teams(client, world, who, status, api):
    headers = world.headers(who)
    section = {"code": "LJ-09", "name": "九标段", "start_km": 100, "end_km": 110, "contractor": "中铁"}
    team = {"code": "TJD-9", "name": "九标突击队", "leader": "张三", "section": "LJ-01"}
    for url, body in ((URL, competition_body()), (world.url("/sections"), section), (world.url("/teams"), team)):
        problem = api.problem(client.post(url, json=body, headers=headers), status)
        if status == 401:
            assert client.post(url, json=body, headers=headers).headers["WWW-Authenticate"].startswith("Bearer")
        else:
            assert "role" in problem["detail"]
    assert len(client.get(world.url("/sections"), headers=world.headers()).get_json()) == 3
    assert len(client.get(world.url("/teams"), headers=world.headers()).get_json()) == 3


@pytest.mark.parametrize("path", ["", "/1", "/1/sections", "/1/teams"])
def test_display_token_reads_no_competition_data(client, world, path, api):
    api.problem(client.get(URL + path.replace("/1", f"/{world.cid}"), headers=world.headers("wall")), 403)
    api.problem(client.get(URL + path.replace("/1", f"/{world.cid}")), 401)


def test_sections(client, world, api):
    body = {"code": "LJ-04", "name": "四标段", "start_km": 45.5, "end_km": 60.25, "contractor": "中铁十局"}
    r = client.post(world.url("/sections"), json=body, headers=world.headers())
    assert r.status_code == 201, r.get_json()
    assert r.get_json() | {"id": 0} == {**body, "id": 0, "chainage": "K45+500–K60+250"}
    listed = client.get(world.url("/sections"), headers=world.headers("sup1"))
    assert [s["code"] for s in listed.get_json()] == ["LJ-01", "LJ-02", "LJ-03", "LJ-04"]
    api.problem(client.post(world.url("/sections"), json=body, headers=world.headers()), 409)
    for bad, field in (({**body, "code": "LJ-05", "end_km": 40}, "end_km"),
                       ({**body, "code": "LJ 05"}, "code"),
                       ({**body, "code": "LJ-05", "start_km": -1}, "start_km"),
                       ({**body, "code": "LJ-05", "lanes": 4}, "lanes"),
                       ({k: v for k, v in body.items() if k != "contractor"} | {"code": "LJ-05"}, "contractor")):
        api.problem(client.post(world.url("/sections"), json=bad, headers=world.headers()), 422, field)
    assert client.get(world.url("/sections"), headers=world.headers()).headers["X-Total-Count"] == "4"


def test_teams(client, world, api):
    body = {"code": "TJD-4", "name": "四标党员突击队", "leader": "赵六", "section": "LJ-02"}
    r = client.post(world.url("/teams"), json=body, headers=world.headers())
    assert r.status_code == 201
    assert r.get_json() | {"id": 0} == {**body, "id": 0, "active": True}
    listed = client.get(world.url("/teams"), headers=world.headers("viewer")).get_json()
    assert [(t["code"], t["section"]) for t in listed] == [("TJD-1", "LJ-01"), ("TJD-2", "LJ-02"),
                                                          ("TJD-3", "LJ-03"), ("TJD-4", "LJ-02")]
    assert listed[0]["leader"] == "徐大军"
    api.problem(client.post(world.url("/teams"), json=body, headers=world.headers()), 409)
    api.problem(client.post(world.url("/teams"), json={**body, "code": "TJD-5", "section": "LJ-99"},
                               headers=world.headers()), 422, "section")
    api.problem(client.post(world.url("/teams"), json={**body, "code": "TJD-5", "size": 12},
                               headers=world.headers()), 422, "size")


def test_a_section_of_another_competition_is_unknown(client, world, api):
    other = client.post(URL, json=competition_body(name="另一赛"), headers=world.headers()).get_json()
    team = {"code": "TJD-1", "name": "x", "leader": "y", "section": "LJ-01"}
    api.problem(client.post(f"{URL}/{other['id']}/teams", json=team, headers=world.headers()), 422, "section")
    assert client.get(f"{URL}/{other['id']}/sections", headers=world.headers()).get_json() == []


@pytest.mark.parametrize("path", ["/999", "/999/sections", "/999/teams", "/999/entries", "/999/vetoes", "/999/audit"])
def test_unknown_competition_is_a_404(client, world, path, api):
    api.problem(client.get(URL + path, headers=world.headers()), 404)


def test_pagination_headers(client, world, api):
    for n in range(4, 10):
        client.post(world.url("/sections"), headers=world.headers(),
                    json={"code": f"LJ-{n:02d}", "name": "x", "start_km": n, "end_km": n + 1, "contractor": "c"})
    r = client.get(world.url("/sections?page=2&per_page=4"), headers=world.headers())
    assert [s["code"] for s in r.get_json()] == ["LJ-05", "LJ-06", "LJ-07", "LJ-08"]
    assert r.headers["X-Total-Count"] == "9"
    links = r.headers["Link"]
    for rel, page in (("first", 1), ("last", 3), ("prev", 1), ("next", 3)):
        assert f"page={page}&per_page=4>; rel=\"{rel}\"" in links, links
    last = client.get(world.url("/sections?page=3&per_page=4"), headers=world.headers())
    assert [s["code"] for s in last.get_json()] == ["LJ-09"] and 'rel="next"' not in last.headers["Link"]
    for bad in ("per_page=501", "per_page=0", "page=0", "page=x"):
        api.problem(client.get(world.url(f"/sections?{bad}"), headers=world.headers()), 422)


def test_error_shapes(client, world, api):
    api.problem(client.get("/api/v1/nowhere", headers=world.headers()), 404)
    r = client.delete(URL, headers=world.headers())
    api.problem(r, 405)
    assert "POST" in r.headers["Allow"]
    for raw in (b'{"name": ', b"\xff\xfe", b"[1, 2"):
        r = client.post(URL, data=raw, content_type="application/json", headers=world.headers())
        api.problem(r, 400)
    r = client.post(URL, json=[1, 2], headers=world.headers())
    assert r.status_code in (400, 422) and r.mimetype == PROBLEM
    r = client.post(URL, data=b"[" * 100000 + b"]" * 100000, content_type="application/json",
                    headers=world.headers())
    assert r.status_code == 400 and r.mimetype == PROBLEM


def test_openapi_document_and_docs_page(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/competitions", "/api/v1/competitions/{cid}/entries", "/api/v1/entries/{entry_id}/void",
                 "/api/v1/competitions/{cid}/vetoes", "/api/v1/auth/token", "/api/v1/users",
                 "/api/v1/competitions/{cid}/audit"):
        assert path in spec["paths"], path
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()
