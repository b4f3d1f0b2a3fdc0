"""Serves the web app: its page, service worker, manifest and static files, under a strict CSP.

The app is plain JavaScript modules and CSS from `static/` — no build step. It speaks only the public
JSON API (a bearer token, no cookies). The service worker's precache list and version are written into
`sw.js` when it is served, from the files as they are on disk, so a deployment with any changed file
is a new worker version and tablets pick it up at their next load.
"""
from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, redirect, request

bp = Blueprint("webapp", __name__, static_folder="static", static_url_path="/app/static")

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"index.html": "text/html; charset=utf-8",
         "manifest.webmanifest": "application/manifest+json; charset=utf-8"}
SW_MARKER = "/* the server writes the build here */ null"

# Nothing from elsewhere; no inline script or style; photos are shown from blob: URLs (fetched with the
# token) and the camera's previews from blob:/data:.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
       "connect-src 'self'; worker-src 'self'; manifest-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


OFFICE = "office/"  # the console and leaders' screens: loaded on demand, online, never by a supervisor's tablet


def shell_files() -> list[str]:
    """Every file the app needs to open offline, as URLs (the office's screens need the network anyway)."""
    static = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*")
                    if p.is_file() and p.name not in PAGES and p.name != "sw.js"
                    and not p.relative_to(STATIC).as_posix().startswith(OFFICE))
    return ["/app/", "/app/manifest.webmanifest", *(f"/app/static/{name}" for name in static)]


@cache
def build() -> dict:
    """The shell's file list and a version that changes whenever any file of the app does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC).as_posix().encode() + b"\0" + path.read_bytes())
    return {"version": digest.hexdigest()[:16], "shell": shell_files()}


def _send(name: str, mimetype: str, text: str | None = None) -> Response:
    body = text if text is not None else (STATIC / name).read_bytes()
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-cache"  # revalidated each time; offline it is the worker's copy
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/app")
def app_root():
    return redirect("/app/", 308)


@bp.get("/app/")
def index():
    return _send("index.html", PAGES["index.html"])


@bp.get("/app/manifest.webmanifest")
def manifest():
    return _send("manifest.webmanifest", PAGES["manifest.webmanifest"])


@bp.get("/app/sw.js")
def service_worker():
    source = (STATIC / "sw.js").read_text(encoding="utf-8")
    return _send("sw.js", "text/javascript; charset=utf-8",
                 source.replace(SW_MARKER, json.dumps(build(), separators=(",", ":"))))


@bp.after_request
def app_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    if request.endpoint == "webapp.static":
        response.headers["Cache-Control"] = "no-cache"
    return response
