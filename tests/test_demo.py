"""`flask --app wsgi demo`: the ring-road competition of the seed article, ready to read."""
import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from scoring.competitions.models import Competition, Section, Team
from scoring.entries.models import Entry
from scoring.extensions import db
from scoring.periods.models import Period
from scoring.vetoes.models import Veto


def signed_in(login, username, password) -> dict:
    r = login(username, password)
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_demo_holds_the_articles_competition(app, runner, login, months):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "wall display" in result.output and "/wall/1?token=" in result.output
    assert "tablet app     http://127.0.0.1:" in result.output and "/app/   (log in as jianli-a)" in result.output
    with app.app_context():
        competition = db.session.scalar(select(Competition))
        assert competition.organizer == "聊城市公路事业发展中心"
        assert [c.name for c in competition.criteria] == [
            "比工艺工法、赛工程质量", "比平安稳定、赛安全生产", "比节点管控、赛工程进度",
            "比措施达标、赛工地环保", "比协同高效、赛精细管理"]
        sections = db.session.scalars(select(Section).order_by(Section.start_km)).all()
        assert len(sections) >= 8
        assert sections[0].start_km == 0 and sections[-1].end_km == Decimal("121")
        assert all(a.end_km == b.start_km for a, b in zip(sections, sections[1:], strict=False))
        xu = db.session.scalar(select(Team).where(Team.leader == "徐大军"))
        assert xu.section.name.endswith("顾官屯镇段")
        periods = db.session.scalars(select(Entry.period).distinct()).all()
        assert len(periods) == 3
        assert db.session.scalar(select(func.count()).where(Entry.status == "void")) >= 1
        assert db.session.scalar(select(func.count()).where(Entry.status == "late")) >= 1
        assert db.session.scalar(select(func.count()).where(Entry.kind == "bonus")) >= 3
        assert competition.general_bonus_cap == 3
        assert db.session.scalar(select(func.count()).where(Entry.kind == "bonus", Entry.criterion.is_(None))) == 1
        assert db.session.scalar(select(func.count()).select_from(Veto)) >= 1
        closed = db.session.scalars(select(Period).where(Period.status == "closed").order_by(Period.key)).all()
        # The office closes a month on the 3rd of the next: last month is still open on the 1st and 2nd.
        due = [months.ago(2), *([months.last] if months.now.day >= 3 else [])]
        assert [p.key for p in closed] == due and any(p.flag_section_id for p in closed)
    assert "contractor     lj03-shigong / " in result.output
    boards_show_ranks_movement_veto_and_flags(app, login)
    the_first_month_was_corrected(app, login, months)
    notices_in_every_state(app, login)
    recent_findings_carry_photos(app, login)  # the demo's own entries, before the supervisor below adds one
    supervisor_posts_and_voids(app, login, months)


def boards_show_ranks_movement_veto_and_flags(app, login):
    saved = json.loads(Path(app.config["DEMO_CREDENTIALS"]).read_text())
    headers = signed_in(login, "lishurong", saved["passwords"]["lishurong"])
    client = app.test_client()
    board = client.get("/api/v1/competitions/1/leaderboard?board=sections", headers=headers).get_json()
    rows = board["rows"]
    assert rows[0]["rank"] == 1
    assert any(r["movement"] not in (None, 0) for r in rows)
    vetoed = [r for r in rows if r["vetoed"]]
    assert vetoed and vetoed[0]["rank"] is None and vetoed[0]["total"] == 0 and "事故" in vetoed[0]["veto_reason"]
    assert sum(r["flags"] for r in rows) >= 1 and board["flag"] is not None


def the_first_month_was_corrected(app, login, months):
    """The first month went through close → a late entry → reopen (with its reason) → close again: edition 2, and
    its 【更正】 report with the reason, queued for every recipient."""
    from scoring.demo import LATE_FINDING, REOPEN_REASON

    saved = json.loads(Path(app.config["DEMO_CREDENTIALS"]).read_text())
    headers = signed_in(login, "jingsaiban", saved["passwords"]["jingsaiban"])
    client, first = app.test_client(), months.ago(2)
    periods = {p["key"]: p for p in client.get("/api/v1/competitions/1/periods", headers=headers).get_json()}
    assert (periods[first]["status"], periods[first]["edition"]) == ("closed", 2)
    assert periods[first]["late_entries"] == 1  # the tablet that stayed offline longer still waits
    report = client.get(f"/api/v1/competitions/1/reports/{first}?format=text", headers=headers).get_data(as_text=True)
    assert report.startswith("【更正】") and "（第2版）" in report.splitlines()[0]
    assert REOPEN_REASON in report and "与上一版相比" in report
    entries = client.get(f"/api/v1/competitions/1/entries?period={first}&per_page=500", headers=headers).get_json()
    assert [e["status"] for e in entries if e["note"] == LATE_FINDING] == ["counted"]
    deliveries = client.get(f"/api/v1/competitions/1/reports/{first}/deliveries", headers=headers).get_json()
    corrections = [d for d in deliveries if d["edition"] == 2]
    assert sorted(d["email"] for d in corrections) == ["jingsaiban@example.org", "lj03-pm@example.org"]
    assert all(d["status"] == "queued" for d in corrections)
    reopened = client.get("/api/v1/competitions/1/audit?action=period.reopened", headers=headers).get_json()
    assert [(a["reason"], a["detail"]["late_entries_counted"]) for a in reopened] == [(REOPEN_REASON, 1)]


