"""`flask backup FILE` / `flask restore FILE`: a restore into an empty database gives back the same
leaderboards, entries and audit history, and a restore into a database holding data is refused."""
from __future__ import annotations

import json
import os

import pytest
from conftest import ROOT, _postgres_url
from flask_migrate import upgrade

from scoring import create_app
from scoring.extensions import db
from scoring.standings import operations as standings_operations


def build_history(api) -> None:
    """A closed month (the month before last) with a late entry and a void, an open month (last month) with a
    veto and a revoked veto."""
    months, closed, open_ = api.months, api.months.ago(2), api.months.last
    for day, (who, section, team, item, points) in enumerate([
        ("sup1", "LJ-01", "TJD-1", "S1", 1.5), ("sup2", "LJ-02", None, "S2", 0.25),
        ("sup2", "LJ-03", "TJD-3", "S1", 3), ("sup1", "LJ-01", None, "S2", 0.05),
    ], 1):
        api.post(who=who, section=section, team=team, item=item, points=points, observed_at=months.at(closed, day, 9))
    api.post(who="sup2", section="LJ-02", team="TJD-2", criterion="quality", item=None, kind="bonus", points=2,
             observed_at=months.at(closed, 9, 9), note="<b>样板</b> '; DROP TABLE entries; --")
    api.close(closed)
    late = api.post(who="sup1", section="LJ-01", item="S1", points=4, observed_at=months.at(closed, 28, 9))
    assert late["status"] == "late"
    first = api.post(who="sup1", section="LJ-01", team="TJD-1", item="Q1", criterion="quality", points=2,
                     observed_at=months.at(open_, 3))
    api.post(who="sup2", section="LJ-02", item="E1", criterion="environment", points=1.1,
             observed_at=months.at(open_, 4))
    api.post(who="sup2", section="LJ-03", item="P1", criterion="schedule", points=0.3,
             observed_at=months.at(open_, 5))
    api.void(first["id"], who="sup1", reason="录错了标段")
    api.veto("LJ-03", period=open_, reason="发生安全事故")
    lifted = api.veto("LJ-02", period=open_, reason="误报")
    api.revoke(lifted["id"], reason="核实无事故")


def observe(client, world, months) -> dict:
    """What users see: every board, the entries, the vetoes, the periods and the audit trail."""
    standings_operations._cache.clear()  # boards must come from this database, not from memory
    seen = {}
    for board in ("sections", "teams"):
        for period in (months.ago(2), months.last, months.last[:4]):
            r = client.get(world.url(f"/leaderboard?board={board}&period={period}"), headers=world.headers("viewer"))
            body = r.get_json()
            body.pop("generated_at")
            seen[f"board {board} {period}"] = body
            seen[f"etag {board} {period}"] = r.headers["ETag"]
    for path in ("/entries?per_page=500", "/entries?status=late", "/vetoes", "/periods",
                 "/audit?per_page=500", "/sections", "/teams", ""):
        r = client.get(world.url(path), headers=world.headers())
        assert r.status_code == 200, (path, r.get_json())
        seen[path] = r.get_json()
    seen["users"] = client.get("/api/v1/users", headers=world.headers()).get_json()
    return seen


