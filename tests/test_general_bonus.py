"""The rulebook as offices write it (issue 13 point 10; CONTRACT.md §3 Entries, §4): a general bonus tied to no
criterion (上级表彰), counted up to the competition's general_bonus_cap, and the warnings of a deduction past
what its item has left or a bonus past its cap — stored as posted, the score rules of §4 applying."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

from conftest import competition_body

from scoring.competitions.models import Competition
from scoring.competitions.operations import bump_revision
from scoring.extensions import db
from scoring.standings import tallies


def general_cap(api, cap: str = "2") -> None:
    """The world's competition with a general bonus cap (as if created with it: set before any posting)."""
    with api.app.app_context():
        db.session.get(Competition, api.world.cid).general_bonus_cap = Decimal(cap)
        bump_revision(api.world.cid)
        db.session.commit()


def commendation(api, points=1, **fields) -> dict:
    """A bonus tied to no criterion: neither criterion nor item."""
    body = api.entry(kind="bonus", points=points, note="上级表彰：市级文明工地", **fields)
    del body["criterion"], body["item"]
    return body


def test_the_cap_is_set_at_creation_shown_and_never_patched(client, world, api):
    created = api.answer(client.post("/api/v1/competitions", json=competition_body(general_bonus_cap=2.5),
                                     headers=world.headers()), 201)
    assert created["general_bonus_cap"] == 2.5
    shown = api.answer(client.get(f"/api/v1/competitions/{created['id']}", headers=world.headers()))
    assert shown["general_bonus_cap"] == 2.5
    assert api.answer(client.get(world.url(), headers=world.headers()))["general_bonus_cap"] == 0
    api.problem(client.patch(f"/api/v1/competitions/{created['id']}", json={"general_bonus_cap": 5},
                             headers=world.headers()), 422, "general_bonus_cap")
    for bad in (-1, 100.5, 1.234, "2"):
        api.problem(client.post("/api/v1/competitions", json=competition_body(general_bonus_cap=bad),
                                headers=world.headers()), 422, "general_bonus_cap")


def test_a_commendation_counts_on_top_of_the_five_up_to_the_cap(api, months):
    general_cap(api, "2")
    first = api.post(commendation(api, points=1), who="sup1")
    assert first["criterion"] is None and first["item"] is None and "warnings" not in first
    row = api.rows()["LJ-01"]
    assert row["total"] == 101 and row["bonus"] == 1
    assert row["criteria"] == {"quality": 25, "safety": 25, "schedule": 20, "environment": 15, "management": 15}
    # 3 posted with cap 2: 2 counted, and the supervisor is told at once
    second = api.post(commendation(api, points=2), who="sup1")
    assert second["status"] == "counted"
    (warning,) = second["warnings"]
    assert "通用加分" in warning and "上限 2 分" in warning and "累计 3 分" in warning
    row = api.rows()["LJ-01"]
    assert row["total"] == 102 and row["bonus"] == 2
    # on the team board too, and with a criterion bonus in the row's bonus
    api.post(commendation(api, points=1.5, team="TJD-1"), who="sup1")
    api.post(who="sup1", team="TJD-1", kind="bonus", criterion="quality", item=None, points=1)
    team = api.rows(kind="teams")["TJD-1"]
    assert team["total"] == 102.5 and team["bonus"] == 2.5 and team["criteria"]["quality"] == 26
    # the standings export reads the same rows
    data = api.get(f"/exports/standings.csv?period={months.this}", "viewer").data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header, *body = rows
    (lj01,) = [r for r in body if r[1] == "LJ-01"]
    assert Decimal(lj01[header.index("总分")]) == Decimal("103")
    data = api.get(f"/exports/entries.csv?period={months.this}", "viewer").data
    listed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [r[4] for r in listed if r[0] == str(first["id"])] == ["不限项目（上级表彰等）"]
    with api.app.app_context():
        assert tallies.stored(api.world.cid) == tallies.recomputed(api.world.cid)


def test_a_bonus_without_criterion_is_refused_when_there_is_no_cap(api):
    before = api.stored()
    body = api.problem(api.client.post(api.world.url("/entries"), json=commendation(api),
                                       headers=api.world.headers("sup1")), 422, "criterion")
    assert "加分必须注明所属考核项目" in body["errors"]["criterion"][0]
    assert api.stored() == before
    # a deduction always names its criterion and item, cap or no cap
    general_cap(api, "2")
    for missing in (("criterion",), ("item",), ("criterion", "item")):
        entry = api.entry()
        for field in missing:
            del entry[field]
        api.post(entry, status=422)
    # an item without its criterion
    entry = dict(commendation(api), item="S1")
    api.problem(api.client.post(api.world.url("/entries"), json=entry, headers=api.world.headers()), 422,
                "criterion")


