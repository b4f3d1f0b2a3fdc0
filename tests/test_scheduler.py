"""The scheduled jobs, called with an explicit `now`, and two real scheduler processes racing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import ROOT
from sqlalchemy import func, select, text

from scoring.audit.models import AuditEvent
from scoring.clock import utcnow
from scoring.competitions.models import Competition
from scoring.competitions.operations import get_competition
from scoring.extensions import db
from scoring.periods.models import Period, PeriodEvent, Snapshot
from scoring.scheduler.jobs import check_consistency, close_due_periods, run_job, take_daily_snapshots
from scoring.scheduler.models import Heartbeat, JobClaim
from scoring.standings.models import DailyStanding
from scoring.standings.operations import board_rows

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The jobs are called with an explicit `now` in November 2025; the service's clock is set there too.
NOVEMBER = pytest.mark.time_machine("2025-11-27T10:00:00+08:00")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@NOVEMBER
def test_auto_close_only_after_the_deadline_and_never_after_a_reopen(client, world, app, api):
    api.post(month="2025-10", section="LJ-02", who="sup2", points=1)
    api.post(month="2025-11", section="LJ-01", points=1)
    with app.app_context():
        assert close_due_periods(at(2025, 11, 3, 0, 29, 59)) == []  # the default: the 3rd at 00:30
        db.session.commit()
    assert api.board("2025-10")["status"] == "open"
    with app.app_context():
        assert close_due_periods(at(2025, 11, 3, 0, 30)) == [f"{world.cid}:2025-10"]
        db.session.commit()
        assert close_due_periods(at(2025, 11, 3, 0, 31)) == []
        db.session.commit()
        event = db.session.scalar(select(PeriodEvent))
        assert event.action == "close" and event.actor_id is None
        actors = db.session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "period.closed")).all()
        assert actors == ["scheduler"]
    october = api.board("2025-10")
    assert october["status"] == "closed" and october["flag"]["section"] == "LJ-02"
    assert api.board("2025-11")["status"] == "open"  # the running month stays open

    api.reopen("2025-10", reason="补录")
    with app.app_context():
        assert close_due_periods(at(2025, 11, 27, 12, 0)) == []
        db.session.commit()
    assert api.board("2025-10")["status"] == "open"  # the admin closes it again, not the scheduler
    api.close("2025-10")


@pytest.mark.time_machine("2025-11-03T00:29:00+08:00")
def test_the_jobs_read_the_services_clock(client, world, app, api, clock):
    """Run as the scheduler runs them, with no `now` given: the deadline is checked against scoring.clock."""
    api.post(month="2025-10", points=1)
    with app.app_context():
        assert run_job("close") == []
    clock.move_to("2025-11-03T00:30:00+08:00")
    with app.app_context():
        assert run_job("close") == [f"{world.cid}:2025-10"]
    assert api.board("2025-10")["status"] == "closed"


@NOVEMBER
@pytest.mark.tampers_with_board_tables
def test_auto_close_follows_the_competitions_day_and_time_and_zone(client, world, app, api):
    api.answer(client.patch(world.url(), json={"auto_close": {"day": 5, "time": "18:00"}}, headers=world.headers()))
    api.post(month="2025-10", points=1)
    with app.app_context():
        db.session.execute(Competition.__table__.update().values(timezone="Europe/Berlin"))
        db.session.commit()
        berlin = ZoneInfo("Europe/Berlin")
        assert close_due_periods(datetime(2025, 11, 5, 17, 59, tzinfo=berlin)) == []
        assert close_due_periods(datetime(2025, 11, 5, 18, 0, tzinfo=berlin)) == [f"{world.cid}:2025-10"]
        db.session.commit()


@NOVEMBER
@pytest.mark.tampers_with_board_tables
def test_a_month_without_entries_is_not_closed(client, world, app, api):
    """Nothing to freeze, nothing to mail (CONTRACT.md §3: such a close is refused); an entry arriving later
    is counted, and the month then closes at the next round."""
    with app.app_context():
        db.session.execute(Competition.__table__.update().values(created_at=at(2025, 9, 20, 8, 0)))
        db.session.commit()
        assert close_due_periods(at(2025, 11, 3, 1, 0)) == []
        db.session.commit()
    assert all(p["status"] == "open" for p in client.get(world.url("/periods"), headers=world.headers()).get_json())
    assert api.post(month="2025-10", points=1)["status"] == "counted"
    with app.app_context():
        assert close_due_periods(at(2025, 11, 3, 1, 1)) == [f"{world.cid}:2025-10"]
        db.session.commit()


@NOVEMBER
def test_a_competition_closed_by_hand_is_never_auto_closed(client, world, app, api):
    api.post(month="2025-10", points=1)
    body = api.answer(client.patch(world.url(), json={"auto_close": None}, headers=world.headers()))
    assert body["auto_close"] is None
    with app.app_context():
        assert close_due_periods(at(2025, 11, 28, 12, 0)) == []
        db.session.commit()
    assert api.board("2025-10")["status"] == "open"
    (change,) = api.audit("?action=competition.updated")
    assert change["detail"] == {
        "before": {"auto_close": {"day": 3, "time": "00:30"}, "report_approval": False, "quarter_reports": False,
                   "archived": False},
        "after": {"auto_close": None, "report_approval": False, "quarter_reports": False, "archived": False}}


@NOVEMBER
def test_daily_snapshot_once_per_day_after_its_time(client, world, app, api):
    api.post(section="LJ-01", points=1)
    with app.app_context():
        assert take_daily_snapshots(at(2025, 11, 26, 23, 49)) == []  # SNAPSHOT_TIME defaults to 23:50
        first = take_daily_snapshots(at(2025, 11, 26, 23, 51))
        db.session.commit()
        assert first == [f"{world.cid}:2025-11-26:6"]  # 3 sections + 3 teams of the running month
        assert take_daily_snapshots(at(2025, 11, 26, 23, 59)) == []
        db.session.commit()
        assert count(DailyStanding) == 6
    history = client.get(world.url("/leaderboard/history?from=2025-11-26&to=2025-11-26"),
                         headers=world.headers("wall")).get_json()
    lj01 = next(s for s in history["subjects"] if s["code"] == "LJ-01")
    assert lj01["history"] == [{"day": "2025-11-26", "period": "2025-11", "total": 99, "rank": 1}]


@NOVEMBER
@pytest.mark.tampers_with_board_tables
def test_consistency_check_repairs_drift_and_records_it(client, world, app, api):
    api.post(section="LJ-01", team="TJD-1", points=1)
    api.post(who="sup2", section="LJ-02", points=2)
    right = {kind: api.rows(kind=kind) for kind in ("sections", "teams")}
    with app.app_context():
        assert check_consistency(at(2025, 11, 27, 2, 59)) is None  # CHECK_TIME defaults to 03:00
        db.session.execute(text("UPDATE subject_tallies SET deductions = deductions + 700 WHERE board = 'sections'"))
        db.session.execute(text("DELETE FROM subject_tallies WHERE board = 'teams'"))
        db.session.commit()
        competition = get_competition(world.cid)
        assert board_rows(competition, "sections", "2025-11")[0].total != 99  # the drift shows
        assert board_rows(competition, "teams", "2025-11")[0].assessed is False
        drifted = check_consistency(at(2025, 11, 27, 3, 1))
        db.session.commit()
        assert drifted == 3  # two section rows, one team row
        result = db.session.scalar(select(JobClaim.result).where(JobClaim.job == "check"))
        assert result == "3 aggregate rows drifted and were rebuilt"
        assert check_consistency(at(2025, 11, 27, 4, 0)) is None  # once a day
        db.session.commit()
    for kind in ("sections", "teams"):
        assert api.rows(kind=kind) == right[kind]


@NOVEMBER
def test_consistency_check_without_drift(client, world, app, api):
    api.post(points=1)
    with app.app_context():
        assert check_consistency(at(2025, 11, 27, 3, 1)) == 0
        db.session.commit()
        assert db.session.scalar(select(JobClaim.result).where(JobClaim.job == "check")) == "no drift"


def test_heartbeat_shows_in_healthz(client, app, clock):
    health = client.get("/healthz")
    assert health.status_code == 200  # the API itself is fine: still 200
    assert health.get_json() == {"status": "degraded", "database": "ok",
                                 "scheduler": {"last_heartbeat": None, "status": "never"}}
    with app.app_context():
        run_job("heartbeat")
    health = client.get("/healthz").get_json()
    beat = health["scheduler"]["last_heartbeat"]
    assert beat is not None and datetime.fromisoformat(beat).tzinfo is not None
    assert health["status"] == "ok" and health["scheduler"]["status"] == "ok"

    interval = app.config["SCHEDULER_INTERVAL"]
    clock.move_to(datetime.fromisoformat(beat) + timedelta(seconds=3 * interval - 1))
    assert client.get("/healthz").get_json()["status"] == "ok"  # late, but within three intervals
    clock.move_to(datetime.fromisoformat(beat) + timedelta(seconds=3 * interval + 5))
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded" and health.get_json()["scheduler"]["status"] == "stale"
    assert health.get_json()["scheduler"]["last_heartbeat"] == beat
    with app.app_context():
        run_job("heartbeat")  # the scheduler is back
    assert client.get("/healthz").get_json()["status"] == "ok"


def start_scheduler(database_url: str, log: Path, **settings: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "SCHEDULER_ENABLED": "1", "SCHEDULER_INTERVAL": "1",
           "SNAPSHOT_TIME": "00:00", "CHECK_TIME": "00:00", "LOG_LEVEL": "INFO", **settings}
    with log.open("wb") as out:
        return subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "scheduler"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_schedulers(processes: list[subprocess.Popen]) -> list[int]:
    """SIGTERM each process (SIGKILL its group if it does not stop in 15 s); their exit statuses."""
    for p in processes:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
    codes = []
    for p in processes:
        try:
            codes.append(p.wait(15))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            codes.append(p.wait())
    return codes


def test_two_scheduler_processes_run_each_job_once(client, world, app, database_url, tmp_path, api, months):
    """A month due for closing (the month before last: its deadline, the 3rd of last month, has passed), two
    processes at once, on the real clock (time-machine does not reach other processes)."""
    api.post(month=months.ago(2), section="LJ-03", who="sup2", points=1)
    api.post(month=months.this, section="LJ-01", points=1)
    logs = [tmp_path / "scheduler-a.log", tmp_path / "scheduler-b.log"]
    processes = [start_scheduler(database_url, log) for log in logs]
    try:
        with app.app_context():
            due = db.session.scalar(select(Period.id).where(Period.key == months.ago(2)))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                done = (count(PeriodEvent, PeriodEvent.period_id == due) >= 1
                        and count(JobClaim, JobClaim.job == "snapshot") >= 1
                        and count(JobClaim, JobClaim.job == "check") >= 1
                        and count(Heartbeat) >= 2)
                db.session.rollback()  # let go of the snapshot (and, on SQLite, the lock)
                if done or any(p.poll() is not None for p in processes):
                    break
                time.sleep(0.5)
            time.sleep(3)  # a few more rounds of every job in both processes
            assert all(p.poll() is None for p in processes), [log.read_text()[-2000:] for log in logs]

            assert count(PeriodEvent, PeriodEvent.period_id == due, PeriodEvent.action == "close") == 1
            assert count(Snapshot, Snapshot.period_id == due) == 2  # sections and teams, once
            assert count(JobClaim, JobClaim.job == "close") == 1
            assert count(AuditEvent, AuditEvent.action == "period.closed") == 1
            assert count(JobClaim, JobClaim.job == "check") == 1
            (snapshot_key,) = db.session.scalars(select(JobClaim.key).where(JobClaim.job == "snapshot")).all()
            today = utcnow().astimezone(SHANGHAI).date()
            assert snapshot_key == f"{world.cid}:{today.isoformat()}"
            periods = set(db.session.scalars(select(DailyStanding.period).where(DailyStanding.day == today)))
            assert months.this in periods
            assert count(DailyStanding, DailyStanding.day == today) == 6 * len(periods)  # one set, no duplicates
            beats = db.session.scalars(select(Heartbeat.process)).all()
            assert sorted(int(b.rsplit(":", 1)[1]) for b in beats) == sorted(p.pid for p in processes)
            db.session.rollback()
    finally:
        codes = stop_schedulers(processes)
    # SIGTERM stops each process cleanly: exit status 0, and it says so.
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    for log in logs:
        assert "stopping the scheduler" in log.read_text()
    assert api.board(months.ago(2))["status"] == "closed"
    assert client.get("/healthz").get_json()["scheduler"]["last_heartbeat"] is not None
