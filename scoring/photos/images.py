"""An uploaded photo read and turned into the copies we keep: pure Pillow, no Flask, no database.

What a camera wrote (the time, the GPS position) is read first, since the stored copies are
re-encoded without any EXIF: a photo's metadata can tell who took it where with which camera, and
the service keeps only what it needs, in the photo's row.
"""
from __future__ import annotations

import io
import logging
import math
import re
import struct
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import ExifTags, Image, ImageOps

log = logging.getLogger(__name__)

FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 50_000_000
FULL_SIDE = 2048
THUMB_SIDE = 320
QUALITY = 85
# What Pillow raises on a file it cannot read: not an image, a broken or truncated one.
_UNREADABLE = (OSError, ValueError, SyntaxError, EOFError, struct.error)
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)
TOO_MANY_PIXELS = "照片像素过多，最多 5000 万像素。"
# What a garbled EXIF block raises: the photo is still good, the metadata is lost.
_BAD_EXIF = (ValueError, TypeError, KeyError, IndexError, struct.error, OSError, ZeroDivisionError, SyntaxError)
_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")


class NotAPhoto(ValueError):  # noqa: N818 - reads as what it says
    """The upload is not a photo we keep; the message says why, in Chinese, for the person."""


@dataclass(frozen=True)
class Prepared:
    full: bytes  # JPEG, upright, at most FULL_SIDE px on its long side, no EXIF
    thumb: bytes  # the same at most THUMB_SIDE px
    width: int
    height: int
    taken_at: datetime | None  # aware when the camera wrote its offset, else naive (the camera's clock)
    lat: float | None
    lon: float | None


def prepare(data: bytes) -> Prepared:
    """Check an upload and make the copies to store; raises NotAPhoto."""
    with warnings.catch_warnings():
        # Pillow only warns of a decompression bomb below twice its limit: refuse it outright.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except _BOMB:
            raise NotAPhoto(TOO_MANY_PIXELS) from None
        except _UNREADABLE:
            raise NotAPhoto("这不是 JPEG、PNG 或 WebP 照片，或文件已损坏。") from None
    width, height = image.size  # from the header: nothing decoded yet
    if width * height > MAX_PIXELS:
        raise NotAPhoto(f"{TOO_MANY_PIXELS}（这张 {width}×{height}）")
    try:
        image.load()
    except _UNREADABLE:
        raise NotAPhoto("照片文件已损坏或不完整，无法读取。") from None
    taken_at, position = _camera_metadata(image)
    icc_profile = image.info.get("icc_profile")
    try:
        ImageOps.exif_transpose(image, in_place=True)  # upright before resizing (Pillow#5273)
    except _BAD_EXIF:
        log.info("photo orientation unreadable; kept as stored")
    image = _flattened(image)
    image.info = {}  # nothing of the original's metadata (EXIF, XMP, comments) goes into the copies
    image.thumbnail((FULL_SIDE, FULL_SIDE))
    full = _jpeg(image, icc_profile)
    thumb_image = image.copy()
    thumb_image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    lat, lon = position or (None, None)
    return Prepared(full, _jpeg(thumb_image, icc_profile), image.width, image.height, taken_at, lat, lon)


def _flattened(image: Image.Image) -> Image.Image:
    """RGB or greyscale, as JPEG holds them; a transparent background becomes white."""
    if image.mode in ("RGB", "L"):
        return image
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _jpeg(image: Image.Image, icc_profile: bytes | None) -> bytes:
    out = io.BytesIO()
    # The colour profile stays (colours are evidence too); it identifies no one.
    image.save(out, "JPEG", quality=QUALITY, icc_profile=icc_profile)
    return out.getvalue()


def _camera_metadata(image: Image.Image) -> tuple[datetime | None, tuple[float, float] | None]:
    try:
        exif = image.getexif()
        return _taken_at(exif), _position(exif)
    except _BAD_EXIF:
        log.info("photo EXIF unreadable; time and position not kept")
        return None, None


def _taken_at(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal with OffsetTimeOriginal; else the file's DateTime with OffsetTime."""
    details = exif.get_ifd(ExifTags.IFD.Exif)
    for time_tag, offset_tag, source in ((ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal, details),
                                         (ExifTags.Base.DateTime, ExifTags.Base.OffsetTime, exif)):
        text = _text(source.get(time_tag))
        if not text:
            continue
        try:
            taken = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:  # "0000:00:00 00:00:00" from a camera whose clock was never set
            continue
        offset = _OFFSET.fullmatch(_text(details.get(offset_tag)) or "")
        if offset:
            sign = -1 if offset[1] == "-" else 1
            delta = timedelta(hours=int(offset[2]), minutes=int(offset[3]))
            if delta <= timedelta(hours=14):
                taken = taken.replace(tzinfo=timezone(sign * delta))
        return taken
    return None


def _position(exif: Image.Exif) -> tuple[float, float] | None:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or lat == lon == 0:
        return None  # 0, 0 is what some cameras write without a fix
    return round(lat, 6), round(lon, 6)


def _degrees(value, ref, negative: str) -> float | None:
    """Degrees, minutes, seconds (EXIF rationals) as signed decimal degrees."""
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    degrees, minutes, seconds = (float(part) for part in value)
    result = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(result):  # a rational with a zero denominator
        return None
    return -result if _text(ref) == negative else result


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") if isinstance(value, str) else None
