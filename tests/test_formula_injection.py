"""Text a person typed reaches CSV and XLSX as text, never as a formula (OWASP, "CSV Injection").

A supervisor's note `=HYPERLINK("http://evil.example/x","点此")` was a live formula in entries.xlsx and in
the XLSX mailed to management. Each character a spreadsheet starts a formula with is typed here into
every kind of text the exports carry — notes, void reasons, section and team names, veto reasons — and
every export (entries and standings, CSV and XLSX, the report's XLSX as served and as attached to the
mail) is read back: the text is there, as text; numbers (a movement of -1) are still numbers.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from email import message_from_bytes, policy

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from scoring.competitions.models import Section, Team
from scoring.competitions.operations import bump_revision
from scoring.extensions import db
from scoring.reports.mail import build_message
from scoring.reports.models import Delivery
from scoring.vetoes.models import Veto

LEADS = ("=", "+", "-", "@", "\t", "\r")
ONE_LINE = ("=", "+", "-", "@")  # a name or a veto reason cannot start with a tab or a CR (one line)


def typed(lead: str, what: str = "") -> str:
    return f'{lead}HYPERLINK("http://evil.example/x","点此{what}")'


@pytest.fixture
def planted(app, client, world, api, months):
    """Last month: a section and a team named, an entry noted, an entry voided and a team vetoed with
    each leading character; LJ-01 fell from first to second (movement -1). Last month is closed, so
    its report is queued for a recipient."""
    admin = world.headers()
    last, before = months.last, months.ago(2)
    for i, lead in enumerate(LEADS):
        name = typed(lead, "名") if lead in ONE_LINE else f"F-{i}"
        api.answer(client.post(world.url("/sections"), json={"code": f"F-{i}", "name": name, "start_km": 100 + i,
                                                             "end_km": 101 + i, "contractor": "承包商"},
                               headers=admin), 201)
        api.answer(client.post(world.url("/teams"), json={"code": f"G-{i}", "name": name, "leader": "队长",
                                                          "section": f"F-{i}"}, headers=admin), 201)
        api.post(month=last, section=f"F-{i}", team=f"G-{i}", note=typed(lead, "注"))
        wrong = api.post(month=last, section=f"F-{i}")
        api.void(wrong["id"], reason=typed(lead, "废"))
        api.veto(f"F-{i}", team=f"G-{i}", period=last, reason=typed(lead, "否") if lead in ONE_LINE else "事故")
    with app.app_context():  # rows stored before single-line fields were enforced
        for i, lead in enumerate(LEADS):
            if lead not in ONE_LINE:
                for model in (Section, Team):
                    db.session.execute(update(model).where(model.code.in_([f"F-{i}", f"G-{i}"]))
                                       .values(name=typed(lead, "名")))
                db.session.execute(update(Veto).where(Veto.team_id == select(Team.id).where(
                    Team.code == f"G-{i}").scalar_subquery()).values(reason=typed(lead, "否")))
        bump_revision(world.cid)
        db.session.commit()
    for month, section, points in ((before, "LJ-01", 1), (before, "LJ-02", 2), (last, "LJ-01", 2.5),
                                   (last, "LJ-02", 1)):
        api.post(month=month, section=section, points=points)
    api.answer(client.post(world.url("/recipients"), json={"email": "leader@example.org", "name": "指挥部",
                                                           "scope": "all"}, headers=admin), 201)
    api.close(last)
    return last


def csv_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def check_csv(data: bytes, texts: list[str]) -> list[list[str]]:
    rows = csv_cells(data)
    cells = [cell for row in rows for cell in row]
    for text in texts:
        assert "'" + text in cells, (text, [c for c in cells if "HYPERLINK" in c])
    for cell in cells:  # nothing a spreadsheet would run: a leading = + - @ TAB CR only on a number
        assert not cell.startswith(LEADS) or is_number(cell), repr(cell)
    return rows


def check_xlsx(data: bytes, texts: list[str]) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    values = {c.value.replace("\r", "\n") for c in cells if isinstance(c.value, str)}  # XML reads CR as LF
    for text in texts:
        assert text.replace("\r", "\n") in values, (text, [v for v in values if "HYPERLINK" in v])
    for cell in cells:
        if isinstance(cell.value, str) and cell.value.startswith(LEADS):
            assert cell.data_type == "s" and cell.quotePrefix, (cell.coordinate, cell.value)
    return {sheet.title: [tuple(c.value for c in row) for row in sheet.iter_rows()] for sheet in book.worksheets}


def movement_of(rows, code: str):
    header = list(rows[0])
    return next(row[header.index("升降")] for row in rows if row[1] == code)


NOTES = [typed(lead, "注") for lead in LEADS]
VOIDS = [typed(lead, "废") for lead in LEADS]
NAMES = [typed(lead, "名") for lead in LEADS]
VETOES = [typed(lead, "否") for lead in LEADS]


def test_entries_exports_keep_notes_and_void_reasons_as_text(api, planted):
    check_csv(api.get(f"/exports/entries.csv?period={planted}", "viewer").data, NOTES + VOIDS)
    check_xlsx(api.get(f"/exports/entries.xlsx?period={planted}", "viewer").data, NOTES + VOIDS)


def test_standings_exports_keep_names_and_veto_reasons_as_text_and_numbers_as_numbers(api, planted):
    for kind in ("sections", "teams"):
        rows = check_csv(api.get(f"/exports/standings.csv?board={kind}&period={planted}", "viewer").data,
                         NAMES + VETOES)
        sheets = check_xlsx(api.get(f"/exports/standings.xlsx?board={kind}&period={planted}", "viewer").data,
                            NAMES + VETOES)
        if kind == "sections":
            assert movement_of(rows, "LJ-01") == "-1" and movement_of(rows, "LJ-02") == "1"
            assert movement_of(sheets["标段排名"], "LJ-01") == -1
            assert [row[3] for row in rows if row[1] == "LJ-01"] == ["97.5"]


def test_the_reports_workbook_served_and_mailed_keeps_typed_text_as_text(app, api, planted):
    served = api.get(f"/reports/{planted}?format=xlsx", "viewer").data
    with app.app_context():
        message = build_message(db.session.scalar(select(Delivery)))
        mailed = message_from_bytes(message.as_bytes(), policy=policy.default)
        (attachment,) = list(mailed.iter_attachments())
        attached = attachment.get_content()
        db.session.remove()
    for workbook in (served, attached):
        sheets = check_xlsx(workbook, NOTES + NAMES + VETOES)
        assert movement_of(sheets["标段排名"], "LJ-01") == -1