@pytest.fixture
def second_database(database_url, tmp_path):
    """An empty database of the same schema: a second SQLite file, or a second PostgreSQL database."""
    if database_url.startswith("postgresql"):
        base, _, name = database_url.rpartition("/")
        url = _postgres_url(f"{base}/{name}_restore")
    else:
        url = f"sqlite:///{tmp_path / 'restored.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_restore_gives_back_the_same_boards_entries_and_audit(client, runner, world, api, months, second_database,
                                                               tmp_path):
    build_history(api)
    before = observe(client, world, months)
    assert before[f"board sections {months.ago(2)}"]["status"] == "closed"
    assert len(before["/audit?per_page=500"]) > 20

    path = tmp_path / "scoring.backup.jsonl"
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert "entries: 9 rows" in result.stderr  # progress goes to stderr
    lines = path.read_text(encoding="utf-8").splitlines()
    header, end = json.loads(lines[0]), json.loads(lines[-1])
    assert header["format"] == "wubiwusai-backup" and header["version"] == 1 and end["end"] is True
    assert end["rows"]["entries"] == 9 and end["rows"]["audit_events"] > 20
    assert '"0.05"' in path.read_text(encoding="utf-8")  # points as exact decimal text

    restored = second_database.test_cli_runner().invoke(args=["restore", str(path)])
    assert restored.exit_code == 0, restored.output
    after = observe(second_database.test_client(), world, months)
    etags = [key for key in before if key.startswith("etag ")]
    assert {k: v for k, v in after.items() if k not in etags} == {k: v for k, v in before.items() if k not in etags}
    # The same boards under new ETags: what the original served after the backup is never "not modified".
    assert all(after[key] != before[key] for key in etags)

    # The restored database goes on: new ids follow the restored ones (sequences reset on PostgreSQL).
    fresh = second_database.test_client().post(world.url("/entries"), json=api.entry(), headers=world.headers("sup1"))
    assert fresh.status_code == 201, fresh.get_json()
    assert fresh.get_json()["id"] > max(e["id"] for e in before["/entries?per_page=500"])


def test_restore_refuses_a_database_that_holds_data(app, runner, world, tmp_path):
    path = tmp_path / "backup.jsonl"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    result = runner.invoke(args=["restore", str(path)])
    assert result.exit_code != 0
    assert "refusing to restore into a database that holds data" in result.output
    with app.app_context():
        from scoring.auth.models import User

        assert db.session.query(User).count() == len(world.tokens)  # nothing doubled, nothing lost


def test_restore_refuses_a_truncated_file_and_changes_nothing(runner, api, second_database, tmp_path):
    api.post(who="sup1")
    path = tmp_path / "backup.jsonl"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[: len(lines) // 2]) + "\n", encoding="utf-8")
    result = second_database.test_cli_runner().invoke(args=["restore", str(path)])
    assert result.exit_code != 0 and "truncated" in result.output
    with second_database.app_context():  # all or nothing: the half that was read is rolled back
        from scoring.competitions.models import Competition

        assert db.session.query(Competition).count() == 0


def test_backup_runs_as_a_command(app, world, database_url, tmp_path):
    """The real CLI, as an operator types it: `flask --app wsgi backup FILE`."""
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "cli.jsonl"
    env = {**os.environ, "DATABASE_URL": database_url}
    flask = str(Path(sys.executable).parent / "flask")
    done = subprocess.run([flask, "--app", "wsgi", "backup", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"users: {len(world.tokens)} rows" in done.stderr and "backup written" in done.stderr
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[-1])["rows"]["users"] == len(world.tokens)


def test_restore_carries_the_photos(client, runner, world, api, second_database, tmp_path):
    """Photos kept in the database (the default store) are in the backup, and come back byte for byte."""
    import photo_support

    def send(target, seed):
        data = photo_support.photo(1200, 900, seed=seed, lat=(36.0, 27.0, 0.0), lon=(115.0, 58.0, 0.0))
        return target.post(world.url("/photos"), data=data,
                           headers={**world.headers("sup1"), "Content-Type": "image/jpeg"})

    ids = [send(client, seed).get_json()["id"] for seed in (1, 2)]
    api.post(who="sup1", chainage="K7+300", photos=ids)
    files = {(i, size): client.get(f"/api/v1/photos/{i}?size={size}", headers=world.headers("viewer")).data
             for i in ids for size in ("full", "thumb")}

    path = tmp_path / "with-photos.jsonl"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    restored = second_database.test_cli_runner().invoke(args=["restore", str(path)])
    assert restored.exit_code == 0, restored.output
    again = second_database.test_client()
    for (photo_id, size), data in files.items():
        r = again.get(f"/api/v1/photos/{photo_id}?size={size}", headers=world.headers("viewer"))
        assert r.status_code == 200 and r.data == data
    shown = again.get(world.url("/entries"), headers=world.headers("viewer")).get_json()
    assert [(e["chainage"], e["photos"]) for e in shown] == [("K7+300", ids)]
    # The same photo sent again after the restore is recognised: stored once, answered 200.
    resent = send(again, 1)
    assert resent.status_code == 200 and resent.get_json()["location"] is not None
