"""Entries and standings as CSV (UTF-8 with a BOM, so Excel shows the Chinese right) and XLSX.

The standings are the leaderboard's rows (`standings.operations.leaderboard`), so an export and the
board cannot disagree; the monthly report's XLSX attachment is built by the same functions.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from ..competitions.models import Competition, Section
from ..entries.models import Entry
from ..extensions import db

KINDS = {"deduction": "扣分", "bonus": "加分"}
GENERAL = "不限项目（上级表彰等）"  # a general bonus: tied to no criterion
# A cell starting with one of these is taken for a formula by Excel, LibreOffice and Sheets (OWASP,
# "CSV Injection"): a note typed as =HYPERLINK(…) must reach the office as the text it is.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
STATUSES = {"counted": "计分", "late": "逾期（未计分）", "void": "已作废"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def criteria_names(competition: Competition) -> list[tuple[str, str]]:
    """(code, short Chinese name) of the five criteria, in the competition's order."""
    return [(c.code, c.name.split("、")[0]) for c in competition.criteria]


def standings_table(competition: Competition, rows: list[dict]) -> tuple[list[str], list[list]]:
    """Header and rows of a board, from the leaderboard's row dicts (numbers stay Decimal)."""
    criteria = criteria_names(competition)
    header = ["排名", "编号", "名称", "总分", *[name for _, name in criteria], "扣分", "加分", "升降", "红旗数",
              "否决", "否决原因", "参评"]
    table = []
    for row in rows:
        table.append([
            row["rank"], row["code"], row["name"], row["total"],
            *[row["criteria"].get(code) for code, _ in criteria],
            row["deductions"], row["bonus"], row["movement"], row["flags"],
            "是" if row["vetoed"] else "否", row["veto_reason"] or "", "是" if row["assessed"] else "否",
        ])
    return header, table


def period_entries(competition: Competition, period: str, *, section_id: int | None = None,
                   counted_only: bool = False) -> list[Entry]:
    stmt = select(Entry).where(Entry.competition_id == competition.id, Entry.period == period)
    if section_id is not None:
        stmt = stmt.where(Entry.section_id == section_id)
    if counted_only:
        stmt = stmt.where(Entry.status == "counted")
    return db.session.scalars(stmt.order_by(Entry.observed_at, Entry.id)).unique().all()


def entries_table(competition: Competition, entries: list[Entry]) -> tuple[list[str], list[list]]:
    tz = ZoneInfo(competition.timezone)
    criteria = dict(criteria_names(competition))
    items = {i.code: i.name for c in competition.criteria for i in c.items}
    header = ["编号", "时间", "标段", "突击队", "考核内容", "细则", "类型", "分值", "说明", "监督员", "状态",
              "作废原因", "照片"]
    table = []
    for e in entries:
        table.append([
            e.id, e.observed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), f"{e.section.code} {e.section.name}",
            f"{e.team.code} {e.team.name}" if e.team else "",
            criteria.get(e.criterion, e.criterion) if e.criterion else GENERAL,
            f"{e.item} {items.get(e.item, '')}".strip() if e.item else "", KINDS.get(e.kind, e.kind), e.points,
            e.note or "", e.supervisor.username, STATUSES.get(e.status, e.status), e.void.reason if e.void else "",
            len(e.photo_ids),
        ])
    return header, table


def to_csv(header: list[str], table: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_text(v) for v in row] for row in table])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _text(value) -> str:
    """A cell as text; points print as on the board (97.5, 25), not 97.50. Text people typed that a
    spreadsheet would run as a formula gets a leading ' (OWASP's advice); numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return str(value)


def number(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text


def to_xlsx(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """A workbook with one sheet per (title, header, rows); points are numeric cells, text is text.
    Written row by row (openpyxl's write-only mode): a month's entries are tens of thousands of rows."""
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, header, table in sheets:
        sheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"
        for index, name in enumerate(header, start=1):
            width = max([len(str(name)) * 2] + [len(str(r[index - 1] or "")) + 2 for r in table[:200]])
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 6), 40)
        sheet.append([_text_cell(sheet, name, bold) for name in header])
        for row in table:
            sheet.append([_text_cell(sheet, v) if isinstance(v, str) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text_cell(sheet, value: str, font: Font | None = None):
    """A string as a text cell. XLSX cannot hold control characters (a \x0b pasted into a team
    name): they are dropped there only. openpyxl makes any string starting with = a formula; nothing
    we write is one, and a string with Excel's quote prefix stays text even when someone edits it."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if font is None and not value.startswith(FORMULA_START):
        return value  # a plain string: openpyxl stores it as text
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    if font is not None:
        cell.font = font
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell


def section_by_code(competition: Competition, code: str) -> Section | None:
    return db.session.scalar(select(Section).where(Section.competition_id == competition.id, Section.code == code))
