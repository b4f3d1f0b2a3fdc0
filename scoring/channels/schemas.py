import marshmallow as ma

from ..api import PageArgs
from ..fields import OneLine, Strict
from .models import EVENTS, KINDS
from .platforms import mask, mask_url


class ChannelIn(Strict):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    url = ma.fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                        validate=[ma.validate.Length(max=1000), OneLine()])
    secret = ma.fields.String(load_default=None, allow_none=True,
                              validate=[ma.validate.Length(min=1, max=200), OneLine()])
    events = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(EVENTS)), required=True,
                            validate=ma.validate.Length(min=1, max=len(EVENTS)))


class ChannelOut(ma.Schema):
    """The key part of the URL and the secret are masked: they are never shown again in full."""

    id = ma.fields.Integer()
    kind = ma.fields.String()
    url = ma.fields.Function(lambda c: mask_url(c.kind, c.url))
    secret = ma.fields.Function(lambda c: mask(c.secret) if c.secret else None)
    events = ma.fields.List(ma.fields.String())
    created_at = ma.fields.DateTime()
    removed_at = ma.fields.DateTime(allow_none=True)
    paused_until = ma.fields.DateTime(allow_none=True)


class MessageOut(ma.Schema):
    id = ma.fields.Integer()
    event = ma.fields.String()
    event_key = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Method("_status")
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    queued_at = ma.fields.DateTime()
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    sent_at = ma.fields.DateTime(allow_none=True)

    def _status(self, message) -> str:
        # "sending" is a claim held during the request; to a reader it is still queued.
        return "queued" if message.status == "sending" else message.status


class DeliveryFilter(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(("queued", "sent", "failed", "cancelled")))
