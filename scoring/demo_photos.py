"""The demo's evidence photos, drawn with Pillow: a site sign at the stake, naming the finding.

A supervisor photographs the finding with a small board held into the picture (桩号, 标段, the problem,
the time), as Chinese sites do. The demo draws such a picture for its recent findings and uploads it
through the same operations as the API, so the app shows evidence out of the box.
"""
from __future__ import annotations

import io
import random
import shutil
import subprocess
from datetime import datetime
from functools import cache
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1024, 768
# Where the usual CJK fonts live (Debian's fonts-wqy-microhei first); fontconfig is asked after them.
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
GROUNDS = [(128, 112, 92), (110, 110, 106), (139, 121, 96), (96, 104, 88)]  # earth, asphalt, gravel, verge


@cache
def cjk_font_path() -> str | None:
    for path in CJK_FONTS:
        if Path(path).exists():
            return path
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
        if found and Path(found).exists():
            return found
    return None


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A CJK font; without one, Pillow's own (Chinese then shows as boxes, but `make run` still works)."""
    path = cjk_font_path()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def site_photo(rng: random.Random, *, chainage: str, section: str, finding: str, taken: datetime,
               lat: float, lon: float) -> bytes:
    """A JPEG of a site sign at the stake, with the EXIF a tablet's camera writes (time, offset, GPS)."""
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    horizon = rng.randint(260, 340)
    sky = (rng.randint(150, 190), rng.randint(185, 215), rng.randint(220, 245))
    draw.rectangle((0, 0, WIDTH, horizon), fill=sky)
    draw.rectangle((0, horizon, WIDTH, HEIGHT), fill=rng.choice(GROUNDS))
    for _ in range(40):  # stones and ruts, so no two pictures are alike
        x, y = rng.randint(0, WIDTH), rng.randint(horizon + 10, HEIGHT)
        shade = rng.randint(60, 170)
        draw.ellipse((x, y, x + rng.randint(6, 40), y + rng.randint(3, 12)), fill=(shade, shade - 8, shade - 20))
    left = rng.randint(170, 250)
    top = rng.randint(150, 210)
    right, bottom = left + 560, top + 360
    for post in (left + 90, right - 110):  # the sign's two posts
        draw.rectangle((post, bottom, post + 20, min(HEIGHT, bottom + 220)), fill=(90, 90, 96))
    draw.rectangle((left, top, right, bottom), fill=(250, 250, 246), outline=(200, 30, 30), width=8)
    draw.rectangle((left + 8, top + 8, right - 8, top + 78), fill=(200, 30, 30))
    draw.text(((left + right) // 2, top + 43), "现场检查记录", font=_font(44), fill="white", anchor="mm")
    lines = [(f"桩号 {chainage}", 42), (section, 30), (finding, 34 if len(finding) <= 14 else 26),
             (taken.strftime("%Y-%m-%d %H:%M"), 28)]
    y = top + 110
    for text, size in lines:
        draw.text((left + 36, y), text, font=_font(size), fill=(30, 30, 30))
        y += size + 26
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82, exif=_camera_exif(taken, lat, lon))
    return out.getvalue()


def _camera_exif(taken: datetime, lat: float, lon: float) -> Image.Exif:
    exif = Image.Exif()
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
    details[ExifTags.Base.OffsetTimeOriginal] = taken.strftime("%z")[:3] + ":" + taken.strftime("%z")[3:]
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N" if lat >= 0 else "S", _dms(abs(lat))
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E" if lon >= 0 else "W", _dms(abs(lon))
    return exif


def _dms(degrees: float) -> tuple[float, float, float]:
    whole, rest = divmod(degrees * 3600, 3600)
    minutes, seconds = divmod(rest, 60)
    return float(whole), float(minutes), round(seconds, 2)
