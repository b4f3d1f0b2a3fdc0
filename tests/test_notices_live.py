"""Rectification notices against real processes (CONTRACT.md §7): numbers handed out by 8 clients posting at
once through a real gunicorn have no gap and no duplicate; two real scheduler processes post an overdue
notice's penalty exactly once. On SQLite, and on PostgreSQL with TEST_DATABASE_URL."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import requests
from conftest import SHANGHAI, LiveServer
from sqlalchemy import select
from test_scheduler import start_scheduler

from scoring.clock import utcnow
from scoring.competitions.models import Competition
from scoring.competitions.operations import bump_revision
from scoring.entries.models import Entry
from scoring.extensions import db
from scoring.notices.models import Notice, NoticeStep

CLIENTS, EACH = 8, 6


def test_numbers_without_gaps_or_duplicates_under_8_concurrent_clients(app, api, database_url, months):
    server = LiveServer(database_url, workers=4).start()
    barrier = threading.Barrier(CLIENTS)
    answers: list[list] = [[] for _ in range(CLIENTS)]

    def client(i: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {api.world.tokens['sup1']}"
        barrier.wait(timeout=30)
        for n in range(EACH):
            if n % 3 == 2:  # a batch of two, one of them with a deadline
                body = {"entries": [api.entry(rectify_by=api.due()), api.entry()]}
            else:
                body = api.entry(rectify_by=api.due())
            answers[i].append(session.post(server.url + api.world.url("/entries"), json=body, timeout=120))

    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        server.stop()
    statuses = Counter(r.status_code for rs in answers for r in rs)
    assert statuses == {201: CLIENTS * EACH * 2 // 3, 200: CLIENTS * EACH // 3}, statuses
    with app.app_context():
        numbers = db.session.scalars(select(Notice.number)).all()
    key = months.this.replace("-", "")
    assert sorted(numbers) == [f"ZG-{key}-{n:04d}" for n in range(1, CLIENTS * EACH + 1)]


def test_two_schedulers_post_an_overdue_penalty_once(app, api, database_url, tmp_path):
    """The deadline lies behind the real clock (other processes cannot be moved by time-machine): yesterday's
    finding with yesterday as its deadline; two scheduler processes at once."""
    with app.app_context():  # as if set at creation
        db.session.get(Competition, api.world.cid).overdue_penalty = 3
        bump_revision(api.world.cid)
        db.session.commit()
    yesterday = utcnow().astimezone(SHANGHAI).date() - timedelta(days=1)
    found = datetime.combine(yesterday, datetime.min.time().replace(hour=10), SHANGHAI).isoformat()
    overdue = api.notice(rectify_by=yesterday.isoformat(), observed_at=found, item="S2")
    api.notice()  # not due yet
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    processes = [start_scheduler(database_url, log) for log in logs]
    try:
        with app.app_context():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                done = db.session.scalar(select(Notice.overdue_at).where(Notice.id == overdue["id"]))
                db.session.rollback()
                if done or any(p.poll() is not None for p in processes):
                    break
                time.sleep(0.5)
            time.sleep(3)  # more rounds of the job in both processes
            assert all(p.poll() is None for p in processes), [log.read_text()[-2000:] for log in logs]
            fines = db.session.execute(select(Entry.id, Entry.client_id, Entry.points, Entry.item)
                                       .where(Entry.client_id.like("overdue:%"))).all()
            assert [tuple(f)[1:] for f in fines] == [(f"overdue:{overdue['number']}", 3, "S2")]
            steps = db.session.scalars(select(NoticeStep.action).where(NoticeStep.action == "overdue")).all()
            assert steps == ["overdue"]
            db.session.rollback()
    finally:
        for p in processes:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
        for p in processes:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    shown = api.show(overdue["id"])
    assert shown["overdue"] and shown["penalty_entry"] == fines[0].id
    assert [n["id"] for n in api.get("/notices?overdue=true").get_json()] == [overdue["id"]]
