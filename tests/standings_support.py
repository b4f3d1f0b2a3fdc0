"""Helpers for the standings, periods and scheduler tests: post, void, veto and read boards through the API."""
from __future__ import annotations

from conftest import entry

# observed_at in the middle of a month, in the competition's zone (Asia/Shanghai)
MONTH_TIME = {"2026-09": "2026-09-15T10:00:00+08:00", "2026-10": "2026-10-15T10:00:00+08:00",
              "2026-11": "2026-11-15T10:00:00+08:00"}


def post(client, world, month="2026-11", who="admin", **fields) -> dict:
    r = client.post(world.url("/entries"), json=entry(observed_at=MONTH_TIME[month], **fields),
                    headers=world.headers(who))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def void(client, world, entry_id: int, reason="录入错误") -> dict:
    r = client.post(f"/api/v1/entries/{entry_id}/void", json={"reason": reason}, headers=world.headers())
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def veto(client, world, section, period="2026-11", reason="重大安全事故", team=None) -> dict:
    r = client.post(world.url("/vetoes"), json={"section": section, "team": team, "period": period,
                                                "reason": reason}, headers=world.headers())
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def revoke(client, world, veto_id: int, reason="经复核撤销") -> dict:
    r = client.post(world.url(f"/vetoes/{veto_id}/revoke"), json={"reason": reason}, headers=world.headers())
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def close(client, world, key: str) -> dict:
    r = client.post(world.url(f"/periods/{key}/close"), headers=world.headers())
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def reopen(client, world, key: str, reason="补录迟到数据") -> dict:
    r = client.post(world.url(f"/periods/{key}/reopen"), json={"reason": reason}, headers=world.headers())
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def board(client, world, period="2026-11", kind="sections", who="viewer") -> dict:
    r = client.get(world.url(f"/leaderboard?board={kind}&period={period}"), headers=world.headers(who))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def rows(client, world, period="2026-11", kind="sections") -> dict[str, dict]:
    return {row["code"]: row for row in board(client, world, period, kind)["rows"]}


def frozen(body: dict) -> dict:
    """A board without the moment it was generated at."""
    return {k: v for k, v in body.items() if k != "generated_at"}
