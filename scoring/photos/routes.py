from flask import current_app, g, request
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from ..auth.access import READERS, roles
from ..competitions.operations import get_competition
from ..errors import Problem
from ..extensions import db
from ..http import body_limit
from . import images
from .operations import check_uploader, find_photo, get_photo, photo_id_of, save_photo
from .schemas import PhotoArgs, PhotoOut
from .storage import photo_store

blp = Blueprint("photos", __name__, url_prefix="/api/v1", description="Photos: the evidence of a finding.")

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
TYPES = ("image/jpeg", "image/png", "image/webp")
# A stored photo never changes (its id is its content): a browser may keep it for a year.
CACHE_CONTROL = "private, max-age=31536000, immutable"


@blp.post("/competitions/<int:cid>/photos")
@body_limit(MAX_UPLOAD_BYTES)
@roles("admin", "supervisor", "contractor")
@blp.doc(requestBody={"required": True, "description": "The image itself, at most 15 MiB and 50 megapixels.",
                      "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in TYPES}})
@blp.alt_response(200, schema=PhotoOut, description="Stored before: the same answer, nothing stored again.")
@blp.response(201, PhotoOut, description="Stored now.")
def upload_photo(cid):
    """Upload a photo (JPEG, PNG or WebP, the body the image itself); its id is the SHA-256 of the body."""
    data = _upload_body()
    competition = get_competition(cid)
    check_uploader(g.user, competition)
    photo_id = photo_id_of(data)
    photo = find_photo(cid, photo_id)
    if photo is not None:
        return photo, 200
    timezone = competition.timezone
    # Nothing written yet: end the transaction, so SQLite's write lock (taken by a POST's first
    # statement) is not held while Pillow works on the image.
    db.session.rollback()
    try:
        prepared = images.prepare(data)
    except images.NotAPhoto as error:
        raise Problem(422, str(error), {"_body": [str(error)]}) from None
    photo, created = save_photo(cid, timezone, g.user, photo_id, prepared)
    return photo, 201 if created else 200


def _upload_body() -> bytes:
    mimetype = request.mimetype
    if mimetype not in TYPES:
        detail = "请求体须是照片本身，Content-Type 为 image/jpeg、image/png 或 image/webp。"
        raise Problem(422, detail, {"Content-Type": [detail]})
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise Problem(413, f"照片超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB。") from None
    if not data:
        raise Problem(422, "请求体是空的，没有照片。", {"_body": ["请求体是空的，没有照片。"]})
    return data


@blp.get("/photos/<string:photo_id>")
@roles(*READERS)
@blp.arguments(PhotoArgs, location="query")
@blp.doc(responses={"200": {"description": "The photo as a JPEG (full: at most 2048 px; thumb: at most 320 px).",
                            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(304, description="Not modified: If-None-Match carries its ETag.")
def get_photo_file(args, photo_id):
    """A stored photo; immutable, so it carries an ETag and may be cached for a year."""
    photo = get_photo(photo_id.lower())
    size = args["size"]
    etag = f"{photo.sha256}-{size}"
    headers = {"Cache-Control": CACHE_CONTROL}
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304, headers=headers)
    else:
        data = photo_store().get(photo.sha256, size)
        if data is None:
            raise Problem(404, f"照片 {photo.sha256} 的文件不在存储中。")
        response = current_app.response_class(data, mimetype="image/jpeg", headers=headers)
    response.set_etag(etag)
    return response
