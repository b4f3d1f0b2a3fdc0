"""Tablets resend, and several resend at once: against a real gunicorn with four workers, on the
suite's database (SQLite by default, PostgreSQL with TEST_DATABASE_URL), eight clients post the
same 200 entries concurrently, some in batches and some one by one, each in its own order."""
import random
import threading
from collections import defaultdict
from decimal import Decimal

import pytest
import requests
from conftest import CRITERIA, LiveServer

THREADS = 8
ENTRIES = 200
TEAM_OF = {"LJ-01": "TJD-1", "LJ-02": "TJD-2", "LJ-03": "TJD-3"}


def the_entries(api) -> list[dict]:
    """ENTRIES entries observed last month (on the real clock: the server is another process)."""
    rng = random.Random(20261127)
    month = api.months.last
    entries = []
    for n in range(ENTRIES):
        criterion, _, _, _, items = rng.choice(CRITERIA)
        section = rng.choice(sorted(TEAM_OF))
        kind = rng.choice(["deduction", "deduction", "deduction", "bonus"])
        entries.append(api.entry(
            client_id=f"tablet-{n % 7}-{n:04d}",
            section=section,
            team=rng.choice([None, TEAM_OF[section]]),
            criterion=criterion,
            item=rng.choice(items)[0] if kind == "deduction" or rng.random() < 0.5 else None,
            kind=kind,
            points=float(Decimal(rng.randint(0, 400)) / 100),
            observed_at=api.months.at(month, rng.randint(1, 20), rng.randint(7, 18), rng.randint(0, 59)),
            note=f"巡查记录 {n}",
        ))
    return entries


def expected_boards(entries: list[dict]) -> dict[str, dict[str, Decimal]]:
    """CONTRACT.md §4, recomputed here from the entries themselves."""
    subjects: dict[str, list[dict]] = defaultdict(list)
    for e in entries:
        subjects[e["section"]].append(e)
        if e["team"]:
            subjects[e["team"]].append(e)
    totals = {}
    for code, posted in subjects.items():
        total = Decimal(0)
        for criterion, _, _, cap, items in CRITERIA:
            mine = [e for e in posted if e["criterion"] == criterion]
            for item_code, _, max_points in items:
                lost = sum(points(e) for e in mine if e["kind"] == "deduction" and e["item"] == item_code)
                total += max(Decimal(0), Decimal(max_points) - lost)
            bonus = sum(points(e) for e in mine if e["kind"] == "bonus")
            total += min(Decimal(cap), bonus)
        totals[code] = total
    return totals


def points(e: dict) -> Decimal:
    return Decimal(str(e["points"]))


def client_thread(n: int, url: str, token: str, entries: list[dict], barrier, outcomes: list, errors: list):
    rng = random.Random(n)
    order = entries[:]
    rng.shuffle(order)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    try:
        barrier.wait(timeout=30)
        i = 0
        while i < len(order):  # bounded: i grows by at least 1 per round
            # Even threads mostly batch, odd ones mostly send one by one: both paths race each other.
            size = rng.randint(2, 20 if n % 2 else 60) if (n % 2 == 0) == (rng.random() < 0.8) else 1
            chunk, i = order[i:i + size], i + size
            if size == 1:
                r = session.post(url, json=chunk[0], timeout=60)
                outcomes.append((chunk[0]["client_id"], r.status_code,
                                 {201: "created", 200: "duplicate"}.get(r.status_code, r.text[:300])))
            else:
                r = session.post(url, json={"entries": chunk}, timeout=60)
                if r.status_code != 200:
                    errors.append((r.status_code, r.text[:300]))
                    continue
                results = r.json()["results"]
                assert [x["client_id"] for x in results] == [e["client_id"] for e in chunk]
                outcomes.extend((x["client_id"], "batch", x["status"]) for x in results)
    except Exception as error:  # reported by the test, not lost in the thread
        errors.append(repr(error))


@pytest.fixture(scope="module")
def server(database_url):
    """One gunicorn for the module (each test still starts from empty tables)."""
    server = LiveServer(database_url, workers=4).start()
    yield server
    server.stop()


def test_eight_clients_resending_the_same_200_entries_store_each_once(world, api, server):
    entries = the_entries(api)
    url = server.url + world.url("/entries")
    barrier = threading.Barrier(THREADS)
    outcomes, errors = [], []
    threads = [threading.Thread(target=client_thread,
                                args=(n, url, world.tokens["admin"], entries, barrier, outcomes, errors))
               for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(outcomes) == THREADS * ENTRIES
    statuses = defaultdict(list)
    for client_id, _, status in outcomes:
        statuses[client_id].append(status)
    assert set(statuses) == {e["client_id"] for e in entries}
    for client_id, seen in statuses.items():
        assert sorted(seen) == ["created"] + ["duplicate"] * (THREADS - 1), (client_id, seen)

    admin = {"Authorization": f"Bearer {world.tokens['admin']}"}
    stored = requests.get(url, params={"per_page": 500}, headers=admin, timeout=30)
    assert stored.headers["X-Total-Count"] == str(ENTRIES)
    by_id = {e["client_id"]: e for e in stored.json()}
    assert len(by_id) == ENTRIES
    for e in entries:
        got = by_id[e["client_id"]]
        assert (got["section"], got["team"], got["item"], got["kind"], Decimal(str(got["points"]))) == \
            (e["section"], e["team"], e["item"], e["kind"], points(e))
        assert got["status"] == "counted" and got["period"] == api.months.last
    audit = requests.get(server.url + world.url("/audit"),
                         params={"action": "entry.posted", "per_page": 1}, headers=admin, timeout=30)
    assert audit.headers["X-Total-Count"] == str(ENTRIES)

    want = expected_boards(entries)
    for board in ("sections", "teams"):
        r = requests.get(server.url + world.url("/leaderboard"), params={"board": board, "period": api.months.last},
                         headers=admin, timeout=30)
        rows = r.json(parse_float=Decimal)["rows"]
        prefix = "LJ" if board == "sections" else "TJD"
        assert {row["code"]: row["total"] for row in rows} == {
            code: total for code, total in want.items() if code.startswith(prefix)}


def test_batches_of_the_same_ids_in_other_orders_at_once_neither_deadlock_nor_fail(world, api, server):
    """Each batch inserts in one order whatever order it came in; else two of them wait on each
    other's uncommitted rows and PostgreSQL kills one (a deadlock, answered 503)."""
    url = server.url + world.url("/entries")
    headers = {"Authorization": f"Bearer {world.tokens['admin']}"}
    answers = []
    for round_ in range(4):
        entries = [api.entry(client_id=f"r{round_}-{i:04d}", points=0.01) for i in range(300)]
        orders = [entries, entries[::-1], entries[150:] + entries[:150], entries[::2] + entries[1::2]]
        barrier = threading.Barrier(len(orders))

        def send(order, barrier=barrier):
            barrier.wait(timeout=30)
            r = requests.post(url, json={"entries": order}, headers=headers, timeout=60)
            answers.append((r.status_code, sorted(x["status"] for x in r.json()["results"]) if r.ok else r.text))

        threads = [threading.Thread(target=send, args=(order,)) for order in orders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
    assert [code for code, _ in answers] == [200] * 16, answers
    created = sum(statuses.count("created") for _, statuses in answers)
    assert created == 1200
    stored = requests.get(url, params={"per_page": 1}, headers=headers, timeout=30)
    assert stored.headers["X-Total-Count"] == "1200"
