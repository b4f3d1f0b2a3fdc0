"""What a probe found against the running service, tried the same way: two real clients at once against a
real gunicorn (on the suite's database: SQLite, or PostgreSQL with TEST_DATABASE_URL), many rounds.

- A void racing a reopen ended `counted` with a void reason (12 of 12 tries on PostgreSQL); a
  supervisor's void racing a close answered 200 while the snapshot still counted the entry. Every
  operation on a month's state now takes the month's row lock first: for each pair the outcome must
  be one of the two orders, with the snapshot, the entries and the aggregates agreeing.
- A chunked body skipped the NUL/surrogate guard (stored, or a 500).
"""
from __future__ import annotations

import json
import random
import threading
from collections import Counter

import pytest
import requests
from conftest import LiveServer

from scoring.extensions import db
from scoring.standings.consistency import check_tallies

ROUNDS = 20


@pytest.fixture(scope="module")
def server(database_url):
    server = LiveServer(database_url, workers=3).start()
    yield server
    server.stop()


class Person:
    """One person's client of the live server: a keep-alive session with their token."""

    def __init__(self, server, api, who: str):
        self.base, self.api, self.world = server.url, api, api.world
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.world.tokens[who]}"

    def post(self, path: str, body=None) -> requests.Response:
        return self.session.post(self.base + path, json=body, timeout=60)

    def get(self, path: str):
        r = self.session.get(self.base + path, timeout=60)
        assert r.status_code == 200, r.text[:500]
        return r.json()

    def entry(self, month: str, **fields) -> dict:
        r = self.post(self.world.url("/entries"), self.api.entry(month, **fields))
        assert r.status_code == 201, r.text[:500]
        return r.json()

    def close(self, month: str) -> requests.Response:
        return self.post(self.world.url(f"/periods/{month}/close"))


