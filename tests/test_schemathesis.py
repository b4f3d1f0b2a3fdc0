"""schemathesis over /api/openapi.json, as the admin: valid and invalid requests for every operation.

No answer is a 5xx; every answer has the documented content type and matches the documented schema; every
error is application/problem+json with type, title, status and detail. Bounded: FUZZ_EXAMPLES per operation
and mode (CI 12 with a fixed seed; `make soak` 200 with a random one).
"""
from __future__ import annotations

import json
import os

import photo_support
import pytest
import schemathesis
from conftest import SHANGHAI, Api, Months, World, empty_tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from scoring import create_app
from scoring.clock import utcnow
from scoring.extensions import db

SOAK = bool(os.environ.get("SOAK"))
# Logging out and revoking tokens would revoke the fuzzer's own token; test_security covers them.
SKIPPED = {("POST", "/api/v1/auth/token/revoke"), ("POST", "/api/v1/users/{user_id}/tokens/revoke")}


@pytest.fixture(scope="module")
def fuzzed(database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "LOGIN_MAX_FAILURES": 1000,
                      "LOGIN_MAX_FAILURES_PER_ADDRESS": 10000,
                      "SECRET_KEY": "test-secret-key-0123456789"})
    with app.app_context():
        empty_tables()
    world = World(app)
    months = Months(utcnow().astimezone(SHANGHAI))  # `months` and `api` are per test; this fixture is per module
    api = Api(app, app.test_client(), world, months)
    posted = api.post(who="sup1")
    veto = api.veto("LJ-02", reason="r")
    photo = api.answer(api.client.post(world.url("/photos"), data=photo_support.photo(),
                                       headers={**world.headers("sup1"), "Content-Type": "image/jpeg"}), 201)
    with app.app_context():  # the user the fuzzer changes, deactivates and sets passwords of: never its own admin
        from scoring.auth.operations import create_user

        spare = create_user("fuzzed", "supervisor", "password-fuzzed", world.cid, ["LJ-01"]).id
        db.session.commit()
    real = {"cid": world.cid, "entry_id": posted["id"], "veto_id": veto["id"], "user_id": spare, "key": months.last,
            "period": months.this, "rid": 1, "photo_id": photo["id"]}
    yield app, world, real
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def problem_shape(ctx, response, case):
    """Our own check: an error is RFC 9457 problem details, and carries no stack trace."""
    if response.status_code >= 400:
        content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])[0]
        assert content_type.startswith("application/problem+json"), content_type
        body = json.loads(response.content)
        assert {"type", "title", "status", "detail"} <= body.keys(), body
        assert body["status"] == response.status_code
        assert "Traceback" not in response.text
    return None


@pytest.mark.parametrize("examples", [pytest.param(12, id="ci"), pytest.param(200, id="soak", marks=pytest.mark.slow)])
def test_the_api_holds_its_schema_under_generated_requests(fuzzed, examples):
    if examples > 12 and not SOAK:
        pytest.skip("the long fuzz run is for `make soak` (SOAK=1)")
    examples = int(os.environ.get("FUZZ_EXAMPLES") or examples)
    app, world, real = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = world.headers()
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
              problem_shape]
    calls = {"operations": 0, "requests": 0}

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        calls["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=examples, deadline=None, derandomize=not SOAK, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode), use_real_ids=st.booleans())
            def check(case, use_real_ids):
                for name in case.path_parameters or {}:
                    # Half the time the path names things that exist, so handlers run; a user always the spare
                    # one (deactivating the fuzzer's admin, or setting its password, would end the run).
                    if name in real and (use_real_ids or name == "user_id"):
                        case.path_parameters[name] = real[name]
                response = case.call(headers=headers)
                calls["requests"] += 1
                case.validate_response(response, checks=checks, headers=headers)

            check()
    print(f"\n[schemathesis] {calls['operations']} operations, {calls['requests']} requests, "
          f"{examples} examples per operation and mode")
    assert calls["operations"] >= 30


def test_the_boards_answer_what_the_document_says(app, client, world, api, months):
    """The leaderboard is sent as pre-serialized bytes, never through its schema: its answers (a closed month
    with its flag, a veto, a subject not assessed, the year board, a 304) and the history's must still match
    the published document, and a body that strays from it must not."""
    from scoring.competitions.operations import get_competition
    from scoring.standings.operations import take_daily_snapshot

    api.post(month=months.last, who="sup1", section="LJ-01", team="TJD-1", points=2)
    api.post(month=months.last, who="sup2", section="LJ-02", points=1)
    api.close(months.last)
    api.post(who="sup1", section="LJ-01", points=1.5)
    api.veto("LJ-02", period=months.this)
    with app.app_context():
        take_daily_snapshot(get_competition(world.cid), utcnow().astimezone(SHANGHAI).date())
        db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    board = schema["/api/v1/competitions/{cid}/leaderboard"]["GET"]
    history = schema["/api/v1/competitions/{cid}/leaderboard/history"]["GET"]
    seen = []
    for kind in ("sections", "teams"):
        for period in (months.ago(2), months.last, months.this, months.year):
            response = client.get(world.url(f"/leaderboard?board={kind}&period={period}"), headers=world.headers())
            assert response.status_code == 200
            board.validate_response(response)
            seen.append(response.get_json())
            again = client.get(world.url(f"/leaderboard?board={kind}&period={period}"),
                               headers={**world.headers(), "If-None-Match": response.headers["ETag"]})
            assert again.status_code == 304
            board.validate_response(again)
        response = client.get(world.url(f"/leaderboard/history?board={kind}"), headers=world.headers())
        history.validate_response(response)
        assert any(s["history"] for s in response.get_json()["subjects"])
    rows = [row for answer in seen for row in answer["rows"]]
    assert any(a["flag"] for a in seen) and any(a["flag"] is None for a in seen)
    assert {True, False} <= {row["vetoed"] for row in rows} and {True, False} <= {row["assessed"] for row in rows}

    strayed = dict(seen[0], rows=[{**seen[0]["rows"][0], "extra": 1}])
    response = client.get(world.url("/leaderboard"), headers=world.headers())
    response.set_data(app.json.dumps(strayed))
    with pytest.raises(AssertionError, match="'extra' was unexpected"):
        board.validate_response(response)
