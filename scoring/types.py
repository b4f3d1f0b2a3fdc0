"""Column types."""
from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator

from .standings.engine import CENT


def json_default(value, fallback=None):
    """json.dumps' `default`: points as JSON numbers (a two-place Decimal turned float prints back as the same
    shortest decimal), dates and times in ISO 8601."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if fallback is None:
        raise TypeError(f"{type(value).__name__} is not JSON")
    return fallback(value)


class Points(TypeDecorator):
    """Exact points with two decimals.

    NUMERIC(12, 2) where the database has it (PostgreSQL). SQLite's NUMERIC is a binary float, so
    there the value is kept as a whole number of hundredths: sums stay exact on both.
    """

    impl = Numeric(12, 2, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value).quantize(CENT)
        if dialect.name == "sqlite":
            return int(value.scaleb(2))
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-2)  # exactly two places already
        return Decimal(value).quantize(CENT)

    def result_processor(self, dialect, coltype):
        # The same values as process_result_value, without TypeDecorator's wrapping and the dialect test
        # per value: a board reads two Points per aggregate row, up to thousands of rows after each write.
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value):
            return None if value is None else Decimal(int(value)).scaleb(-2)

        return process


class UTCDateTime(TypeDecorator):
    """An aware datetime, stored in UTC (SQLite keeps no offset), read back aware in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

