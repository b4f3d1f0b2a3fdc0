"""Photo upload against Pillow alone: `python -m bench.photos [--photos N] [--smoke]`.

The server's time per photo — a POST /competitions/{cid}/photos of a new 4000×3000 camera JPEG through
the whole app (token check, SHA-256, EXIF, decode, upright, 2048 px copy, 320 px thumbnail, database
store, audit, commit), in this process through the WSGI interface — is compared with Pillow's own
decode + exif_transpose + resize + encode of the same file, also in this process. The two sides
alternate photo by photo (A B, B A …) so that other work on the machine falls on both alike; the ratio
of the medians is the figure (target ≤ 1.3×).

SQLite in a temporary directory by default; BENCH_DATABASE_URL=postgresql+psycopg://… for PostgreSQL
(a scratch database `scoring_bench_photos` is made next to the one named).
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import ExifTags, Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
SIZE = (4000, 3000)
TARGET = 1.3


def camera_jpegs(count: int) -> list[bytes]:
    """`count` distinct 4000×3000 JPEGs with a camera's EXIF, as busy as a site photo (~4 MB each)."""
    base = Image.merge("RGB", [Image.linear_gradient("L").resize(SIZE),
                               Image.effect_noise(SIZE, 16).convert("L"),
                               Image.radial_gradient("L").resize(SIZE)])
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 1
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:11:05 10:15:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (36.0, 27.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (115.0, 58.0, 48.0)
    photos = []
    for n in range(count):
        base.putpixel((n, 0), (n % 256, 0, 0))  # a different file, the same work
        out = io.BytesIO()
        base.save(out, "JPEG", quality=90, exif=exif)
        photos.append(out.getvalue())
    return photos


def pillow_alone(data: bytes) -> bytes:
    """What Pillow itself needs for the stored copy: decode, turn upright, resize, encode."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    image.thumbnail((2048, 2048))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _database_url(workdir: Path) -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        return f"sqlite:///{workdir / 'photos.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS scoring_bench_photos WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE scoring_bench_photos"))
    admin.dispose()
    return parsed.set(database="scoring_bench_photos").render_as_string(hide_password=False)


def measure(photos: int = 12, log=lambda message: None) -> dict:
    """Median seconds per photo of the upload and of Pillow alone, and their ratio."""
    from flask_migrate import upgrade

    from scoring import create_app
    from scoring.auth.operations import create_user, issue_token
    from scoring.competitions.models import Competition
    from scoring.extensions import db

    with tempfile.TemporaryDirectory() as workdir:
        url = _database_url(Path(workdir))
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING",
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            # A photo needs only its competition (for the time zone) and an uploader.
            competition = Competition(name="bench", organizer="bench", timezone="Asia/Shanghai",
                                      tie_break_codes="safety")
            db.session.add(competition)
            token, _ = issue_token(create_user("bench-admin", "admin"))
            db.session.commit()
            url_path = f"/api/v1/competitions/{competition.id}/photos"
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
        log(f"making {photos + 1} photos of {SIZE[0]}×{SIZE[1]} …")
        files = camera_jpegs(photos + 1)
        warm = client.post(url_path, data=files[-1], headers=headers)  # imports, first connection
        assert warm.status_code == 201, warm.get_json()
        upload_times, pillow_times = [], []

        def time_upload(data: bytes) -> None:
            start = time.perf_counter()
            response = client.post(url_path, data=data, headers=headers)
            upload_times.append(time.perf_counter() - start)
            assert response.status_code == 201, response.get_json()

        def time_pillow(data: bytes) -> None:
            start = time.perf_counter()
            pillow_alone(data)
            pillow_times.append(time.perf_counter() - start)

        for n, data in enumerate(files[:photos]):
            for side in ((time_upload, time_pillow) if n % 2 == 0 else (time_pillow, time_upload)):
                side(data)
        start = time.perf_counter()
        resent = client.post(url_path, data=files[0], headers=headers)
        resend = time.perf_counter() - start
        assert resent.status_code == 200
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    upload, pillow = statistics.median(upload_times), statistics.median(pillow_times)
    return {"photos": photos, "bytes": statistics.median(len(f) for f in files), "upload": upload,
            "pillow": pillow, "ratio": upload / pillow, "resend": resend,
            "database": "PostgreSQL" if url.startswith("postgresql") else "SQLite"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--smoke", action="store_true", help="three photos, to see that it runs")
    args = parser.parse_args()
    result = measure(3 if args.smoke else args.photos, log=lambda m: print(m, file=sys.stderr, flush=True))
    verdict = "met" if result["ratio"] <= TARGET else "**missed**"
    print("| measure | result | compared with, in the same run | ratio | target | |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| photo upload, 4000×3000 JPEG ({result['bytes'] / 1e6:.1f} MB), {result['database']} | "
          f"{result['upload'] * 1000:.0f} ms | Pillow decode+exif_transpose+resize+encode "
          f"{result['pillow'] * 1000:.0f} ms (median of {result['photos']}) | {result['ratio']:.2f}× | "
          f"≤ {TARGET}× | {verdict} |")
    print(f"\nthe same photo sent again (200, nothing decoded): {result['resend'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
