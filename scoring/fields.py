"""Marshmallow fields shared by the schemas."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

import marshmallow as ma

from .standings.engine import CENT


class PointsField(ma.fields.Decimal):
    """Points in and out as JSON numbers: at most two decimals, never rounded silently."""

    def __init__(self, *, low: str = "0", high: str = "100", **kwargs):
        kwargs.setdefault("as_string", False)
        super().__init__(allow_nan=False, **kwargs)
        self.low, self.high = Decimal(low), Decimal(high)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ma.ValidationError("Must be a number.")
        try:
            number = super()._deserialize(value, attr, data, **kwargs)
        except (InvalidOperation, ValueError):
            raise ma.ValidationError("Must be a number.") from None
        if not number.is_finite():
            raise ma.ValidationError("Must be a finite number.")
        if number < self.low or number > self.high:
            raise ma.ValidationError(f"Must be between {self.low} and {self.high}.")
        if number != number.quantize(CENT):
            raise ma.ValidationError("At most 2 decimal places.")
        return abs(number).quantize(CENT) if not number else number.quantize(CENT)  # JSON has one zero: -0 is 0


class AwareDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 time that must carry its offset: a tablet's local clock is no time zone."""

    default_error_messages = {
        "invalid_awareness": "Must include a UTC offset, e.g. 2023-01-02T10:15:00+08:00.",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        result = super()._deserialize(value, attr, data, **kwargs)
        if not 2000 <= result.year <= 2100:
            raise ma.ValidationError("Must be between the years 2000 and 2100.")
        return result


# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Multi-line text keeps its line breaks and tabs; other control characters are refused there too.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class OneLine(ma.validate.Validator):
    """A name, a code, an address: one line. A newline there would start a paragraph of a mail or a
    header of its own, and "LJ-01\\n" would look like LJ-01 without being it."""

    error = "只能填一行，不能含换行、制表符等控制字符。One line, without line breaks or other control characters."

    def __call__(self, value: str) -> str:
        if _NOT_ONE_LINE.search(value):
            raise ma.ValidationError(self.error)
        return value


class MultiLine(ma.validate.Validator):
    """Free text that may run over several lines (a note, a reason); shown indented where a line is meant."""

    error = "不能含换行和制表符以外的控制字符。No control characters other than line breaks and tabs."

    def __call__(self, value: str) -> str:
        if _NOT_TEXT.search(value):
            raise ma.ValidationError(self.error)
        return value


def Text(max_length: int, *, multiline: bool = False, min_length: int = 1, **kwargs):  # noqa: N802 - a field type
    """A string a person types: one line, unless `multiline` (notes, reasons)."""
    return ma.fields.String(validate=[ma.validate.Length(min=min_length, max=max_length),
                                      MultiLine() if multiline else OneLine()], **kwargs)


class NotBlank(ma.validate.Validator):
    """A name of spaces only is no name."""

    error = "不能为空。Must not be empty."

    def __call__(self, value: str) -> str:
        if not value.strip():
            raise ma.ValidationError(self.error)
        return value


def Name(max_length: int, **kwargs):  # noqa: N802 - a field type
    """A name a person reads on a board, a mail or an export: one line, not empty, not only spaces."""
    return ma.fields.String(validate=[ma.validate.Length(min=1, max=max_length), OneLine(), NotBlank()], **kwargs)


def Pattern(regex: str, error: str) -> ma.validate.Regexp:  # noqa: N802 - reads as a validator
    """The whole value matches `regex`: never `$`, which lets a trailing newline through."""
    return ma.validate.Regexp(rf"(?:{regex})\Z", error=error)


class StrictBoolean(ma.fields.Boolean):
    """JSON true or false only: "false" or 0 is a typo, not a decision to deactivate someone."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ma.ValidationError("Must be true or false.")
        return value


class Code(ma.fields.String):
    """A short identifier such as LJ-01 or S2."""

    def __init__(self, **kwargs):
        super().__init__(validate=[ma.validate.Length(min=1, max=20),
                                   Pattern(r"[A-Za-z0-9][A-Za-z0-9_.-]*", "Letters, digits, '-', '_' and '.' only.")],
                         **kwargs)


class Strict(ma.Schema):
    """Unknown fields are an error: a typo in a tablet's payload must not pass silently."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class ReasonIn(Strict):
    """`{"reason"}`: why an entry is voided, a month reopened, a veto revoked."""

    reason = Text(2000, multiline=True, required=True)


_CHAINAGE = re.compile(r"K(\d{1,4})\+(\d{3})")


class Chainage(ma.fields.String):
    """A stake on the road, `K23+450` (K + km + '+' + three-digit metres), held as metres (23450)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"example": "K23+450", "pattern": f"^{_CHAINAGE.pattern}$"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        match = _CHAINAGE.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ma.ValidationError("桩号格式应为 K23+450。Use K + km + '+' + three-digit metres, e.g. K23+450.")
        return int(match[1]) * 1000 + int(match[2])

    def _serialize(self, value, attr, obj, **kwargs) -> str | None:
        return None if value is None else format_chainage(value)


def format_chainage(metres: int) -> str:
    return f"K{metres // 1000}+{metres % 1000:03d}"
