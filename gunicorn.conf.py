"""gunicorn settings; everything can be overridden on the command line or by the environment."""
import multiprocessing
import os
import sys

from config import ConfigError as _ConfigError
from config import load as _load_settings

# Every public name here is read as a gunicorn setting ("config" is one), hence the underscores.
try:  # a bad setting stops the master with one line, before any worker boots
    _settings = _load_settings()
except _ConfigError as _error:
    sys.exit(f"configuration error: {_error}")

bind = os.environ.get("BIND", f"127.0.0.1:{_settings['PORT']}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = 30
graceful_timeout = 10
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
loglevel = _settings["LOG_LEVEL"].lower()
proc_name = "scoring"
# Several instances on one machine (tests, benchmarks) would share ~/.gunicorn's control socket.
control_socket_disable = True
