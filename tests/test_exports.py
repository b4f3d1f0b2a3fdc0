"""Exports: entries and standings as CSV (UTF-8 with BOM) and XLSX, equal to the leaderboard."""
from __future__ import annotations

import csv
import io

from reports_support import (
    NOTE_LJ01,
    NOTE_LJ02_BONUS,
    VETO_REASON,
    as_number,
    board_matches,
    seed_months,
    sheet_rows,
    workbook,
)

CODES = ["quality", "safety", "schedule", "environment", "management"]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads the file as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_standings_exports_equal_the_leaderboard(app, api, months):
    month = seed_months(api, app)
    api.post(section="LJ-02", points=0.1, observed_at=months.at(month, 20, 9), who="sup2")  # decimals stay exact
    api.close(month)
    quarter = f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"
    for period in (months.ago(2), month, month[:4], quarter, quarter + "&provisional=true"):
        for board in ("sections", "teams"):
            want = api.get(f"/leaderboard?board={board}&period={period}").get_json()
            r = api.get(f"/exports/standings.csv?board={board}&period={period}", "viewer")
            assert r.mimetype == "text/csv"
            assert f"standings-{board}-{period.split('&')[0]}.csv" in r.headers["Content-Disposition"]
            board_matches([tuple(row) for row in read_csv(r.data)], want, CODES)
            r = api.get(f"/exports/standings.xlsx?board={board}&period={period}", "viewer")
            title = "标段排名" if board == "sections" else "突击队排名"
            board_matches(sheet_rows(workbook(r.data), title), want, CODES)
    rows = read_csv(api.get(f"/exports/standings.csv?period={month}").data)
    assert [r[14] for r in rows if r[1] == "LJ-03"] == [VETO_REASON]
    assert [as_number(r[3]) for r in rows if r[1] == "LJ-02"] == [as_number("100.9")]


def test_entries_exports_list_every_entry_of_the_month(app, api):
    month = seed_months(api, app)
    listed = api.get(f"/entries?period={month}&per_page=500").get_json()
    void = listed[0]
    api.void(void["id"], reason="重复录入")
    api.close(month)
    late = api.post(month=month, note="结账后补录", who="sup1")
    assert late["status"] == "late"
    csv_rows = read_csv(api.get(f"/exports/entries.csv?period={month}", "viewer").data)
    xlsx_rows = sheet_rows(workbook(api.get(f"/exports/entries.xlsx?period={month}").data), "计分明细")
    for rows in (csv_rows, [[("" if v is None else v) for v in row] for row in xlsx_rows]):
        header, *body = rows
        assert header[:8] == ["编号", "时间", "标段", "突击队", "考核内容", "细则", "类型", "分值"]
        by_id = {int(row[0]): row for row in body}
        assert set(by_id) == {e["id"] for e in listed} | {late["id"]}
        for e in listed:
            row = by_id[e["id"]]
            assert as_number(row[7]) == as_number(e["points"]) and row[8] == (e["note"] or "")
            assert row[2].startswith(e["section"]) and row[6] == ("扣分" if e["kind"] == "deduction" else "加分")
        assert by_id[void["id"]][10] == "已作废" and by_id[void["id"]][11] == "重复录入"
        assert by_id[late["id"]][10] == "逾期（未计分）"
        assert {NOTE_LJ01, NOTE_LJ02_BONUS} <= {row[8] for row in body}
    assert csv_rows[1][1].startswith(f"{month}-0")  # local time of the competition, to the minute


def test_export_roles_and_bad_arguments(client, world, months):
    for path in ("/exports/entries.csv", "/exports/entries.xlsx", "/exports/standings.csv", "/exports/standings.xlsx"):
        assert client.get(world.url(path)).status_code == 401
        assert client.get(world.url(path), headers=world.headers("sup1")).status_code == 403
        assert client.get(world.url(path), headers=world.headers("wall")).status_code == 403
        assert client.get(world.url(path), headers=world.headers("viewer")).status_code == 200
    for path, status in (("/exports/entries.csv?period=2026", 422), ("/exports/entries.csv?period=2026-13", 422),
                         ("/exports/standings.csv?board=crews", 422), ("/exports/standings.csv?period=soon", 422),
                         (f"/exports/standings.xlsx?period={months.next}", 404)):
        r = client.get(world.url(path), headers=world.headers())
        assert r.status_code == status, path
        assert r.mimetype == "application/problem+json"
