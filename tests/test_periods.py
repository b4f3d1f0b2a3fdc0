"""Closing and reopening months through the API (CONTRACT.md §3 "Periods")."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from scoring.clock import utcnow
from scoring.extensions import db
from scoring.periods.models import PeriodEvent, Snapshot


def periods(client, world) -> dict[str, dict]:
    r = client.get(world.url("/periods"), headers=world.headers("viewer"))
    assert r.status_code == 200
    return {p["key"]: p for p in r.get_json()}


def frozen(body: dict) -> dict:
    """A board without the moment it was generated at."""
    return {k: v for k, v in body.items() if k != "generated_at"}


def test_close_freezes_the_month_against_late_entries_voids_and_vetoes(client, world, api, months):
    counted = api.post(month=months.last, section="LJ-01", team="TJD-1", points=1)
    api.post(month=months.last, section="LJ-02", team="TJD-2", points=2)
    before = {kind: frozen(api.board(months.last, kind)) for kind in ("sections", "teams")}
    closed = api.close(months.last)
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert closed["flag"] == {"section": "LJ-01", "name": "一标段"}
    at_close = {kind: frozen(api.board(months.last, kind)) for kind in ("sections", "teams")}
    for kind in ("sections", "teams"):  # the snapshot is what the live board showed, plus the flag just won
        assert [{**r, "flags": None} for r in at_close[kind]["rows"]] == [
            {**r, "flags": None} for r in before[kind]["rows"]]

    late = api.post(month=months.last, who="sup2", section="LJ-03", points=5)
    assert late["status"] == "late"
    api.void(counted["id"])
    api.veto("LJ-02", period=months.last, reason="事故", status=409)  # a snapshot never changes: reopen first
    after = {kind: frozen(api.board(months.last, kind)) for kind in ("sections", "teams")}
    assert after["sections"]["status"] == "closed"
    assert after == at_close
    assert [(r["code"], r["rank"], r["total"]) for r in after["sections"]["rows"]] == [
        ("LJ-01", 1, 99), ("LJ-02", 2, 98), ("LJ-03", None, None)]
    assert [(r["code"], r["total"]) for r in after["teams"]["rows"]] == [
        ("TJD-1", 99), ("TJD-2", 98), ("TJD-3", None)]
    assert after["sections"]["rows"][0]["flags"] == 1
    late_list = client.get(world.url("/entries?status=late"), headers=world.headers()).get_json()
    assert [e["id"] for e in late_list] == [late["id"]]


def test_closing_twice_is_a_no_op(client, world, app, api, months):
    api.post(month=months.last, points=1)
    first = api.close(months.last)
    tag = client.get(world.url(f"/leaderboard?period={months.last}"), headers=world.headers()).headers["ETag"]
    second = api.close(months.last)
    assert second == first
    assert client.get(world.url(f"/leaderboard?period={months.last}"),
                      headers={**world.headers(), "If-None-Match": tag}).status_code == 304
    assert len(api.audit("?action=period.closed")) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PeriodEvent)) == 1
        assert db.session.scalar(select(func.count()).select_from(Snapshot)) == 2  # sections and teams


def test_reopen_needs_a_reason_is_recorded_and_late_entries_then_count(client, world, app, api, months):
    api.post(month=months.last, section="LJ-01", points=1)
    api.close(months.last)
    late = api.post(month=months.last, section="LJ-01", points=4)
    assert late["status"] == "late"
    assert api.board(months.last)["rows"][0]["total"] == 99

    for body in ({}, {"reason": ""}, None):
        r = client.post(world.url(f"/periods/{months.last}/reopen"), json=body, headers=world.headers())
        assert r.status_code in (400, 422), body
    assert periods(client, world)[months.last]["status"] == "closed"

    opened = api.reopen(months.last, reason="三标段数据迟到")
    assert opened == {**opened, "status": "open", "closed_at": None, "flag": None}
    r = api.board(months.last)
    assert r["status"] == "open" and r["rows"][0]["total"] == 95  # 100 − 1 − 4
    assert client.get(world.url("/entries?status=late"), headers=world.headers()).get_json() == []
    events = api.audit("?action=period.reopened")
    assert [(e["reason"], e["target"]) for e in events] == [("三标段数据迟到", f"period:{months.last}")]
    with app.app_context():
        actions = db.session.execute(select(PeriodEvent.action, PeriodEvent.reason).order_by(PeriodEvent.id)).all()
        assert [tuple(a) for a in actions] == [("close", None), ("reopen", "三标段数据迟到")]
    # Entries posted now count at once, and closing again freezes the new standings with a new snapshot.
    api.post(month=months.last, section="LJ-02", points=0)
    again = api.close(months.last)
    assert again["flag"]["section"] == "LJ-02"
    assert [r["code"] for r in api.board(months.last)["rows"]][:2] == ["LJ-02", "LJ-01"]


def test_periods_list_status_closed_at_and_flag(client, world, api, months):
    api.post(month=months.ago(2), section="LJ-03", who="sup2", points=0)
    api.post(month=months.last, points=1)
    api.post(points=1)
    api.close(months.ago(2))
    listed = periods(client, world)
    assert list(listed) == [months.ago(2), months.last, months.this]
    assert listed[months.ago(2)]["status"] == "closed"
    assert abs(datetime.fromisoformat(listed[months.ago(2)]["closed_at"]) - utcnow()) < timedelta(minutes=5)
    assert listed[months.ago(2)]["flag"] == {"section": "LJ-03", "name": "三标段"}
    assert listed[months.last] == {"key": months.last, "status": "open", "closed_at": None, "closed_at_local": None,
                                   "flag": None, "edition": 0, "late_entries": 0, "approved_at": None,
                                   "approved_by": None, "awaiting_approval": False}
    assert listed[months.ago(2)]["edition"] == 1


def test_periods_list_is_paginated_like_every_list(client, world, api, months):
    for month in (months.ago(2), months.last, months.this):
        api.post(month=month, points=1)
    r = client.get(world.url("/periods?per_page=2&page=2"), headers=world.headers("viewer"))
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "3" and 'rel="prev"' in r.headers["Link"]
    assert [p["key"] for p in r.get_json()] == [months.this]


def test_close_and_reopen_refusals(client, world, months):
    r = client.post(world.url(f"/periods/{months.next}/close"), headers=world.headers())
    assert r.status_code == 422  # a month that has not begun
    r = client.post(world.url(f"/periods/{months.last}/close"), headers=world.headers("sup1"))
    assert r.status_code == 403
    r = client.post(world.url(f"/periods/{months.last}/reopen"), json={"reason": "x"}, headers=world.headers())
    assert r.status_code == 409  # not closed
    r = client.post(world.url("/periods/2026-13/close"), headers=world.headers())
    assert r.status_code == 404
    r = client.post(f"/api/v1/competitions/999/periods/{months.last}/close", headers=world.headers())
    assert r.status_code == 404


@pytest.mark.tampers_with_board_tables
def test_a_closed_month_keeps_its_board_after_the_rules_change(client, world, app, api, months):
    """Edits to the rules (here: an item's maximum, straight in the database) leave a closed month alone."""
    api.post(month=months.last, points=1)
    api.close(months.last)
    before = frozen(api.board(months.last))
    with app.app_context():
        from scoring.competitions.models import Item

        db.session.execute(Item.__table__.update().where(Item.code == "S1").values(max_points=5))
        db.session.commit()
    api.veto("LJ-03")  # bump the revision: no cached body
    assert frozen(api.board(months.last))["rows"] == before["rows"]
