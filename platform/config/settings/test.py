"""Test layer: fast hashing, a temporary data folder, separate Redis databases."""

import os
import tempfile
from pathlib import Path

# One data folder per test process: parallel (xdist) workers must not see each other's stored
# files, since tests assert that a rejected upload leaves the storage folder unchanged.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_test_root = os.environ.setdefault("RADLOOP_TEST_ROOT", tempfile.mkdtemp(prefix="radloop-test-"))
os.environ["RADLOOP_DATA_DIR"] = os.path.join(_test_root, _worker or "main")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")

from .base import *  # noqa: E402,F403
from .base import DATA_DIR  # noqa: E402

DEBUG = False
# No pretraining behind the suite's back (a pretrain run holds the project's one running slot);
# the pretraining tests turn it on.
LEARNING_PRETRAIN_GROWTH = 0.0
# Health tests start and stop workers between requests: every /healthz pings afresh unless a
# test turns the reuse on.
HEALTH_WORKERS_CACHE_S = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(DATA_DIR) / "media"
STATIC_ROOT = Path(DATA_DIR) / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# A file, not ":memory:", for the SQLite test database: the Celery worker fixture and live_server
# run in other processes/threads and must see the same rows.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(Path(DATA_DIR) / "test-radloop.sqlite3")}  # noqa: F405

# One Redis database per xdist worker, so parallel test processes never take each other's tasks.
_redis_db = 13 - int(_worker[2:]) if _worker.startswith("gw") and _worker[2:].isdigit() else 13
REDIS_URL = os.environ.get("REDIS_URL_TEST", f"redis://127.0.0.1:6379/{_redis_db}")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CACHES = {
    "default": {
        "BACKEND": "core.redis_cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "radloop-test",
    }
}
