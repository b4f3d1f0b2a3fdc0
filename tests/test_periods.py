"""Closing and reopening months through the API (CONTRACT.md §3 "Periods")."""
import pytest
from sqlalchemy import func, select
from standings_support import board, close, frozen, post, reopen, veto, void

from scoring.extensions import db
from scoring.periods.models import PeriodEvent, Snapshot


def periods(client, world) -> dict[str, dict]:
    r = client.get(world.url("/periods"), headers=world.headers("viewer"))
    assert r.status_code == 200
    return {p["key"]: p for p in r.get_json()}


def audit(client, world, action: str) -> list[dict]:
    r = client.get(world.url(f"/audit?action={action}"), headers=world.headers())
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_close_freezes_the_month_against_late_entries_voids_and_vetoes(client, world):
    counted = post(client, world, month="2026-10", section="LJ-01", team="TJD-1", points=1)
    post(client, world, month="2026-10", section="LJ-02", team="TJD-2", points=2)
    before = {kind: frozen(board(client, world, "2026-10", kind)) for kind in ("sections", "teams")}
    closed = close(client, world, "2026-10")
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert closed["flag"] == {"section": "LJ-01", "name": "一标段"}
    at_close = {kind: frozen(board(client, world, "2026-10", kind)) for kind in ("sections", "teams")}
    for kind in ("sections", "teams"):  # the snapshot is what the live board showed, plus the flag just won
        assert [{**r, "flags": None} for r in at_close[kind]["rows"]] == [
            {**r, "flags": None} for r in before[kind]["rows"]]

    late = post(client, world, month="2026-10", who="sup2", section="LJ-03", points=5)
    assert late["status"] == "late"
    void(client, world, counted["id"])
    refused = client.post(world.url("/vetoes"), json={"section": "LJ-02", "period": "2026-10", "reason": "事故"},
                          headers=world.headers())
    assert refused.status_code == 409  # a snapshot never changes: reopen the month first
    after = {kind: frozen(board(client, world, "2026-10", kind)) for kind in ("sections", "teams")}
    assert after["sections"]["status"] == "closed"
    assert after == at_close
    assert [(r["code"], r["rank"], r["total"]) for r in after["sections"]["rows"]] == [
        ("LJ-01", 1, 99), ("LJ-02", 2, 98), ("LJ-03", None, None)]
    assert [(r["code"], r["total"]) for r in after["teams"]["rows"]] == [
        ("TJD-1", 99), ("TJD-2", 98), ("TJD-3", None)]
    assert after["sections"]["rows"][0]["flags"] == 1
    late_list = client.get(world.url("/entries?status=late"), headers=world.headers()).get_json()
    assert [e["id"] for e in late_list] == [late["id"]]


def test_closing_twice_is_a_no_op(client, world, app):
    post(client, world, month="2026-10", points=1)
    first = close(client, world, "2026-10")
    tag = client.get(world.url("/leaderboard?period=2026-10"), headers=world.headers()).headers["ETag"]
    second = close(client, world, "2026-10")
    assert second == first
    assert client.get(world.url("/leaderboard?period=2026-10"),
                      headers={**world.headers(), "If-None-Match": tag}).status_code == 304
    assert len(audit(client, world, "period.closed")) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PeriodEvent)) == 1
        assert db.session.scalar(select(func.count()).select_from(Snapshot)) == 2  # sections and teams


def test_reopen_needs_a_reason_is_recorded_and_late_entries_then_count(client, world, app):
    post(client, world, month="2026-10", section="LJ-01", points=1)
    close(client, world, "2026-10")
    late = post(client, world, month="2026-10", section="LJ-01", points=4)
    assert late["status"] == "late"
    assert board(client, world, "2026-10")["rows"][0]["total"] == 99

    for body in ({}, {"reason": ""}, None):
        r = client.post(world.url("/periods/2026-10/reopen"), json=body, headers=world.headers())
        assert r.status_code in (400, 422), body
    assert periods(client, world)["2026-10"]["status"] == "closed"

    opened = reopen(client, world, "2026-10", reason="三标段数据迟到")
    assert opened == {**opened, "status": "open", "closed_at": None, "flag": None}
    r = board(client, world, "2026-10")
    assert r["status"] == "open" and r["rows"][0]["total"] == 95  # 100 − 1 − 4
    assert client.get(world.url("/entries?status=late"), headers=world.headers()).get_json() == []
    events = audit(client, world, "period.reopened")
    assert [(e["reason"], e["target"]) for e in events] == [("三标段数据迟到", "period:2026-10")]
    with app.app_context():
        actions = db.session.execute(select(PeriodEvent.action, PeriodEvent.reason).order_by(PeriodEvent.id)).all()
        assert [tuple(a) for a in actions] == [("close", None), ("reopen", "三标段数据迟到")]
    # Entries posted now count at once, and closing again freezes the new standings with a new snapshot.
    post(client, world, month="2026-10", section="LJ-02", points=0)
    again = close(client, world, "2026-10")
    assert again["flag"]["section"] == "LJ-02"
    assert [r["code"] for r in board(client, world, "2026-10")["rows"]][:2] == ["LJ-02", "LJ-01"]


def test_periods_list_status_closed_at_and_flag(client, world):
    post(client, world, month="2026-09", section="LJ-03", who="sup2", points=0)
    post(client, world, month="2026-10", points=1)
    post(client, world, points=1)
    close(client, world, "2026-09")
    listed = periods(client, world)
    assert list(listed) == ["2026-09", "2026-10", "2026-11"]
    assert listed["2026-09"]["status"] == "closed" and listed["2026-09"]["closed_at"].startswith("2026-")
    assert listed["2026-09"]["flag"] == {"section": "LJ-03", "name": "三标段"}
    assert listed["2026-10"] == {"key": "2026-10", "status": "open", "closed_at": None, "flag": None}


def test_periods_list_is_paginated_like_every_list(client, world):
    for month in ("2026-09", "2026-10", "2026-11"):
        post(client, world, month=month, points=1)
    r = client.get(world.url("/periods?per_page=2&page=2"), headers=world.headers("viewer"))
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "3" and 'rel="prev"' in r.headers["Link"]
    assert [p["key"] for p in r.get_json()] == ["2026-11"]


def test_close_and_reopen_refusals(client, world):
    r = client.post(world.url("/periods/2026-12/close"), headers=world.headers())
    assert r.status_code == 422  # a month that has not begun
    r = client.post(world.url("/periods/2026-10/close"), headers=world.headers("sup1"))
    assert r.status_code == 403
    r = client.post(world.url("/periods/2026-10/reopen"), json={"reason": "x"}, headers=world.headers())
    assert r.status_code == 409  # not closed
    r = client.post(world.url("/periods/2026-13/close"), headers=world.headers())
    assert r.status_code == 404
    assert client.post("/api/v1/competitions/999/periods/2026-10/close", headers=world.headers()).status_code == 404


@pytest.mark.tampers_with_board_tables
def test_a_closed_month_keeps_its_board_after_the_rules_change(client, world, app):
    """Edits to the rules (here: an item's maximum, straight in the database) leave a closed month alone."""
    post(client, world, month="2026-10", points=1)
    close(client, world, "2026-10")
    before = frozen(board(client, world, "2026-10"))
    with app.app_context():
        from scoring.competitions.models import Item

        db.session.execute(Item.__table__.update().where(Item.code == "S1").values(max_points=5))
        db.session.commit()
    veto(client, world, "LJ-03", period="2026-11")  # bump the revision: no cached body
    assert frozen(board(client, world, "2026-10"))["rows"] == before["rows"]
