"""Helpers for the core API tests: the problem+json check and a dump of everything stored."""
from __future__ import annotations

from sqlalchemy import select

from scoring.extensions import db

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, *fields: str) -> dict:
    """The response is an RFC 9457 problem with `status`; on 422 its errors name each of `fields`."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    assert response.mimetype == PROBLEM, response.mimetype
    body = response.get_json(force=True)
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status and body["detail"], body
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    if status == 422:
        assert isinstance(body.get("errors"), dict) and body["errors"], body
    for field in fields:
        assert field in body["errors"], (field, body["errors"])
    return body


def dump_tables(app) -> dict[str, list[tuple]]:
    """Every row of every table, ordered: two dumps are equal when nothing stored changed."""
    with app.app_context():
        dump = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table)).all()
            dump[table.name] = sorted(tuple(map(repr, row)) for row in rows)
        db.session.remove()
        return dump


def board(client, world, period: str = "2026-11", board: str = "sections", who: str = "viewer") -> dict:
    r = client.get(world.url(f"/leaderboard?board={board}&period={period}"), headers=world.headers(who))
    assert r.status_code == 200, r.get_json()
    return {row["code"]: row for row in r.get_json()["rows"]}


def headers_for(world, who) -> dict:
    """Headers for a role name of `world`, or None (no token) or "bad" (a token never issued)."""
    if who is None:
        return {}
    if who == "bad":
        return {"Authorization": "Bearer not-a-token-0123456789"}
    return world.headers(who)
