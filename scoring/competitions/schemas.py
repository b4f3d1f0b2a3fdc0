from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import marshmallow as ma
from marshmallow import pre_load, validates_schema

from ..api import PageArgs
from ..fields import Code, Name, Pattern, PointsField, Strict, StrictBoolean, Text
from ..standings.engine import CRITERIA, DEFAULT_TIE_BREAK


class ItemIn(Strict):
    code = Code(required=True)
    name = Text(200, required=True)
    max_points = PointsField(required=True, low="0.01")


class CriterionIn(Strict):
    code = ma.fields.String(required=True, validate=ma.validate.OneOf(CRITERIA))
    name = Text(200, required=True)
    weight = PointsField(required=True, low="0.01")
    bonus_cap = PointsField(load_default=Decimal("0.00"))
    items = ma.fields.List(ma.fields.Nested(ItemIn), required=True, validate=ma.validate.Length(min=1, max=50))

    @validates_schema
    def weight_is_items_sum(self, data, **_):
        total = sum((item["max_points"] for item in data["items"]), Decimal(0))
        if total != data["weight"]:
            raise ma.ValidationError(
                f"The items' max_points add up to {total}, not the weight {data['weight']}.", "items"
            )


def _timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ma.ValidationError("Not a known time zone (e.g. Asia/Shanghai).") from None


class AutoCloseIn(Strict):
    """When the scheduler closes a month by itself: this day of the next month, at this local time."""

    day = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, 28, error="Must be 1 to 28 "
                            "(every month has that day)."))
    time = ma.fields.String(load_default="00:30", validate=Pattern(
        r"([01]\d|2[0-3]):[0-5]\d", error="A time of day, HH:MM (e.g. 00:30)."))


def _auto_close():
    return ma.fields.Nested(AutoCloseIn, allow_none=True, metadata={
        "description": "`{\"day\": 3, \"time\": \"00:30\"}`: closed by itself on the 3rd of the next month at "
                       "00:30 in the competition's zone; null: the office closes each month by hand."})


def _report_approval():
    return ma.fields.Boolean(metadata={
        "description": "true: a closed month's report is a draft until an admin approves it; only then mailed."})


def _quarter_reports():
    return ma.fields.Boolean(metadata={
        "description": "true: when every month of a quarter is closed (and approved, with report_approval), the "
                       "quarter's report (季度考核通报) is mailed to every recipient once; a month of it closed "
                       "again later mails a 【更正】 of it. Default false: the quarter's report on demand only."})


class ClosePolicyIn(Strict):
    """The close policy (CONTRACT.md §3 Periods); on creation, left out: the service's default."""

    auto_close = _auto_close()
    report_approval = _report_approval()
    quarter_reports = _quarter_reports()


class CompetitionIn(ClosePolicyIn):
    name = Text(200, required=True)
    organizer = Text(200, required=True)
    timezone = ma.fields.String(load_default="Asia/Shanghai", validate=_timezone)
    criteria = ma.fields.List(ma.fields.Nested(CriterionIn), required=True)
    tie_break = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(CRITERIA)), load_default=list(DEFAULT_TIE_BREAK)
    )
    overdue_penalty = PointsField(load_default=Decimal("0.00"), metadata={
        "description": "Points deducted once for each rectification notice not closed by its deadline (§7)."})
    general_bonus_cap = PointsField(load_default=Decimal("0.00"), metadata={
        "description": "The most that bonuses tied to no criterion (上级表彰 …) add on top of the five criteria "
                       "(0, the default: a bonus must name its criterion)."})

    @validates_schema
    def five_criteria(self, data, **_):
        codes = [c["code"] for c in data["criteria"]]
        if sorted(codes) != sorted(CRITERIA):
            raise ma.ValidationError(
                f"The criteria must be exactly the five codes {', '.join(CRITERIA)}, each once.", "criteria"
            )
        weights = sum((c["weight"] for c in data["criteria"]), Decimal(0))
        if weights != 100:
            raise ma.ValidationError(f"The weights add up to {weights}, not 100.", "criteria")
        items = [i["code"] for c in data["criteria"] for i in c["items"]]
        doubled = sorted({code for code in items if items.count(code) > 1})
        if doubled:
            raise ma.ValidationError(f"Item codes must be unique: {', '.join(doubled)}.", "criteria")
        if len(set(data["tie_break"])) != len(data["tie_break"]):
            raise ma.ValidationError("Each criterion may appear once.", "tie_break")


