"""Photos (CONTRACT.md §6): upload, the stored copies, reading them back, and bad input refused with nothing
stored; entries carrying photos and a chainage (§3)."""
from __future__ import annotations

import csv
import hashlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import competition_body, free_port
from photo_support import QUADRANTS, STORED_AS, camera_exif, card_image, encode, photo, png_of_zeros
from PIL import Image
from sqlalchemy import func, select

from scoring import create_app
from scoring.extensions import db
from scoring.photos.models import Photo, PhotoFile

JPEG = "image/jpeg"


def upload(client, world, data: bytes, who: str = "sup1", content_type: str = JPEG, cid: int | None = None):
    url = f"/api/v1/competitions/{cid or world.cid}/photos"
    return client.post(url, data=data, headers={**world.headers(who), "Content-Type": content_type})


def fetch(client, world, photo_id: str, size: str = "full", who: str = "viewer", **headers):
    return client.get(f"/api/v1/photos/{photo_id}?size={size}", headers={**world.headers(who), **headers})


def stored(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Photo)),
                db.session.scalar(select(func.count()).select_from(PhotoFile)))


def position(body: dict) -> tuple[float, float]:
    return float(body["location"]["lat"]), float(body["location"]["lon"])


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- upload -----------------------------------------------------------------------------------------

def test_a_camera_photo_is_stored_upright_small_and_without_its_exif(app, client, world):
    taken = datetime(2025, 11, 2, 9, 41, 7)
    data = encode(card_image(3000, 4000), exif=camera_exif(orientation=6, taken=taken, offset="+07:00",
                                                           lat=(36.0, 27.0, 36.0), lon=(115.0, 58.0, 48.0)),
                  quality=92, comment=b"owner: SN-CAMERA-4711",
                  xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>36,27.6N</exif:GPSLatitude></x:xmpmeta>')
    r = upload(client, world, data)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["id"] == hashlib.sha256(data).hexdigest()
    # Turned upright (orientation 6: the 3000×4000 sensor image is a 4000×3000 picture), then 2048 px long.
    assert (body["width"], body["height"]) == (2048, 1536)
    # The camera's clock said 09:41:07 at +07:00: the same instant, shown in the competition's zone.
    assert datetime.fromisoformat(body["taken_at"]) == taken.replace(tzinfo=timezone(timedelta(hours=7)))
    assert body["taken_at"].endswith("+08:00")
    assert position(body) == pytest.approx((36.46, 115.98))

    full = fetch(client, world, body["id"])
    assert full.status_code == 200 and full.mimetype == JPEG
    assert body["bytes"] == len(full.data)
    image = opened(full.data)
    assert image.size == (2048, 1536) and image.format == "JPEG"
    assert not image.getexif() and "exif" not in image.info
    for secret in (b"Exif", b"HUAWEI", b"SN-CAMERA-4711", b"2025:11:02", b"xmpmeta", b"GPSLatitude"):
        assert secret not in full.data


def test_without_an_offset_the_camera_time_is_read_in_the_competitions_zone(client, world):
    r = upload(client, world, photo(taken=datetime(2025, 11, 3, 16, 20)))
    assert r.status_code == 201
    assert r.get_json()["taken_at"] == "2025-11-03T16:20:00+08:00"
    assert r.get_json()["location"] is None


def test_a_photo_without_exif_has_no_time_or_place(client, world):
    body = upload(client, world, photo()).get_json()
    assert body["taken_at"] is None and body["location"] is None
    assert (body["width"], body["height"]) == (640, 480)  # small photos keep their size


def test_southern_and_western_positions_are_negative(client, world):
    body = upload(client, world, photo(lat=(33.0, 52.0, 4.0), lat_ref="S", lon=(151.0, 12.0, 36.0),
                                       lon_ref="W")).get_json()
    assert position(body) == pytest.approx((-33.867778, -151.21))


def test_the_same_photo_again_is_the_same_answer_and_stored_once(app, client, world):
    data = photo(seed=5)
    first = upload(client, world, data)
    again = upload(client, world, data, who="admin")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert stored(app) == (1, 2)  # one photo: its full copy and its thumbnail


def test_concurrent_uploads_of_the_same_bytes_store_it_once(app, world):
    data = photo(1600, 1200, seed=9)
    start = threading.Barrier(6)
    answers = []

    def send():
        client = app.test_client()
        start.wait()
        answers.append(upload(client, world, data))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.status_code for r in answers) == [200] * 5 + [201]
    assert len({r.get_data() for r in answers}) == 1
    assert stored(app) == (1, 2)


