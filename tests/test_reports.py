"""The monthly report (GET …/reports/{period}, `flask reports preview`): content, scope, roles."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from reports_support import (
    NOTE_LJ01,
    NOTE_LJ02,
    NOTE_LJ02_BONUS,
    VETO_REASON,
    board_matches,
    seed_months,
    sheet_rows,
    title,
    workbook,
)

CODES = ["quality", "safety", "schedule", "environment", "management"]


def fmt(value) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def test_html_report_shows_the_closed_month(client, world, app, api):
    month = seed_months(api, app)
    api.close(month)
    r = client.get(world.url(f"/reports/{month}"), headers=world.headers("viewer"))
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert title(month) in html
    assert "<script" not in html.lower() and "<style" not in html.lower()  # mail clients: inline styles only
    for name in ("比工艺工法", "比平安稳定", "比节点管控", "比措施达标", "比协同高效", "标段排名", "党员突击队排名"):
        assert name in html
    assert "本月流动红旗授予" in html and "LJ-02 二标段" in html
    assert "↑2" in html and "↓1" in html  # LJ-02 from 3rd to 1st, LJ-01 from 1st to 2nd
    assert VETO_REASON in html
    assert NOTE_LJ01 in html  # the largest deduction of the month
    assert html.count("width:8px;height:") == 3 * 3  # trend: three sections, three daily snapshots
    assert "本月全部扣分与加分" not in html  # only section-scoped recipients get the full list


def test_text_report_has_the_leaderboard_numbers(client, world, app, api):
    month = seed_months(api, app)
    api.close(month)
    r = client.get(world.url(f"/reports/{month}?format=text"), headers=world.headers())
    assert r.status_code == 200 and r.mimetype == "text/plain"
    text = r.get_data(as_text=True)
    sections, teams = api.board(month, who="admin"), api.board(month, "teams", who="admin")
    for row in sections["rows"] + teams["rows"]:
        shown = "0" if row["vetoed"] else (fmt(row["total"]) if row["assessed"] else "未参评")
        assert f"{row['code']} {row['name']}  总分 {shown}" in text
        if row["assessed"] or row["vetoed"]:
            parts = "，".join(f"{n} {fmt(row['criteria'][c])}" for c, n in zip(
                CODES, ("比工艺工法", "比平安稳定", "比节点管控", "比措施达标", "比协同高效"), strict=True))
            assert parts in text
    assert sections["rows"][0]["code"] == "LJ-02" and sections["rows"][0]["total"] == 101
    assert "累计红旗：LJ-02 1 面；LJ-01 1 面" in text
    assert f"标段 LJ-03 三标段：{VETO_REASON}" in text
    assert f"LJ-01 一标段：{month[5:]}-04 95 → {month[5:]}-20 93" in text  # the trend from the daily snapshots


def test_top_ten_deductions_largest_first(client, world, api, months):
    for i in range(12):
        api.post(section="LJ-02", points=i + 0.25, note=f"问题{i}", who="sup2")
    api.close(months.this)
    text = client.get(world.url(f"/reports/{months.this}?format=text"), headers=world.headers()).get_data(as_text=True)
    block = text.split("【本月扣分最多的 10 项】\n")[1].split("\n\n")[0].split("【")[0]
    points = [float(m) for m in re.findall(r"^-(\S+)", block, re.M)]
    assert points == [11.25, 10.25, 9.25, 8.25, 7.25, 6.25, 5.25, 4.25, 3.25, 2.25]


def test_section_scope_shows_that_section_only(client, world, app, api):
    month = seed_months(api, app)
    api.close(month)
    html = client.get(world.url(f"/reports/{month}?scope=LJ-01"), headers=world.headers()).get_data(as_text=True)
    assert "LJ-01 一标段 本月全部扣分与加分（2 条）" in html
    assert NOTE_LJ01 in html and "节点滞后三天" in html
    assert NOTE_LJ02 not in html and NOTE_LJ02_BONUS not in html and "蜂窝麻面" not in html
    html = client.get(world.url(f"/reports/{month}?scope=LJ-02"), headers=world.headers()).get_data(as_text=True)
    assert NOTE_LJ02 in html and NOTE_LJ02_BONUS in html and NOTE_LJ01 not in html


def test_xlsx_report_holds_the_boards_and_entries(client, world, app, api):
    month = seed_months(api, app)
    api.close(month)
    r = client.get(world.url(f"/reports/{month}?format=xlsx"), headers=world.headers("viewer"))
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    book = workbook(r.data)
    board_matches(sheet_rows(book, "标段排名"), api.board(month, who="admin"), CODES)
    board_matches(sheet_rows(book, "突击队排名"), api.board(month, "teams", who="admin"), CODES)
    entries = sheet_rows(book, "计分明细")[1:]
    assert sorted(row[8] for row in entries) == sorted(
        [NOTE_LJ01, NOTE_LJ02, "混凝土表面蜂窝麻面", "节点滞后三天", NOTE_LJ02_BONUS])


def test_open_month_is_marked_live(client, world, api, months):
    api.post(who="sup1")
    html = client.get(world.url(f"/reports/{months.this}"), headers=world.headers()).get_data(as_text=True)
    assert "尚未结账" in html


def test_who_may_read_and_bad_requests(client, world, months):
    url = world.url(f"/reports/{months.this}")
    assert client.get(url).status_code == 401
    assert client.get(url, headers=world.headers("sup1")).status_code == 403
    assert client.get(url, headers=world.headers("wall")).status_code == 403
    assert client.get(url, headers=world.headers("viewer")).status_code == 200
    for bad, status in (("/reports/2026-13", 404), (f"/reports/{months.next}", 404),
                        (f"/reports/{months.this}?format=pdf", 422), (f"/reports/{months.this}?scope=LJ-99", 422)):
        r = client.get(world.url(bad), headers=world.headers())
        assert r.status_code == status, bad
        assert r.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/competitions/999/reports/{months.this}", headers=world.headers()).status_code == 404


def test_preview_command_writes_the_report(app, runner, api, tmp_path):
    month = seed_months(api, app)
    api.close(month)
    out = tmp_path / "report.html"
    result = runner.invoke(args=["reports", "preview", month, "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert title(month) in html and VETO_REASON in html
    result = runner.invoke(args=["reports", "preview", month, "--out", str(out), "--scope", "LJ-02", "--text"])
    assert result.exit_code == 0, result.output
    assert NOTE_LJ02_BONUS in out.read_text(encoding="utf-8")
    assert runner.invoke(args=["reports", "preview", "11-2026", "--out", str(out)]).exit_code != 0


@pytest.mark.time_machine("2025-12-01T08:05:00+08:00")
def test_a_quarters_report_on_demand_counts_its_closed_months(client, world, api):
    api.post(month="2025-10", section="LJ-01", points=1, note="十月临边防护缺失")
    api.post(month="2025-11", section="LJ-02", points=4, who="sup2", note="十一月扬尘")
    api.close("2025-10")
    api.close("2025-11")
    api.post(section="LJ-03", points=7, who="sup2", note="十二月尚未结账")
    text = api.get("/reports/2025-Q4?format=text", "viewer").get_data(as_text=True)
    assert text.startswith("市大外环五比五赛 2025年第四季度考核通报")
    assert "考核季度：2025-Q4（计入已结账的 2 个月：2025-10、2025-11）" in text
    assert "十一月扬尘" in text and "十二月尚未结账" not in text  # the running month is not official yet
    assert "LJ-01 一标段  总分 99" in text and "LJ-02 二标段  总分 96" in text
    html = api.get("/reports/2025-Q4", "viewer").get_data(as_text=True)
    assert "季度考核通报" in html and "本季度扣分最多" in html
    xlsx = api.get("/reports/2025-Q4?format=xlsx", "viewer")
    assert xlsx.mimetype.endswith("spreadsheetml.sheet")
    for bad, status in (("2026-Q1", 404), ("2025-Q5", 404)):
        api.problem(client.get(world.url(f"/reports/{bad}"), headers=world.headers()), status)


def test_a_section_never_assessed_in_a_snapshotted_month_leaves_the_trend_without_it(client, world, app, api, months):
    """Found by the console's walk-through: a daily snapshot of a month where one section had no entry at all
    (every point of its history null) made the report a 500."""
    from datetime import date

    from scoring.competitions.operations import get_competition
    from scoring.extensions import db
    from scoring.standings.operations import take_daily_snapshot

    api.post(month=months.last, section="LJ-01", points=3)
    with app.app_context():
        take_daily_snapshot(get_competition(world.cid), date(int(months.last[:4]), int(months.last[5:]), 20))
        db.session.commit()
    api.close(months.last)
    for fmt_ in ("html", "text"):
        r = client.get(world.url(f"/reports/{months.last}?format={fmt_}"), headers=world.headers("viewer"))
        assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert "LJ-01 一标段" in r.get_data(as_text=True)
