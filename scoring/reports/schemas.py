import marshmallow as ma

from ..fields import OneLine, Strict, Text
from ..month import MonthField


class RecipientIn(Strict):
    email = ma.fields.Email(required=True, validate=[ma.validate.Length(max=254), OneLine()])
    name = Text(100, required=True)  # a mail header: a line break there would break every mail to it
    scope = ma.fields.String(load_default="all", validate=[ma.validate.Length(min=1, max=40), OneLine()])


class RecipientOut(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    scope = ma.fields.String()
    created_at = ma.fields.DateTime()


class ApprovalOut(ma.Schema):
    period = ma.fields.String()
    edition = ma.fields.Integer()
    approved_at = ma.fields.DateTime()
    approved_by = ma.fields.String(allow_none=True)
    queued = ma.fields.Integer(metadata={"description": "Deliveries queued by this approval."})


class DeliveryOut(ma.Schema):
    edition = ma.fields.Integer()
    email = ma.fields.Function(lambda d: d.recipient.email)
    name = ma.fields.Function(lambda d: d.recipient.name)
    scope = ma.fields.Function(lambda d: d.recipient.scope)
    status = ma.fields.Method("_status")
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    sent_at = ma.fields.DateTime(allow_none=True)

    def _status(self, delivery) -> str:
        # "sending" is a claim held while the SMTP conversation runs; to a reader it is still queued.
        return "queued" if delivery.status == "sending" else delivery.status


class SendIn(Strict):
    resend_failed = ma.fields.Boolean(load_default=False)


class ReportArgs(Strict):
    format = ma.fields.String(load_default="html", validate=ma.validate.OneOf(("html", "text", "xlsx")))
    scope = ma.fields.String(load_default="all", validate=ma.validate.Length(min=1, max=40))


class EntriesExportArgs(Strict):
    period = MonthField(current=True)


class StandingsExportArgs(Strict):
    board = ma.fields.String(load_default="sections", validate=ma.validate.OneOf(("sections", "teams")))
    period = MonthField(current=True, year=True, quarter=True)
    provisional = ma.fields.Boolean(load_default=False, metadata={
        "description": "Year and quarter: also count the running month (otherwise closed months only)."})
