"""The 五比五赛 scoring service: a Flask JSON API for the "five comparisons, five competitions"."""
from __future__ import annotations

import logging

from flask import Flask


def create_app(settings: dict | None = None) -> Flask:
    """Build the app. `settings` overrides what `config.load()` reads from the environment."""
    import config

    from . import cli, http, models  # noqa: F401 - models: every table registered
    from .api import Api, JSONProvider
    from .extensions import db, migrate

    app = Flask(__name__, instance_relative_config=True)
    app.json_provider_class = JSONProvider
    app.json = JSONProvider(app)
    app.config.from_mapping(config.load())
    app.config.from_mapping(API_SETTINGS)
    app.config.from_mapping(settings or {})
    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A pooled connection that died with a PostgreSQL restart is found (a `SELECT 1` on checkout)
        # and replaced before a request uses it: a reader sees no outage that is already over.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {}).setdefault("pool_pre_ping", True)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # request.remote_addr becomes the address the nearest trusted proxy saw (the audit trail and the
        # login limit use it); X-Forwarded-For from anyone else stays ignored.
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=0, x_host=0, x_port=0, x_prefix=0)
    db.init_app(app)
    migrate.init_app(app, db)
    api = Api(app)
    http.init_app(app, api)
    register_blueprints(app, api)
    http.commit_writes(app)
    cli.init_app(app)
    return app


API_SETTINGS = {
    "API_TITLE": "五比五赛 scoring service",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",  # served from the package: no CDN on site
    "API_SPEC_OPTIONS": {
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    },
}


def register_blueprints(app: Flask, api) -> None:
    from .audit.routes import blp as audit
    from .auth.routes import blp as auth
    from .channels.routes import blp as channels
    from .competitions.routes import blp as competitions
    from .entries.routes import blp as entries
    from .entries.schemas import EntryBatchIn, EntryIn
    from .health import bp as health
    from .notices.routes import blp as notices
    from .periods.routes import blp as periods
    from .photos.routes import blp as photos
    from .reports.routes import blp as reports
    from .standings.routes import blp as standings
    from .vetoes.routes import blp as vetoes
    from .wall.routes import bp as wall
    from .webapp.routes import bp as webapp

    for blueprint in (auth, competitions, entries, notices, photos, vetoes, periods, standings, reports, channels,
                      audit):
        api.register_blueprint(blueprint)
    for name, schema in (("EntryIn", EntryIn), ("EntryBatchIn", EntryBatchIn)):
        if name not in api.spec.components.schemas:
            api.spec.components.schema(name, schema=schema)
    app.register_blueprint(health)
    app.register_blueprint(wall)
    app.register_blueprint(webapp)
