import marshmallow as ma

from ..fields import Strict, Text


class CloseIn(Strict):
    reason = Text(2000, multiline=True, load_default=None)


class PeriodOut(ma.Schema):
    key = ma.fields.String()
    status = ma.fields.String()
    closed_at = ma.fields.DateTime(allow_none=True)
    closed_at_local = ma.fields.Method("_closed_at_local", allow_none=True, metadata={
        "description": "`closed_at` in the competition's time zone."})
    flag = ma.fields.Function(
        lambda p: {"section": p.flag_section.code, "name": p.flag_section.name} if p.flag_section else None
    )
    edition = ma.fields.Method("_edition", metadata={
        "description": "How many times the month was closed: 1 the 通报, each later close a 更正; 0 never closed."})
    late_entries = ma.fields.Method("_late", metadata={
        "description": "Entries stored after the month was closed, waiting for a reopen to count."})

    def _counts(self, period, name: str) -> dict[str, int]:
        """Per competition, once per request (a list of months asks twice, not twice per month)."""
        from flask import g

        from .operations import editions, late_counts

        cache = g.setdefault(f"period_{name}", {})
        if period.competition_id not in cache:
            cache[period.competition_id] = (editions if name == "edition" else late_counts)(period.competition_id)
        return cache[period.competition_id]

    def _closed_at_local(self, period) -> str | None:
        from zoneinfo import ZoneInfo

        from ..competitions.models import Competition
        from ..extensions import db

        if period.closed_at is None:
            return None
        zone = ZoneInfo(db.session.get(Competition, period.competition_id).timezone)
        return period.closed_at.astimezone(zone).isoformat()

    def _edition(self, period) -> int:
        return self._counts(period, "edition").get(period.key, 0)

    def _late(self, period) -> int:
        return self._counts(period, "late").get(period.key, 0)