def test_a_deduction_past_its_item_is_stored_scored_zero_and_warned(api):
    api.post(who="sup1", criterion="safety", item="S2", points=4)
    late_in = api.post(who="sup1", criterion="safety", item="S2", points=6)  # exactly used up: no warning
    assert "warnings" not in late_in
    over = api.post(who="sup1", criterion="safety", item="S2", points=15)
    assert over["points"] == 15 and over["status"] == "counted"
    (warning,) = over["warnings"]
    assert "S2" in warning and "满分 10 分" in warning and "25 分" in warning and "LJ-01" in warning
    row = api.rows()["LJ-01"]
    assert row["criteria"]["safety"] == 15 and row["deductions"] == 10 and row["total"] == 90
    # on its own, fifteen on an item of ten
    alone = api.post(who="sup2", section="LJ-02", criterion="safety", item="S2", points=15)
    assert len(alone["warnings"]) == 1
    assert api.rows()["LJ-02"]["criteria"]["safety"] == 15
    # the resend answers the stored entry, with nothing new to warn of
    again = api.post(api.entry(**{k: over[k] for k in ("client_id", "criterion", "item", "points", "note")},
                               observed_at=over["observed_at"]), who="sup1", status=200)
    assert again["id"] == over["id"] and "warnings" not in again


def test_a_criterion_bonus_past_its_cap_is_warned(api):
    api.post(who="sup1", kind="bonus", criterion="safety", item="S1", points=2)
    over = api.post(who="sup1", kind="bonus", criterion="safety", item=None, points=2)  # cap 3, over two items
    (warning,) = over["warnings"]
    assert "上限 3 分" in warning and "累计 4 分" in warning
    assert api.rows()["LJ-01"]["criteria"]["safety"] == 28


def test_a_batch_warns_entry_by_entry_in_the_order_posted(api):
    general_cap(api, "2")
    entries = [api.entry(criterion="quality", item="Q2", points=6),
               api.entry(criterion="quality", item="Q2", points=6),  # 12 on an item of 10
               api.entry(criterion="quality", item="Q1", points=1),
               commendation(api, points=2),
               commendation(api, points=0.5),  # 2.5 over a cap of 2
               api.entry(kind="bonus", criterion="schedule", item=None, points=3),  # cap 2
               commendation(api, points=1, section="LJ-02"),  # not sup1's
               api.entry(criterion="quality", item="Q2", points=1, section="LJ-02")]
    response = api.client.post(api.world.url("/entries"), json={"entries": entries}, headers=api.world.headers())
    results = api.answer(response)["results"]
    assert [r["status"] for r in results] == ["created"] * 8
    warned = [i for i, r in enumerate(results) if "warnings" in r]
    assert warned == [1, 4, 5], results
    assert all(len(results[i]["warnings"]) == 1 for i in warned)
    again = api.answer(api.client.post(api.world.url("/entries"), json={"entries": entries},
                                       headers=api.world.headers()))["results"]
    assert [r["status"] for r in again] == ["duplicate"] * 8 and not any("warnings" in r for r in again)
    # a resend with the criterion now named is other content
    changed = dict(entries[3], criterion="quality")
    (conflict,) = api.answer(api.client.post(api.world.url("/entries"), json={"entries": [changed]},
                                             headers=api.world.headers()))["results"]
    assert conflict["status"] == "conflict"
    rows = api.rows()
    assert rows["LJ-01"]["total"] == 100 - 10 - 1 + 2 + 2 and rows["LJ-01"]["bonus"] == 4
    assert rows["LJ-02"]["total"] == 100


def test_a_correction_may_turn_a_bonus_into_a_commendation(api):
    general_cap(api, "2")
    original = api.post(who="sup1", kind="bonus", criterion="quality", item=None, points=1)
    replacement = commendation(api, points=3)
    answer = api.answer(api.client.post(f"/api/v1/entries/{original['id']}/correct",
                                        json={"reason": "应计为上级表彰", "entry": replacement},
                                        headers=api.world.headers("sup1")), 201)
    assert answer["criterion"] is None and answer["corrects"] == original["id"]
    assert len(answer["warnings"]) == 1
    row = api.rows()["LJ-01"]
    assert row["total"] == 102 and row["bonus"] == 2 and row["criteria"]["quality"] == 25
    listed = api.get("/entries?section=LJ-01").get_json()
    assert all("warnings" not in e for e in listed)


def test_a_late_commendation_counts_after_a_reopen(api, months):
    general_cap(api, "2")
    api.post(month=months.last)
    api.close(months.last)
    late = api.post(commendation(api, points=1.5, observed_at=months.observed_at(months.last)))
    assert late["status"] == "late" and "warnings" not in late
    assert api.rows(months.last)["LJ-01"]["bonus"] == 0
    api.reopen(months.last)
    assert api.rows(months.last)["LJ-01"]["bonus"] == 1.5
    with api.app.app_context():
        assert tallies.stored(api.world.cid) == tallies.recomputed(api.world.cid)
        tallies.rebuild(api.world.cid)
        db.session.commit()
    assert api.rows(months.last)["LJ-01"]["total"] == 100.5
