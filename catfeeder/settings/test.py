"""Test settings: base.py plus only what tests need.

Each test run gets a directory of its own for the SQLite test database, the
embedded Redis socket, media and mail, so runs on one machine never collide.
The processes a test starts (server, worker, serve) inherit the variables and
so share it.

Under pytest-xdist each worker is a run of its own: a directory (so a SQLite
file and an embedded Redis) and, on a given REDIS_URL, a Redis database of its
own (Celery queues, cache, channel layer and locks never mix); pytest-django
suffixes the test database's name per worker.
"""

from __future__ import annotations

import os
import tempfile

from catfeeder.testing import redis_db_claim, redis_url_with_db

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...; "" without xdist
# The variables below are already this worker's when a process it started reads them;
# a worker itself inherits its controller's and makes its own.
_inherited = os.environ.get("CATFEEDER_TEST_WORKER", "") == _worker
os.environ["CATFEEDER_TEST_WORKER"] = _worker

_run_dir = (_inherited and os.environ.get("CATFEEDER_TEST_DIR")) or tempfile.mkdtemp(prefix="catfeeder-test-")
os.environ["CATFEEDER_TEST_DIR"] = _run_dir
os.environ["CATFEEDER_VAR_DIR"] = _run_dir

# The first worker takes the database it was given; the others claim one each (released at the end).
TEST_REDIS_CLAIM: tuple[str, int] | None = None
if not _inherited and _worker not in ("", "gw0") and os.environ.get("REDIS_URL"):
    _claim = f"test-{os.environ.get('PYTEST_XDIST_TESTRUNUID', '')[:12]}-{_worker}"
    TEST_REDIS_CLAIM = (_claim, redis_db_claim(os.environ["REDIS_URL"], _claim))
    os.environ["REDIS_URL"] = redis_url_with_db(os.environ["REDIS_URL"], TEST_REDIS_CLAIM[1])

from catfeeder.settings.base import *  # noqa: E402, F403
from catfeeder.settings.base import DATABASES, INSTALLED_APPS, VAR_DIR  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not the in-memory default, so that server and worker processes
    # started by tests see the same database as the test itself.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

# No collectstatic in tests: plain storage, files found where they live.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)

# Sweeps and fuzzing send thousands of requests from one client; the limits
# themselves are tested with overrides.
API_RATE_LIMIT_IP = API_RATE_LIMIT_USER = "100000/minute"
PAIRING_RATE_LIMITS = ["100000/m/ip", "5/10m/key"]  # every simulated feeder pairs from 127.0.0.1

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only

# Messages that fail on purpose, for the message framework's tests (kept out of the documents).
INSTALLED_APPS = [*INSTALLED_APPS, "apps.api.tests.messages_app.apps.MessagesTestAppConfig"]