class ItemOut(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    max_points = PointsField()


class CriterionOut(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    weight = PointsField()
    bonus_cap = PointsField()
    items = ma.fields.List(ma.fields.Nested(ItemOut))


class CompetitionOut(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    organizer = ma.fields.String()
    timezone = ma.fields.String()
    tie_break = ma.fields.List(ma.fields.String())
    overdue_penalty = PointsField()
    general_bonus_cap = PointsField()
    created_at = ma.fields.DateTime()
    auto_close = ma.fields.Dict(allow_none=True)
    report_approval = ma.fields.Boolean()
    quarter_reports = ma.fields.Boolean()
    archived = ma.fields.Boolean()


class CompetitionDetail(CompetitionOut):
    criteria = ma.fields.List(ma.fields.Nested(CriterionOut))


def Km(**kwargs):  # noqa: N802 - a field type
    return ma.fields.Decimal(places=3, allow_nan=False, validate=ma.validate.Range(0, 10000), **kwargs)


class SectionIn(Strict):
    code = Code(required=True)
    name = Text(200, required=True)
    start_km = Km(required=True)
    end_km = Km(required=True)
    contractor = Text(200, required=True)

    @validates_schema
    def ordered(self, data, **_):
        if data["end_km"] <= data["start_km"]:
            raise ma.ValidationError("Must be past start_km.", "end_km")


class SectionOut(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    start_km = ma.fields.Decimal(as_string=False)
    end_km = ma.fields.Decimal(as_string=False)
    chainage = ma.fields.Method("_chainage")
    contractor = ma.fields.String()

    def _chainage(self, section) -> str:
        """The site's own notation, K12+300 – K25+000."""

        def k(km: Decimal) -> str:
            metres = int(round(km * 1000))
            return f"K{metres // 1000}+{metres % 1000:03d}"

        return f"{k(section.start_km)}–{k(section.end_km)}"


class TeamIn(Strict):
    code = Code(required=True)
    name = Text(200, required=True)
    leader = Text(100, required=True)
    section = ma.fields.String(required=True)


class TeamOut(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    leader = ma.fields.String()
    section = ma.fields.Function(lambda team: team.section.code)
    active = ma.fields.Boolean()


# -- corrections (CONTRACT.md §3 "People and places change") ----------------------------------------

RULES_FIXED = ("计分规则（权重、满分、加分上限、同分排序）在竞赛创建后不能修改。"
               "Scoring rules (weights, maximums, caps, tie-break) never change once the competition exists.")
CODE_FIXED = ("编号在创建后不能修改，它把记分和历史连在一起。"
              "A code never changes: entries and history refer to it.")
ZONE_FIXED = ("时区决定每条记分属于哪个月，竞赛创建后不能修改。"
              "The time zone decides each entry's month; it never changes.")


class Patch(Strict):
    """A correction: every field optional, an optional `reason` for the audit trail, unknown fields a 422,
    and the fields that must never change named with why (`FIXED`)."""

    FIXED: dict[str, str] = {}

    reason = Text(2000, multiline=True)

    @pre_load
    def refuse_fixed(self, data, **_):
        if isinstance(data, dict):
            fixed = {name: [why] for name, why in self.FIXED.items() if name in data}
            if fixed:
                raise ma.ValidationError(fixed)
        return data


class CompetitionPatch(Patch):
    FIXED = {"criteria": RULES_FIXED, "tie_break": RULES_FIXED, "general_bonus_cap": RULES_FIXED,
             "timezone": ZONE_FIXED}

    name = Name(200)
    organizer = Name(200)
    auto_close = _auto_close()
    report_approval = _report_approval()
    quarter_reports = _quarter_reports()
    archived = ma.fields.Boolean(metadata={
        "description": "true: read-only (no entries, closes, vetoes, mail or auto-close) and out of "
                       "GET /competitions unless ?archived=true; nothing is deleted. false brings it back."})


class CriterionPatch(Patch):
    FIXED = {"weight": RULES_FIXED, "bonus_cap": RULES_FIXED, "items": RULES_FIXED, "code": CODE_FIXED}

    name = Name(200)


class ItemPatch(Patch):
    FIXED = {"max_points": RULES_FIXED, "code": CODE_FIXED}

    name = Name(200)


class SectionPatch(Patch):
    FIXED = {"code": CODE_FIXED}

    name = Name(200)
    contractor = Name(200)
    start_km = Km()
    end_km = Km()


class TeamPatch(Patch):
    FIXED = {"code": CODE_FIXED}

    name = Name(200)
    leader = Name(100)
    active = StrictBoolean()


class CompetitionFilter(PageArgs):
    archived = ma.fields.Boolean(load_default=False, metadata={"description": "true: the archived ones."})
