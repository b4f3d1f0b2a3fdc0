import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import select

from ..api import PageArgs, paginate
from ..auth.access import roles
from ..competitions.operations import get_competition
from .models import Channel, ChannelMessage
from .operations import create_channel, get_channel, remove_channel
from .schemas import ChannelIn, ChannelOut, DeliveryFilter, MessageOut

blp = Blueprint("channels", __name__, url_prefix="/api/v1/competitions/<int:cid>",
                description="Group bots (WeCom, DingTalk, Feishu) and what was sent to them.")


@blp.post("/channels")
@roles("admin")
@blp.arguments(ChannelIn)
@blp.response(201, ChannelOut)
def post_channel(data, cid):
    """Add a group bot. The URL is stored as given and shown masked from now on."""
    channel = create_channel(get_competition(cid), data)
    return channel


class ChannelFilter(PageArgs):
    stopped = ma.fields.Boolean(load_default=False, metadata={
        "description": "true: the stopped ones (removed_at set), whose messages stay on record."})


@blp.get("/channels")
@roles("admin")
@blp.arguments(ChannelFilter, location="query")
@blp.response(200, ChannelOut(many=True))
def list_channels(args, cid):
    """The group bots in use; `?stopped=true`: the stopped ones (their history is kept)."""
    get_competition(cid)
    stopped = Channel.removed_at.is_not(None) if args["stopped"] else Channel.removed_at.is_(None)
    return paginate(select(Channel).where(Channel.competition_id == cid, stopped).order_by(Channel.id), args)


@blp.delete("/channels/<int:channel_id>")
@roles("admin")
@blp.response(204)
def delete_channel(cid, channel_id):
    """Stop a channel; what it was sent stays on record."""
    remove_channel(get_channel(cid, channel_id))


@blp.get("/channels/<int:channel_id>/deliveries")
@roles("admin")
@blp.arguments(DeliveryFilter, location="query")
@blp.response(200, MessageOut(many=True))
def list_deliveries(args, cid, channel_id):
    """Each message of the channel, newest first: status, attempts, the platform's last error."""
    get_channel(cid, channel_id)
    stmt = select(ChannelMessage).where(ChannelMessage.channel_id == channel_id)
    if "status" in args:
        statuses = ("queued", "sending") if args["status"] == "queued" else (args["status"],)
        stmt = stmt.where(ChannelMessage.status.in_(statuses))
    return paginate(stmt.order_by(ChannelMessage.id.desc()), args)
