"""The WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`, `flask --app wsgi …`."""
import sys

from config import ConfigError
from scoring import create_app

try:
    app = create_app()
except ConfigError as error:
    sys.exit(f"configuration error: {error}")
