"""Entries and standings as CSV (UTF-8 with a BOM, so Excel shows the Chinese right) and XLSX.

The standings are the leaderboard's rows (`standings.operations.leaderboard`), so an export and the
board cannot disagree; the monthly report's XLSX attachment is built by the same functions.
"""
from __future__ import annotations

import csv
import io
import zipfile
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
            f"{e.team.code} {e.team.name}" if e.team else "", criteria.get(e.criterion, e.criterion),
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


def to_xlsx(sheets: list[tuple[str, list[str], list[list]]], shared: dict | None = None, common: int = 0) -> bytes:
    """A workbook with one sheet per (title, header, rows); points are numeric cells, text is text.

    openpyxl (write-only) writes the workbook: its parts, the styles and each sheet with its header
    row; the rows under the header are written here as the XML openpyxl writes for them (`_rows_xml`:
    a month's entries are tens of thousands of rows, about ten times faster so) and put into the sheet.
    A sheet's XML depends on its own cells only: text is inline, and the two cell styles (the bold
    header, the quote prefix) are registered first, in a fixed order, in every workbook.

    With `shared` (kept by the caller across workbooks, e.g. one mail run's reports of a month), the
    rows of the first `common` sheets, the same in every one of those workbooks (the boards), are
    written once."""
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    rows = {}
    for index, (title, header, table) in enumerate(sheets):
        sheet = book.create_sheet(title)
        if index == 0:  # the styles' ids, the same in every workbook whatever its cells (see above)
            _text_cell(sheet, "b", bold).style_id  # noqa: B018 - registers the header's style first (1)
            _text_cell(sheet, "=").style_id  # noqa: B018 - then the quote prefix's (2, _QUOTED)
        sheet.freeze_panes = "A2"
        for column, name in enumerate(header, start=1):
            width = max([len(str(name)) * 2] + [len(str(r[column - 1] or "")) + 2 for r in table[:200]])
            sheet.column_dimensions[get_column_letter(column)].width = min(max(width, 6), 40)
        sheet.append([_text_cell(sheet, name, bold) for name in header])
        part = f"xl/worksheets/sheet{index + 1}.xml"
        if shared is not None and index < common:
            if part not in shared:
                shared[part] = _rows_xml(table)
            rows[part] = shared[part]
        else:
            rows[part] = _rows_xml(table)
    written = io.BytesIO()
    book.save(written)
    out = io.BytesIO()
    with zipfile.ZipFile(written) as skeleton, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as final:
        for info in skeleton.infolist():
            data = skeleton.read(info)
            if info.filename in rows:
                data = data.replace(b"</sheetData>", rows[info.filename] + b"</sheetData>", 1)
            final.writestr(info, data)
    return out.getvalue()


_QUOTED = 2  # the quote prefix's style id (registered second in every workbook, see to_xlsx)
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def _rows_xml(table: list[list], first: int = 2) -> bytes:
    """The <row> elements of `table` from row `first` on, as openpyxl writes them: None is no cell, a
    number is a numeric cell (%.16g), text an inline string without the characters XLSX cannot hold,
    and text a spreadsheet would run as a formula gets the quote prefix (see `_text_cell`)."""
    width = max((len(row) for row in table), default=0)
    letters = [get_column_letter(column) for column in range(1, width + 1)]
    out = []
    for number_, row in enumerate(table, start=first):
        cells = []
        for letter, value in zip(letters, row, strict=False):
            if value is None:
                continue
            ref = f"{letter}{number_}"
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
                style = f' s="{_QUOTED}"' if value.startswith(FORMULA_START) else ""
                space = ' xml:space="preserve"' if value != value.strip() else ""
                if not value:  # as openpyxl writes an empty string
                    cells.append(f'<c r="{ref}"{style} t="inlineStr"></c>')
                    continue
                cells.append(f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{value.translate(_XML_TEXT)}'
                             f"</t></is></c>")
            elif isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float | Decimal):
                cells.append(f'<c r="{ref}" t="n"><v>{"%.16g" % value}</v></c>')  # noqa: UP031 - as openpyxl: Decimal as a float
            else:
                raise TypeError(f"cannot write {type(value).__name__} to a sheet")
        out.append(f'<row r="{number_}">{"".join(cells)}</row>')
    return "".join(out).encode()


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