def test_png_with_transparency_and_webp_are_kept_as_jpeg(client, world):
    logo = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    logo.paste((200, 0, 0, 255), (100, 50, 200, 150))
    for data, kind in ((encode(logo, "PNG"), "image/png"), (encode(card_image(), "WEBP"), "image/webp")):
        r = upload(client, world, data, content_type=kind)
        assert r.status_code == 201, r.get_json()
        image = opened(fetch(client, world, r.get_json()["id"]).data)
        assert image.format == "JPEG"
    assert image.getpixel((10, 10)) == pytest.approx((220, 30, 30), abs=12)  # the WebP's red corner
    png = opened(fetch(client, world, upload(client, world, encode(logo, "PNG"), content_type="image/png")
                       .get_json()["id"]).data)
    assert png.getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=3)  # transparent became white
    assert png.getpixel((150, 100)) == pytest.approx((200, 0, 0), abs=12)


@pytest.mark.parametrize("orientation", range(2, 9))
def test_each_exif_orientation_is_stored_upright(client, world, orientation):
    upright = card_image(400, 300)
    data = encode(upright.transpose(STORED_AS[orientation]), exif=camera_exif(orientation=orientation), quality=95)
    r = upload(client, world, data)
    assert r.status_code == 201
    assert (r.get_json()["width"], r.get_json()["height"]) == (400, 300)
    for size, scale in (("full", 1), ("thumb", 320 / 400)):
        image = opened(fetch(client, world, r.get_json()["id"], size).data).convert("RGB")
        assert image.size == (round(400 * scale), round(300 * scale))
        w, h = image.size
        for name, (x, y) in (("top_left", (w // 4, h // 4)), ("top_right", (3 * w // 4, h // 4)),
                             ("bottom_left", (w // 4, 3 * h // 4)), ("bottom_right", (3 * w // 4, 3 * h // 4))):
            assert image.getpixel((x, y)) == pytest.approx(QUADRANTS[name], abs=16), (orientation, size, name)


# -- reading a photo back ---------------------------------------------------------------------------

def test_a_photo_is_served_full_and_as_a_thumbnail_immutably(client, world):
    data = encode(card_image(4000, 3000))
    photo_id = upload(client, world, data).get_json()["id"]
    etags = set()
    for size, expected in (("full", (2048, 1536)), ("thumb", (320, 240))):
        r = fetch(client, world, photo_id, size)
        assert r.status_code == 200 and r.mimetype == JPEG
        assert opened(r.data).size == expected
        assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        etags.add(r.headers["ETag"])
        again = fetch(client, world, photo_id, size, **{"If-None-Match": r.headers["ETag"]})
        assert again.status_code == 304 and not again.data
        assert again.headers["ETag"] == r.headers["ETag"]
    assert len(etags) == 2
    assert fetch(client, world, photo_id).data == fetch(client, world, photo_id, who="sup2").data


def test_who_may_upload_and_read_photos(client, world, api):
    data = photo(seed=3)
    for who in ("viewer", "wall"):
        api.problem(upload(client, world, data, who=who), 403)
    other = client.post("/api/v1/competitions", json=competition_body(name="另一个赛"), headers=world.headers())
    r = upload(client, world, data, who="sup1", cid=other.get_json()["id"])
    api.problem(r, 403)
    assert "没有分配标段" in r.get_json()["detail"]
    photo_id = upload(client, world, data).get_json()["id"]
    api.problem(client.get(f"/api/v1/photos/{photo_id}"), 401)
    api.problem(fetch(client, world, photo_id, who="wall"), 403)
    for who in ("admin", "sup2", "viewer"):
        assert fetch(client, world, photo_id, who=who).status_code == 200


def test_unknown_photos_and_sizes_are_refused(client, world, api):
    photo_id = upload(client, world, photo()).get_json()["id"]
    api.problem(fetch(client, world, "0" * 64), 404)
    api.problem(fetch(client, world, "not-a-photo"), 404)
    api.problem(fetch(client, world, photo_id, size="huge"), 422, "size")
    api.problem(upload(client, world, photo(), cid=999), 404)


# -- bad input: refused, nothing stored --------------------------------------------------------------

def _truncated_jpeg() -> bytes:
    data = encode(card_image(1200, 900), quality=95)
    return data[: len(data) * 2 // 3]


BAD_UPLOADS = {
    "a 20 MB body": (lambda: b"\xff\xd8\xff" + b"\x00" * (20 * 1024 * 1024), JPEG, 413),
    "a PNG decompression bomb": (lambda: png_of_zeros(30_000, 30_000), "image/png", 422),
    "a PNG over 50 megapixels": (lambda: png_of_zeros(8_000, 7_000), "image/png", 422),
    "a text file called .jpg": (lambda: "现场检查记录：临边防护缺失\n".encode() * 50, JPEG, 422),
    "a truncated JPEG": (_truncated_jpeg, JPEG, 422),
    "a GIF": (lambda: encode(card_image(), "GIF"), "image/gif", 422),
    "a GIF sent as a JPEG": (lambda: encode(card_image(), "GIF"), JPEG, 422),
    "JSON": (lambda: b'{"photo": "x"}', "application/json", 422),
    "an empty body": (lambda: b"", JPEG, 422),
}


@pytest.mark.parametrize("case", BAD_UPLOADS)
def test_bad_uploads_are_refused_with_nothing_stored(app, client, world, case, api):
    make, content_type, status = BAD_UPLOADS[case]
    before = api.stored()
    body = api.problem(upload(client, world, make(), content_type=content_type), status)
    if "50 megapixels" in case or "bomb" in case:
        assert "像素过多" in body["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body  # a person reads it: Chinese
    assert api.stored() == before


@pytest.mark.parametrize("kind", ["JPEG", "WEBP"])  # a PNG chunk carries a CRC: damaged, the file is broken
def test_a_photo_with_a_damaged_exif_block_is_kept_without_time_or_place(client, world, kind):
    exif = camera_exif(orientation=6, taken=datetime(2025, 11, 2, 9, 0), lat=(36.0, 27.0, 0.0), lon=(115.0, 58.0, 0.0))
    data = encode(card_image(), kind, exif=exif)
    at = data.index(exif.tobytes()[6:10]) + 1  # the second letter of the TIFF byte-order mark (II or MM)
    r = upload(client, world, data[:at] + b"6" + data[at + 1:], content_type=f"image/{kind.lower()}")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["taken_at"] is None and r.get_json()["location"] is None


def test_damaged_photos_are_refused_or_kept_never_a_500(client, world):
    """Bytes flipped, cut out and inserted at random in a camera JPEG, a PNG and a WebP (EXIF included)."""
    import random

    rng = random.Random(15)
    exif = {"orientation": 6, "taken": datetime(2025, 11, 2, 9, 0), "offset": "+08:00", "lat": (36.0, 27.0, 0.0),
            "lon": (115.0, 58.0, 0.0)}
    sources = [encode(card_image(120, 90), kind, exif=camera_exif(**exif)) for kind in ("JPEG", "PNG", "WEBP")]
    answers = set()
    for _ in range(150):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 6)):
            at, roll = rng.randrange(len(data)), rng.random()
            if roll < 0.6:
                data[at] = rng.randrange(256)
            elif roll < 0.8:
                del data[at:at + rng.randint(1, 40)]
            else:
                data[at:at] = rng.randbytes(rng.randint(1, 16))
        r = upload(client, world, bytes(data))
        assert r.status_code in (200, 201, 422), (r.status_code, r.get_data()[:300])
        answers.add(r.status_code)
    assert answers >= {201, 422}


def test_the_photo_limit_leaves_the_json_limit_alone(app, client, world, api):
    """15 MB for a photo does not raise MAX_BODY_BYTES for the JSON API."""
    data = encode(Image.effect_noise((2600, 2600), 80).convert("RGB"), quality=100)
    assert app.config["MAX_CONTENT_LENGTH"] < len(data) < 15 * 1024 * 1024
    big = upload(client, world, data)
    assert big.status_code == 201 and big.get_json()["width"] == 2048
    note = "x" * app.config["MAX_CONTENT_LENGTH"]
    api.problem(client.post(world.url("/entries"), json=api.entry(note=note), headers=world.headers("sup1")), 413)


# -- entries with photos and a chainage -------------------------------------------------------------

@pytest.fixture
def two_photos(client, world) -> list[str]:
    return [upload(client, world, photo(seed=s)).get_json()["id"] for s in (1, 2)]


def test_an_entry_carries_its_chainage_and_photos_in_order(client, world, api, two_photos):
    second, first = two_photos
    posted = api.post(who="sup1", client_id="tablet-1", chainage="K12+045", photos=[first, second])
    assert posted["chainage"] == "K12+045" and posted["photos"] == [first, second]
    listed = client.get(world.url("/entries"), headers=world.headers("viewer")).get_json()
    assert [(e["chainage"], e["photos"]) for e in listed] == [("K12+045", [first, second])]
    plain = api.post(who="sup1")
    assert plain["chainage"] is None and plain["photos"] == []


def test_a_resend_compares_photos_and_chainage(client, world, api, two_photos):
    a, b = two_photos
    first = api.entry(client_id="t-1", chainage="K3+200", photos=[a, b])
    api.post(first, who="sup1")
    same = api.post({**first, "chainage": "K003+200", "photos": [a.upper(), b]}, who="sup1", status=200)
    assert same["photos"] == [a, b]
    for changed in ({"photos": [b, a]}, {"photos": [a]}, {"photos": []}, {"chainage": "K3+201"},
                    {"chainage": None}):
        api.post({**first, **changed}, who="sup1", status=409)
    batch = client.post(world.url("/entries"), headers=world.headers("sup1"), json={"entries": [
        first, api.entry(client_id="t-1", photos=[a, b]),
        api.entry(client_id="t-2", photos=[b]), api.entry(client_id="t-2", photos=[a])]})
    assert [r["status"] for r in batch.get_json()["results"]] == ["duplicate", "conflict", "created", "conflict"]


@pytest.mark.parametrize("chainage", ["K15+001", "K45+000", "K99+999"])
def test_a_chainage_outside_the_section_is_invalid(api, chainage):
    before = api.stored()
    body = api.post(who="sup1", section="LJ-01", chainage=chainage, status=422)
    message = body["errors"]["chainage"][0]
    assert "不在标段 LJ-01 的范围 K0+000–K15+000 内" in message and "outside section LJ-01" in message
    assert api.stored() == before


def test_a_chainage_at_either_end_of_the_section_is_valid(api):
    for chainage in ("K15+000", "K30+000"):
        api.post(who="sup2", section="LJ-02", chainage=chainage)


@pytest.mark.parametrize("chainage", ["k1+000", "K1+50", "K1+0500", "K1", "1+000", "K1+000 ", "K+100", 23450])
def test_a_malformed_chainage_is_invalid(api, chainage):
    body = api.post(who="sup1", chainage=chainage, status=422)
    assert "K23+450" in body["errors"]["chainage"][0]


def test_photos_must_be_uploaded_to_the_same_competition_first(client, world, api, two_photos):
    other = client.post("/api/v1/competitions", json=competition_body(name="另一个赛"), headers=world.headers())
    elsewhere = upload(client, world, photo(seed=7), who="admin", cid=other.get_json()["id"]).get_json()["id"]
    before = api.stored()
    for photos, fragment in (([two_photos[0], "ab" * 32], "尚未上传"), ([elsewhere], "尚未上传"),
                             ([two_photos[0]] * 2, "只能出现一次"), ([two_photos[0]] * 10, "最多 9 张"),
                             (["not-a-hash"], "SHA-256")):
        body = api.post(who="sup1", photos=photos, status=422)
        assert fragment in str(body["errors"]["photos"]), body
    assert api.stored() == before
    nine = [upload(client, world, photo(seed=20 + i)).get_json()["id"] for i in range(9)]
    api.post(who="sup1", photos=nine)


def test_exports_and_the_report_show_how_many_photos_an_entry_has(client, world, api, months, two_photos):
    month = months.last
    api.post(who="sup1", photos=two_photos, note="临边防护缺失", points=2, observed_at=months.at(month, 5, 9))
    api.post(who="sup1", note="检查未发现问题", points=0, observed_at=months.at(month, 6, 9))
    csv_text = client.get(world.url(f"/exports/entries.csv?period={month}"), headers=world.headers()).data
    header, *rows = list(csv.reader(io.StringIO(csv_text.decode("utf-8-sig"))))
    column = header.index("照片")
    assert {row[header.index("说明")]: row[column] for row in rows} == {"临边防护缺失": "2", "检查未发现问题": "0"}
    text = client.get(world.url(f"/reports/{month}?format=text&scope=LJ-01"), headers=world.headers()).data.decode()
    assert "临边防护缺失（照片 2 张）" in text
    html = client.get(world.url(f"/reports/{month}?scope=LJ-01"), headers=world.headers()).data.decode()
    assert ">照片</th>" in html


# -- settings ------------------------------------------------------------------------------------

@pytest.mark.parametrize("env,fragment", [
    ({"PHOTO_STORE": "disk"}, "PHOTO_STORE"),
    ({"PHOTO_STORE": "s3://"}, "PHOTO_STORE"),
    ({"PHOTO_STORE": "s3://Bad_Bucket/x"}, "PHOTO_STORE"),
    ({"PHOTO_STORE": "s3://photos", "S3_ENDPOINT_URL": "minio:9000"}, "S3_ENDPOINT_URL"),
    ({"PHOTO_STORE": "s3://photos", "S3_ENDPOINT_URL": "http://s3.local:port"}, "S3_ENDPOINT_URL"),
    ({"S3_ENDPOINT_URL": "http://127.0.0.1:9000"}, "S3_ENDPOINT_URL"),
])
def test_photo_store_settings_are_checked(env, fragment):
    import config

    with pytest.raises(config.ConfigError, match=fragment):
        config.load(env)


def test_photo_store_settings_when_good():
    import config

    assert config.load({})["PHOTO_STORE"] == "database"
    settings = config.load({"PHOTO_STORE": "s3://site-photos/wubiwusai", "S3_ENDPOINT_URL": "http://127.0.0.1:9000"})
    assert (settings["PHOTO_STORE"], settings["S3_ENDPOINT_URL"]) == ("s3://site-photos/wubiwusai",
                                                                      "http://127.0.0.1:9000")


def test_the_photo_time_is_kept_in_utc(app, client, world):
    upload(client, world, photo(taken=datetime(2025, 11, 3, 16, 20), offset="+08:00"))
    with app.app_context():
        assert db.session.scalar(select(Photo.taken_at)) == datetime(2025, 11, 3, 8, 20, tzinfo=UTC)


# -- an S3-compatible store (moto's standalone server, a real process) --------------------------------

@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"moto server did not start: {server.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.2)
    yield url
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(10)


@pytest.fixture
def s3_app(database_url, s3_endpoint, monkeypatch, world):
    """The app with PHOTO_STORE in a bucket, on the same database as `app` (and `world`)."""
    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = boto3.resource("s3", endpoint_url=s3_endpoint).Bucket("site-photos")
    if not bucket.creation_date:
        bucket.create()
    bucket.objects.all().delete()
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                      "PHOTO_STORE": "s3://site-photos/wubiwusai/", "S3_ENDPOINT_URL": s3_endpoint})
    yield app, bucket
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_with_an_s3_store_the_bytes_live_in_the_bucket(app, client, world, s3_app, api):
    s3, bucket = s3_app
    before_switch = upload(client, world, photo(seed=41)).get_json()["id"]  # in the database
    s3_client = s3.test_client()
    data = encode(card_image(3000, 2000))
    first = upload(s3_client, world, data)
    assert first.status_code == 201, first.get_json()
    photo_id = first.get_json()["id"]
    assert upload(s3_client, world, data).get_json() == first.get_json()
    keys = sorted(o.key for o in bucket.objects.all())
    assert keys == [f"wubiwusai/{photo_id}/full.jpg", f"wubiwusai/{photo_id}/thumb.jpg"]
    assert stored(app) == (2, 2)  # two photo rows; only the one from before the switch has its bytes here
    full = fetch(s3_client, world, photo_id)
    assert full.data == bucket.Object(f"wubiwusai/{photo_id}/full.jpg").get()["Body"].read()
    assert opened(full.data).size == (2048, 1365)
    assert opened(fetch(s3_client, world, photo_id, "thumb").data).size == (320, 213)
    # Photos stored in the database before PHOTO_STORE was switched are still served.
    assert opened(fetch(s3_client, world, before_switch).data).size == (640, 480)
    api.post(who="sup1", photos=[photo_id])


def test_an_unreachable_s3_store_is_503_with_nothing_stored(app, database_url, world, monkeypatch, api):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    down = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "PHOTO_STORE": "s3://site-photos",
                       "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})
    before = api.stored()
    r = upload(down.test_client(), world, photo(seed=42))
    body = api.problem(r, 503)
    assert r.headers["Retry-After"] and "照片存储" in body["detail"]
    assert api.stored() == before
    with down.app_context():
        db.engine.dispose()


def test_the_demo_draws_its_sign_without_a_cjk_font_too(monkeypatch):
    """A fresh machine without a CJK font still loads the demo (Pillow's own font draws boxes)."""
    import random

    from scoring import demo_photos

    monkeypatch.setattr(demo_photos, "cjk_font_path", lambda: None)
    demo_photos._font.cache_clear()
    try:
        data = demo_photos.site_photo(random.Random(1), chainage="K27+350", section="LJ-03 顾官屯镇段",
                                      finding="临边防护缺失", taken=datetime(2025, 11, 5, 10, 15, tzinfo=UTC),
                                      lat=36.45, lon=115.98)
    finally:
        demo_photos._font.cache_clear()
    assert opened(data).size == (demo_photos.WIDTH, demo_photos.HEIGHT)