def test_demo_if_empty_leaves_a_loaded_database_alone(app, runner, world):
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0 and "not loaded" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Competition)) == 1


def supervisor_posts_and_voids(app, login, months):
    """A supervisor posts in the running month (open in the demo) and voids it."""
    saved = json.loads(Path(app.config["DEMO_CREDENTIALS"]).read_text())
    headers = signed_in(login, "jianli-a", saved["passwords"]["jianli-a"])
    client = app.test_client()
    body = {"client_id": "demo-test-1", "section": "LJ-03", "team": "TJD-03", "criterion": "environment",
            "item": "E1", "kind": "deduction", "points": 0.5, "observed_at": months.observed_at(),
            "note": "裸土未覆盖"}
    r = client.post("/api/v1/competitions/1/entries", json=body, headers=headers)
    assert r.status_code == 201
    r = client.post(f"/api/v1/entries/{r.get_json()['id']}/void", json={"reason": "误录"}, headers=headers)
    assert r.status_code == 200 and r.get_json()["status"] == "void"
    r = client.post("/api/v1/competitions/1/entries", json={**body, "client_id": "x2", "section": "LJ-05",
                                                             "team": None}, headers=headers)
    assert r.status_code == 403


def recent_findings_carry_photos(app, login):
    """Every entry names its stake within its section; the recent findings show a photo of the sign."""
    saved = json.loads(Path(app.config["DEMO_CREDENTIALS"]).read_text())
    headers = signed_in(login, "lishurong", saved["passwords"]["lishurong"])
    client = app.test_client()
    entries, page = [], 1
    while page == 1 or len(entries) == 500 * (page - 1):  # every page: the season holds more than 500 entries
        entries += client.get(f"/api/v1/competitions/1/entries?per_page=500&page={page}", headers=headers).get_json()
        page += 1
    sections = {s["code"]: s for s in client.get("/api/v1/competitions/1/sections", headers=headers).get_json()}
    for e in entries:
        if e["chainage"]:
            km = int(e["chainage"][1:].split("+")[0]) + int(e["chainage"].split("+")[1]) / 1000
            assert sections[e["section"]]["start_km"] <= km <= sections[e["section"]]["end_km"], e
    # Not the scheduler's penalties, nor a commendation from above (a general bonus): neither is found at a stake.
    at_a_stake = [e for e in entries if not e["client_id"].startswith("overdue:") and e["criterion"]]
    assert sum(1 for e in at_a_stake if e["chainage"]) >= len(at_a_stake) - 1  # all but the late tablet's
    with_photos = [e for e in entries if e["photos"]]
    assert len(with_photos) >= 10 and all(e["kind"] == "deduction" and e["points"] > 0 for e in with_photos)
    e = with_photos[-1]
    r = client.get(f"/api/v1/photos/{e['photos'][0]}?size=thumb", headers=headers)
    assert r.status_code == 200 and r.mimetype == "image/jpeg"


def notices_in_every_state(app, login):
    """The contractor of 顾官屯镇段 (LJ-03) logs in and finds its notices: open, answered, rejected, closed, and one
    overdue with its penalty; the office also sees the one a void cancelled."""
    saved = json.loads(Path(app.config["DEMO_CREDENTIALS"]).read_text())
    client = app.test_client()
    headers = signed_in(login, "lj03-shigong", saved["passwords"]["lj03-shigong"])
    mine = client.get("/api/v1/competitions/1/notices", headers=headers).get_json()
    assert {n["section"] for n in mine} == {"LJ-03"}
    assert {n["status"] for n in mine} == {"open", "responded", "closed"}
    assert any("rejected" in [s["action"] for s in n["steps"]] for n in mine)
    (late,) = [n for n in mine if n["overdue"]]
    shown = client.get(f"/api/v1/notices/{late['id']}", headers=headers).get_json()
    assert shown["penalty_entry"] and shown["steps"][-1]["action"] == "overdue"
    office = signed_in(login, "jingsaiban", saved["passwords"]["jingsaiban"])
    everything = client.get("/api/v1/competitions/1/notices?status=cancelled", headers=office).get_json()
    assert len(everything) == 1
    assert client.get("/api/v1/competitions/1", headers=office).get_json()["overdue_penalty"] == 1