def at_once(*calls) -> list[requests.Response]:
    """Run each call in its own thread, released together."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(i, call):
        barrier.wait(timeout=30)
        try:
            answers[i] = call()
        except Exception as error:  # noqa: BLE001 - reported below, not lost in the thread
            answers[i] = error

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    for answer in answers:
        assert isinstance(answer, requests.Response), answer
        assert answer.status_code < 500, (answer.status_code, answer.text[:500])
    return answers


def past_months(months, rounds: int) -> list[str]:
    """Last month and the `rounds - 1` before it: one month of its own per round."""
    year, month = int(months.last[:4]), int(months.last[5:])
    keys = []
    for _ in range(rounds):
        keys.append(f"{year}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return keys


def no_drift(app) -> None:
    with app.app_context():
        assert check_tallies() == {}
        db.session.rollback()
        db.session.remove()


def rows(person, month: str) -> dict[str, dict]:
    return {r["code"]: r for r in person.get(person.world.url(f"/leaderboard?board=sections&period={month}"))["rows"]}


def status_of(person, entry_id: int, month: str) -> dict:
    listed = person.get(person.world.url(f"/entries?period={month}&per_page=500"))
    return next(e for e in listed if e["id"] == entry_id)


def race_rounds(app, months, name: str, play) -> None:
    """`ROUNDS` rounds, a month of its own each; `play(month)` runs one race and says which side won.
    After each, the aggregates must agree with the entries."""
    outcomes = Counter()
    for month in past_months(months, ROUNDS):
        outcomes[play(month)] += 1
        no_drift(app)
    print(f"{name}, {ROUNDS} rounds: {dict(outcomes)}")


def test_void_racing_reopen_never_leaves_a_void_entry_counted(app, world, server, months, api):
    office, other_office, sup = (Person(server, api, who) for who in ("admin", "admin", "sup1"))

    def play(month):
        office.entry(month, section="LJ-01")
        assert office.close(month).status_code == 200
        late = sup.entry(month, section="LJ-01", team="TJD-1", points=5)
        assert late["status"] == "late"
        void, reopen = at_once(lambda: office.post(f"/api/v1/entries/{late['id']}/void", {"reason": "重复"}),
                               lambda: other_office.post(world.url(f"/periods/{month}/reopen"), {"reason": "补录"}))
        assert (void.status_code, reopen.status_code) == (200, 200), (void.text, reopen.text)
        stored = status_of(office, late["id"], month)
        assert (stored["status"], stored["void_reason"]) == ("void", "重复"), stored
        assert rows(office, month)["LJ-01"]["total"] == 99  # the open month counts the first entry only
        assert office.post(f"/api/v1/entries/{late['id']}/void", {"reason": "再次"}).status_code == 409
        reopened = office.get(world.url("/audit?action=period.reopened&per_page=500"))[-1]
        return "reopen first" if reopened["detail"]["late_entries_counted"] else "void first"

    race_rounds(app, months, "void vs reopen", play)


def test_a_supervisors_void_racing_a_close_lands_before_it_or_is_refused(app, world, server, months, api):
    office, sup = Person(server, api, "admin"), Person(server, api, "sup1")

    def play(month):
        office.entry(month, section="LJ-02", points=1)
        mine = sup.entry(month, section="LJ-01", points=3)
        void, close = at_once(lambda: sup.post(f"/api/v1/entries/{mine['id']}/void", {"reason": "录错"}),
                              lambda: office.close(month))
        assert close.status_code == 200 and void.status_code in (200, 403), (void.text, close.text)
        frozen = rows(office, month)["LJ-01"]  # the closed month's snapshot
        stored = status_of(office, mine["id"], month)
        if void.status_code == 200:  # before the close: the snapshot never counted it
            assert stored["status"] == "void" and frozen["assessed"] is False, (stored, frozen)
            return "void first"
        # after: a closed month is the office's to correct
        assert stored["status"] == "counted" and frozen["total"] == 97, (stored, frozen)
        return "close first"

    race_rounds(app, months, "void vs close", play)


def test_a_posting_racing_a_close_is_in_the_snapshot_or_late(app, world, server, months, api):
    office, sup = Person(server, api, "admin"), Person(server, api, "sup1")

    def play(month):
        office.entry(month, section="LJ-02", points=1)
        posting = api.entry(month, section="LJ-01", points=2)
        posted, close = at_once(lambda: sup.post(world.url("/entries"), posting), lambda: office.close(month))
        assert (posted.status_code, close.status_code) == (201, 200), (posted.text, close.text)
        frozen = rows(office, month)["LJ-01"]
        if posted.json()["status"] == "counted":
            assert frozen["total"] == 98, frozen
        else:
            assert posted.json()["status"] == "late" and frozen["assessed"] is False, (posted.json(), frozen)
        return posted.json()["status"]

    race_rounds(app, months, "post vs close", play)


def test_a_veto_racing_a_close_is_in_the_snapshot_or_refused(app, world, server, months, api):
    office, other_office = Person(server, api, "admin"), Person(server, api, "admin")

    def play(month):
        office.entry(month, section="LJ-01", points=1)
        veto, close = at_once(
            lambda: office.post(world.url("/vetoes"), {"section": "LJ-01", "period": month, "reason": "事故"}),
            lambda: other_office.close(month))
        assert close.status_code == 200 and veto.status_code in (201, 409), (veto.text, close.text)
        frozen = rows(office, month)["LJ-01"]
        stored = office.get(world.url(f"/vetoes?period={month}"))
        if veto.status_code == 201:
            assert frozen["vetoed"] is True and len(stored) == 1, frozen
            return "veto first"
        assert frozen["vetoed"] is False and frozen["total"] == 99 and stored == [], (frozen, stored)
        return "close first"

    race_rounds(app, months, "veto vs close", play)


def test_two_identical_vetoes_at_once_make_one_veto_and_a_409(app, world, server, months, api):
    """Both requests pass the duplicate check side by side (each holds the month shared); the partial unique
    index lets one of them in, the other answers the check's 409. A revoke leaves room for the next round."""
    office, other_office = Person(server, api, "admin"), Person(server, api, "admin")
    month = months.last
    office.entry(month, section="LJ-02", team="TJD-2", points=1)
    outcomes = Counter()
    for round_ in range(ROUNDS):
        team = "TJD-2" if round_ % 2 else None  # a section's veto and a team's
        body = {"section": "LJ-02", "team": team, "period": month, "reason": f"事故 {round_}"}
        answers = at_once(lambda body=body: office.post(world.url("/vetoes"), body),
                          lambda body=body: other_office.post(world.url("/vetoes"), body))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text[:300] for a in answers]
        assert "already vetoed" in next(a for a in answers if a.status_code == 409).json()["detail"]
        active = [v for v in office.get(world.url(f"/vetoes?period={month}&per_page=500")) if not v["revoked"]]
        assert len(active) == 1, active
        winner = next(a for a in answers if a.status_code == 201).json()
        assert office.post(f"{world.url('/vetoes')}/{winner['id']}/revoke", {"reason": "复核"}).status_code == 200
        outcomes["one veto"] += 1
    assert len(office.get(world.url("/audit?action=veto.created&per_page=500"))) == ROUNDS
    print(f"veto vs veto, {ROUNDS} rounds: {dict(outcomes)}")


