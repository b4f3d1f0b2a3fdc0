"""Where the bytes of the stored photos live: the database by default, or an S3-compatible bucket.

In the database (`photo_files`, as ODK Central keeps its attachments) a backup, a restore and any
number of API hosts need nothing more. `PHOTO_STORE=s3://bucket/prefix` (with `S3_ENDPOINT_URL` for a
store other than AWS) writes them to the bucket instead, through boto3; the rows stay in the database.
Either way a photo's files are keyed by the SHA-256 of its upload, so writing them twice is harmless.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from ..errors import Problem
from ..extensions import db, upsert_insert
from .models import PhotoFile

log = logging.getLogger(__name__)
UNAVAILABLE = "照片存储暂时不可用，请稍后重试。"


class DatabaseStore:
    def put(self, sha256: str, files: dict[str, bytes]) -> None:
        """Store the files of a photo (size -> JPEG) in the caller's transaction."""
        stmt = upsert_insert(PhotoFile.__table__).on_conflict_do_nothing(index_elements=["sha256", "size"])
        db.session.execute(stmt, [{"sha256": sha256, "size": size, "data": data} for size, data in files.items()])

    def get(self, sha256: str, size: str) -> bytes | None:
        return db.session.scalar(select(PhotoFile.data).where(PhotoFile.sha256 == sha256, PhotoFile.size == size))


class S3Store:
    """Objects `<prefix><sha256>/<size>.jpg` in one bucket of any S3-compatible store."""

    def __init__(self, url: str, endpoint_url: str | None):
        import boto3  # only when configured: it takes a while to import
        from botocore.config import Config

        parts = urlsplit(url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/") + "/" if parts.path.strip("/") else ""
        self.client = boto3.client("s3", endpoint_url=endpoint_url, config=Config(
            connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}))

    def key(self, sha256: str, size: str) -> str:
        return f"{self.prefix}{sha256}/{size}.jpg"

    def put(self, sha256: str, files: dict[str, bytes]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for size, data in files.items():
                self.client.put_object(Bucket=self.bucket, Key=self.key(sha256, size), Body=data,
                                       ContentType="image/jpeg")
        except (BotoCoreError, ClientError) as error:
            raise self._unavailable("writing", sha256, error) from None

    def _unavailable(self, doing: str, sha256: str, error: Exception) -> Problem:
        log.error("photo store %s: %s %s failed: %s", self.bucket, doing, sha256, error)
        return Problem(503, UNAVAILABLE, headers={"Retry-After": "30"})

    def get(self, sha256: str, size: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(sha256, size))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise self._unavailable("reading", sha256, error) from None
        except BotoCoreError as error:
            raise self._unavailable("reading", sha256, error) from None
        # Not in the bucket: a photo stored in the database before PHOTO_STORE was switched to S3.
        return DatabaseStore().get(sha256, size)


def photo_store() -> DatabaseStore | S3Store:
    """The configured store, made once per app (a boto3 client is thread-safe and keeps its connections)."""
    app = current_app
    if "photo_store" not in app.extensions:
        url = app.config.get("PHOTO_STORE") or "database"
        app.extensions["photo_store"] = (DatabaseStore() if url == "database"
                                         else S3Store(url, app.config.get("S3_ENDPOINT_URL")))
    return app.extensions["photo_store"]
