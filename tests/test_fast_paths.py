"""The cheaper paths of issue 14 give what the slower ones they replace give: `fields.quick_load` what
the schema's own load gives (values or errors), the report's XLSX rows what openpyxl writes, the
report's MIME what the email package encodes."""
from __future__ import annotations

import copy
import io
import random
from decimal import Decimal
from email import message_from_bytes, policy

import marshmallow as ma
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

from scoring.entries.schemas import EntryIn
from scoring.fields import quick_load
from scoring.reports.exports import FORMULA_START, to_xlsx
from scoring.reports.mail import _mime

BASE = {"client_id": "a-1", "section": "LJ-01", "team": "T1", "criterion": "safety", "item": "S1",
        "kind": "deduction", "points": 1.5, "observed_at": "2025-03-02T10:00:00+08:00", "note": "x",
        "location": {"lat": 1, "lon": 2}, "chainage": "K1+200", "photos": ["a" * 64], "rectify_by": "2025-03-10"}
VARIANTS = {"client_id": [None, "", "-x", "a" * 65, 5], "section": [None, "", "a\nb", 3], "team": [None, "", "x\t"],
            "criterion": ["nope", None, "quality"], "item": [None, "", "S2"], "kind": ["bonus", "x", None],
            "points": [True, "1", 0, -0.0, 1.234, 101, float("nan"), 2],
            "observed_at": ["2025-03-02T10:00:00", "x", None, "1999-01-01T00:00:00Z"],
            "note": [None, "a\x01", "ok\nline"], "location": [None, {"lat": 91, "lon": 0}, {"lat": 1}, []],
            "chainage": [None, "K1+20", 5], "photos": [[], ["a" * 64, "a" * 64], ["A" * 64], "x", None],
            "rectify_by": [None, "x", "2025-02-01"], "extra": [1]}


def _outcome(load, payload):
    try:
        return "ok", load(payload)
    except ma.ValidationError as error:
        return "error", error.messages


def test_quick_load_answers_as_the_schema_does():
    schema = EntryIn()
    quick = quick_load(schema)
    assert quick is not schema.load  # EntryIn has only validates_schema hooks: the quick path is taken
    rng = random.Random(14)
    valid = 0
    for _ in range(3000):
        payload = copy.deepcopy(BASE)
        for _ in range(rng.randint(0, 3)):
            key = rng.choice(list(VARIANTS))
            if rng.random() < 0.2:
                payload.pop(key, None)
            else:
                payload[key] = rng.choice(VARIANTS[key])
        expected = _outcome(schema.load, payload)
        assert _outcome(quick, payload) == expected, payload
        valid += expected[0] == "ok"
    assert 300 < valid < 2700  # both sides exercised
    for payload in (None, [], "x", 1, {}):
        assert _outcome(quick, payload) == _outcome(schema.load, payload)


def _openpyxl_book(sheets) -> bytes:
    """The workbook as openpyxl alone writes it (the report's XLSX before issue 14)."""
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    for title, header, table in sheets:
        sheet = book.create_sheet(title)
        sheet.append([_cell(sheet, name, Font(bold=True)) for name in header])
        for row in table:
            sheet.append([_cell(sheet, v) if isinstance(v, str) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(sheet, value, font=None):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    if font:
        cell.font = font
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell


def _cells(data: bytes):
    return [(ws.title, [(c.coordinate, c.value, c.font.b, c.quotePrefix, c.data_type)
                        for row in ws.iter_rows() for c in row]) for ws in load_workbook(io.BytesIO(data)).worksheets]


def test_xlsx_rows_are_what_openpyxl_writes_and_shared_sheets_are_reused():
    board = ("标段排名", ["排名", "名称", "总分"],
             [[i, f"=name{i}" if i % 7 == 0 else f" LJ-{i}&<b>\r\n\x0b", Decimal("97.50"), True, 2.25, "", None, -3]
              for i in range(50)])

    def sheets(n):
        return [board, ("突击队排名", ["a"], [["-x"], ["y"]]),
                ("计分明细", ["编号", "说明"], [[k, f"+note{k}" if k % 3 else "plain 中文"] for k in range(n)])]

    shared = {}
    first, second = to_xlsx(sheets(3), shared, 2), to_xlsx(sheets(7), shared, 2)
    assert _cells(first) == _cells(_openpyxl_book(sheets(3)))
    assert _cells(second) == _cells(_openpyxl_book(sheets(7)))
    assert len(shared) == 2


def test_report_mime_is_what_the_email_package_reads_back():
    text, html, xlsx = "第一行\r\n.second\n\nlast", "<p>中文</p>\n.dot\r\n" * 200, bytes(range(256)) * 50
    message = message_from_bytes(_mime(text, html, xlsx, "五比五赛-2025-03-LJ-01.xlsx"), policy=policy.default)
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    assert message.get_body(("plain",)).get_content() == "第一行\n.second\n\nlast\n"
    assert message.get_body(("html",)).get_content() == html.replace("\r\n", "\n")
    (attachment,) = message.iter_attachments()
    assert attachment.get_content() == xlsx and attachment.get_filename() == "五比五赛-2025-03-LJ-01.xlsx"