def test_two_identical_recipients_at_once_make_one_recipient_and_a_409(app, world, server, months, api):
    office, other_office = Person(server, api, "admin"), Person(server, api, "admin")
    for round_ in range(ROUNDS):
        address = f"race{round_}@example.org"
        first, second = ({"email": email, "name": name, "scope": "all"}
                         for email, name in ((address, "甲"), (address.upper(), "乙")))
        answers = at_once(lambda first=first: office.post(world.url("/recipients"), first),
                          lambda second=second: other_office.post(world.url("/recipients"), second))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text[:300] for a in answers]
    listed = office.get(world.url("/recipients?per_page=500"))
    assert sorted(r["email"].lower() for r in listed) == sorted(f"race{n}@example.org" for n in range(ROUNDS))


# -- chunked bodies --------------------------------------------------------------------------------

def chunks(body: bytes):
    """A generator body: requests sends it with Transfer-Encoding: chunked, no Content-Length."""
    rng = random.Random(len(body))
    while body:
        cut = rng.randint(1, 16)
        yield body[:cut]
        body = body[cut:]


CHUNKED = {  # (path, field, the typed text, encoding, status)
    "NUL in a note": ("/entries", "note", "a\u0000b", "utf-8", 422),
    "lone surrogate in a note": ("/entries", "note", "\ud800 半个代理对", "utf-8", 422),
    "NUL in a veto reason": ("/vetoes", "reason", "事故\u0000", "utf-8", 422),
    "UTF-16 veto": ("/vetoes", "reason", "事故\u0000", "utf-16", 400),
    "ordinary note": ("/entries", "note", "正常的说明", "utf-8", 201),
}


@pytest.mark.parametrize("case", CHUNKED)
def test_a_chunked_body_gets_the_same_checks_as_any_other(world, server, months, case, api):
    path, field, text, encoding, status = CHUNKED[case]
    admin = Person(server, api, "admin")
    body = {"section": "LJ-01", "period": months.this, "reason": text} if path == "/vetoes" else api.entry(note=text)
    data = json.dumps(body).encode(encoding)  # json.dumps writes \u escapes; the encoding frames them
    r = admin.session.post(server.url + world.url(path), data=chunks(data),
                           headers={"Content-Type": "application/json"}, timeout=60)
    assert r.request.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in r.request.headers
    assert r.status_code == status, r.text[:500]
    stored = admin.get(world.url(path))
    assert [row[field] for row in stored] == ([text] if status == 201 else [])
