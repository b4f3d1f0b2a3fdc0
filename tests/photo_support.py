"""Images for the photo tests, made with Pillow (and a PNG bomb written chunk by chunk)."""
from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime

from PIL import ExifTags, Image

# An upright test card: four quadrants of clearly different colours.
QUADRANTS = {"top_left": (220, 30, 30), "top_right": (30, 200, 30), "bottom_left": (30, 30, 220),
             "bottom_right": (240, 240, 240)}
# What a camera stores for each EXIF orientation, given the upright picture: the inverse of the turn a
# viewer applies (2 = mirrored, 3 = upside down, 6 = held upright so the viewer turns it 90° clockwise …).
STORED_AS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_270}


def card_image(width: int = 400, height: int = 300) -> Image.Image:
    card = Image.new("RGB", (width, height))
    w, h = width // 2, height // 2
    for name, box in (("top_left", (0, 0, w, h)), ("top_right", (w, 0, width, h)),
                      ("bottom_left", (0, h, w, height)), ("bottom_right", (w, h, width, height))):
        card.paste(QUADRANTS[name], box)
    return card


def encode(image: Image.Image, kind: str = "JPEG", exif: Image.Exif | None = None, **options) -> bytes:
    out = io.BytesIO()
    if exif is not None:
        options["exif"] = exif
    image.save(out, kind, **options)
    return out.getvalue()


def camera_exif(*, orientation: int | None = None, taken: datetime | None = None, offset: str | None = None,
                lat: tuple | None = None, lon: tuple | None = None, lat_ref: str = "N",
                lon_ref: str = "E") -> Image.Exif:
    """EXIF as a phone writes it: orientation, DateTimeOriginal (+ OffsetTimeOriginal), GPS, camera serial."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HUAWEI"
    exif[ExifTags.Base.Model] = "MatePad 11"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.BodySerialNumber] = "SN-CAMERA-4711"
    if taken is not None:
        details[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if offset is not None:
        details[ExifTags.Base.OffsetTimeOriginal] = offset
    if lat is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = lat_ref, lat
        gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = lon_ref, lon
    return exif


def photo(width: int = 640, height: int = 480, seed: int = 0, **exif) -> bytes:
    """A small distinct JPEG (seed changes its bytes, so its id)."""
    image = card_image(width, height)
    image.putpixel((seed % width, 0), (seed % 256, 7, 7))
    return encode(image, exif=camera_exif(**exif) if exif else None)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_of_zeros(width: int, height: int) -> bytes:
    """A valid 1-bit PNG that is tiny on the wire and huge once decoded (a decompression bomb when large)."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    compressed = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", compressed) + _chunk(b"IEND", b"")
