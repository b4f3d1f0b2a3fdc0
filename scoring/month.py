"""`Month`: a calendar month, "YYYY-MM" — the stored key of a period and its arithmetic, in one type.

A `str` subclass, so a Month is its own stored form: it compares, sorts, binds to a column and goes
into JSON as the text "2026-05". Parse with `Month(text)` (ValueError when it is not a month);
routes take `<month:key>`, schemas `MonthField(current=…, year=…)`.
"""
from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import marshmallow as ma
from werkzeug.routing import BaseConverter

from .clock import utcnow

PATTERN = r"\d{4}-(?:0[1-9]|1[0-2])"


class Month(str):
    __slots__ = ()

    def __new__(cls, text: str) -> Month:
        if not isinstance(text, str) or not re.fullmatch(PATTERN, text):
            raise ValueError(f"{text!r} is not a month YYYY-MM.")
        return super().__new__(cls, text)

    @classmethod
    def of(cls, year: int, month: int) -> Month:
        """The month `month` of `year`, counting on past December or back before January."""
        year, index = divmod(year * 12 + month - 1, 12)
        return cls(f"{year:04d}-{index + 1:02d}")

    @classmethod
    def at(cls, moment: datetime | date, tz: str | ZoneInfo | None = None) -> Month:
        """The month `moment` falls in on the calendar of `tz` (a date: its own month)."""
        if tz is not None:
            moment = moment.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)
        return cls.of(moment.year, moment.month)

    @classmethod
    def current(cls, tz: str | ZoneInfo, now: datetime | None = None) -> Month:
        """The running month on the calendar of `tz` (a competition's time zone)."""
        return cls.at(now or utcnow(), tz)

    @property
    def year(self) -> int:
        return int(self[:4])

    @property
    def month(self) -> int:
        return int(self[5:])

    def next(self) -> Month:
        return Month.of(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month.of(self.year, self.month - 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def bounds(self, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the month on the calendar of `tz`, in UTC."""
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        return tuple(datetime.combine(m.first_day, time(0), zone).astimezone(UTC) for m in (self, self.next()))


class MonthConverter(BaseConverter):
    """`<month:key>` in routes: a Month, or no match (404)."""

    regex = PATTERN

    def to_python(self, value: str) -> Month:
        return Month(value)


def month_param_schema(_converter) -> dict:  # the URL parameter in the OpenAPI document
    return {"type": "string", "pattern": rf"^{PATTERN}$"}


QUARTER_PATTERN = r"\d{4}-Q[1-4]"


class MailedConverter(BaseConverter):
    """`<mailed:key>`: what is mailed — a month (a Month) or a quarter (`YYYY-Qn`, as text); else no match (404)."""

    regex = rf"(?:{PATTERN}|{QUARTER_PATTERN})"

    def to_python(self, value: str) -> str:
        return Month(value) if re.fullmatch(PATTERN, value) else value


def mailed_param_schema(_converter) -> dict:
    return {"type": "string", "pattern": rf"^(?:{PATTERN}|{QUARTER_PATTERN})$"}


class MonthField(ma.fields.String):
    """A period in a query or body: YYYY-MM as a Month; "current", YYYY and YYYY-Qn too where the contract allows."""

    def __init__(self, *, current: bool = False, year: bool = False, quarter: bool = False, **kwargs):
        words = [w for w, ok in (("current", current), ("YYYY-MM", True), ("YYYY", year), ("YYYY-Qn", quarter))
                 if ok]
        choices = "|".join([r"current"] * current + [PATTERN] + [r"\d{4}"] * year + [r"\d{4}-Q[1-4]"] * quarter)
        kwargs.setdefault("load_default", "current" if current else ma.missing)
        error = "Use " + (", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]) + "."
        super().__init__(validate=ma.validate.Regexp(rf"(?:{choices})\Z", error=error), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return Month(text) if re.fullmatch(PATTERN, text) else text


# -- quarters and years: the spans a year or quarter board (and report) is made of ------------------------

SPAN_PATTERN = r"\d{4}(?:-Q[1-4])?"


def span_months(key: str) -> list[Month]:
    """The months of a year (`YYYY`) or a quarter (`YYYY-Qn`: Q1 January–March …), in order."""
    year = int(key[:4])
    if len(key) == 4:
        return [Month.of(year, m) for m in range(1, 13)]
    first = 3 * (int(key[6]) - 1) + 1
    return [Month.of(year, m) for m in range(first, first + 3)]


def is_span(key: str) -> bool:
    """A year or a quarter (several months), as opposed to one month."""
    return len(key) == 4 or key[5:6] == "Q"


def quarter_of(key: str) -> str:
    """The quarter (`YYYY-Qn`) a month `YYYY-MM` is in."""
    return f"{key[:4]}-Q{(int(key[5:7]) - 1) // 3 + 1}"
