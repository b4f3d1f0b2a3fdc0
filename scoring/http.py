"""Request and response hooks: the SQLite read path, security headers, CORS, the docs' assets."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, request, send_from_directory

from .api import problem_response
from .extensions import sqlite_read_only

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def init_app(app: Flask) -> None:
    @app.before_request
    def mark_read_only():
        sqlite_read_only.set(request.method in SAFE_METHODS)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith("/api/docs"):
            headers.setdefault("Content-Security-Policy",
                               "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self' 'unsafe-inline'")
        else:
            headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        _cors(app, response)
        return response

    @app.errorhandler(RecursionError)
    def too_deep(_error):
        return problem_response(400, "The JSON body is nested too deeply.")

    try:
        import swagger_ui_bundle

        assets = Path(swagger_ui_bundle.swagger_ui_path)
    except ImportError:  # pragma: no cover - it is in requirements.txt
        assets = None

    @app.get("/api/docs/assets/<path:name>")
    def docs_assets(name):
        if assets is None:
            return problem_response(404, "The Swagger UI assets are not installed.")
        return send_from_directory(assets, name, max_age=86400)


def _cors(app: Flask, response) -> None:
    """Closed unless CORS_ORIGINS lists the origin (a tablet web app served from elsewhere)."""
    origin = request.headers.get("Origin")
    if not origin or origin not in app.config["CORS_ORIGINS"]:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers.add("Vary", "Origin")
    response.headers["Access-Control-Expose-Headers"] = "ETag, X-Total-Count, Link"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, If-None-Match"
        response.headers["Access-Control-Max-Age"] = "600"
