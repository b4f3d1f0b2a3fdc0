"""Marshmallow fields shared by the schemas."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

import marshmallow as ma

CENT = Decimal("0.01")


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
        return number.quantize(CENT)


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


def Text(max_length: int, **kwargs):  # noqa: N802 - reads as a field type
    return ma.fields.String(validate=ma.validate.Length(min=1, max=max_length), **kwargs)


class Code(ma.fields.String):
    """A short identifier such as LJ-01 or S2."""

    def __init__(self, **kwargs):
        super().__init__(validate=[ma.validate.Length(min=1, max=20),
                                   ma.validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                                                      error="Letters, digits, '-', '_' and '.' only.")],
                         **kwargs)


class Strict(ma.Schema):
    """Unknown fields are an error: a typo in a tablet's payload must not pass silently."""

    class Meta:
        unknown = ma.RAISE
        ordered = True
