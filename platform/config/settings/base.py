"""Settings for every layer, read from the environment with defaults that let a fresh checkout run.

Local default: SQLite and files under var/, Redis on 127.0.0.1:6379, DEBUG on.
production.py tightens this; test.py speeds it up.
"""

from __future__ import annotations

import json
from pathlib import Path

import dj_database_url

from config.env import env_bool, env_int, env_list, env_str, local_secret_key
from config.paths import REPO_ROOT

BASE_DIR = REPO_ROOT
DATA_DIR = Path(env_str("RADLOOP_DATA_DIR", str(REPO_ROOT / "var"))).resolve()

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY") or local_secret_key(DATA_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, not a CDN
    "axes",  # login throttling and lockout (docs/operations.md, "Login lockout")
    "core",
    "studies",
    "annotations",
    "learning",
    "annotations.exports",
    "reports",
]

# The module through which `studies` reaches projects (platform/studies/projects_seam.py): studies
# imports nothing above it, annotations plugs in here (docs/decisions/0911).
STUDIES_PROJECT_SEAM = "annotations.studies_seam"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # DICOMweb GETs (hundreds per viewed series) and token-authenticated DICOMweb writes are
    # answered here without the middleware below; it does the parts of them such a request needs
    # (docs/decisions/0123, 0132). A middleware that must see them goes above this line.
    "studies.dicomweb.lean_reads.LeanDicomwebReads",
    # Above WhiteNoise so static files carry the policy too: a web worker runs under the CSP of
    # its own script's response (docs/decisions/0160).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'radloop.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        # A kept connection is checked before a request reuses it, so a database restart costs
        # no failed request (requests that never touch the database skip the check).
        conn_health_checks=env_int("DB_CONN_MAX_AGE", 0) > 0,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web server read while the worker writes; the timeout waits out short write
    # locks. IMMEDIATE takes the write lock when a transaction begins, where the timeout applies:
    # a deferred transaction that read first fails at once with "database is locked" when it
    # tries to write after another connection did (docs/decisions/0140).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env_int("SQLITE_BUSY_TIMEOUT_S", 20),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): AxesStandaloneBackend first refuses a locked-out
# username+address before any password is checked. Failures are rows (AccessAttempt), so an
# admin lifts a lockout in the Django admin or with `manage.py axes_reset_username NAME`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 30) / 60  # hours; an admin can lift it sooner
# Username and address together: a guesser is stopped, while someone who knows a colleague's
# username cannot lock that colleague out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # no row per successful login; failures are what lockout needs
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
# Axes prints a banner at start-up; an entry point must fail in one line (test_config_failfast).
AXES_VERBOSE = False
# Reverse proxies in front of the web process that append to X-Forwarded-For (docker: Caddy, 1).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Team invitations (docs/projects.md): a project admin who invites an e-mail address nobody has
# creates an inactive account and a one-time link to set its password. Off: only existing
# accounts can be added. The link is also e-mailed through EMAIL_BACKEND; the embedded default
# prints mail to the console, so the admin copies the link the page shows.
ALLOW_INVITE_SIGNUP = env_bool("ALLOW_INVITE_SIGNUP", True)
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_S", 10)
# /healthz reuses its Celery ping's verdict this long per web process (core.health).
HEALTH_WORKERS_CACHE_S = env_int("HEALTH_WORKERS_CACHE_S", 5)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "radloop@localhost")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# The web image collects static files at build time outside the data volume (docker/Dockerfile.web).
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static"))).resolve()
FRONTEND_DIST = REPO_ROOT / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"

# Image storage: content-addressed files under DICOM_STORAGE_DIR unless an S3 bucket is configured.
DICOM_STORAGE_DIR = Path(env_str("DICOM_STORAGE_DIR", str(DATA_DIR / "dicom"))).resolve()
DICOM_STORAGE_BACKEND = env_str("DICOM_STORAGE_BACKEND", "filesystem")  # filesystem | s3
DICOM_MAX_UPLOAD_BYTES = env_int("DICOM_MAX_UPLOAD_BYTES", 512 * 1024 * 1024)
# Zip archives (browser upload, import_dicom): refused whole beyond these (zip bombs).
DICOM_MAX_ARCHIVE_BYTES = env_int("DICOM_MAX_ARCHIVE_BYTES", 8 * 1024 * 1024 * 1024)
DICOM_MAX_ARCHIVE_RATIO = env_int("DICOM_MAX_ARCHIVE_RATIO", 100)
DICOM_MAX_ARCHIVE_ENTRIES = env_int("DICOM_MAX_ARCHIVE_ENTRIES", 100_000)
# `import_dicom --workers N`: a file whose check (parse, validate, decode) has not come back from
# its process after this long is rejected with that reason instead of stalling the import.
DICOM_IMPORT_CHECK_TIMEOUT_S = env_int("DICOM_IMPORT_CHECK_TIMEOUT_S", 300)
# S3-compatible storage (DICOM_STORAGE_BACKEND=s3); credentials the usual boto3 way.
DICOM_S3_BUCKET = env_str("DICOM_S3_BUCKET", "")
DICOM_S3_ENDPOINT_URL = env_str("DICOM_S3_ENDPOINT_URL", "")
DICOM_S3_REGION = env_str("DICOM_S3_REGION", "")
DICOM_S3_PREFIX = env_str("DICOM_S3_PREFIX", "dicom")
# Base of absolute DICOMweb URLs (RetrieveURL, BulkDataURI); must include the port (PS3.18 §8.3.2).
DICOMWEB_BASE_URL = env_str("DICOMWEB_BASE_URL", "")
# Proxy mode: an upstream DICOMweb server is the source of truth for pixels.
DICOMWEB_UPSTREAM_URL = env_str("DICOMWEB_UPSTREAM_URL", "")
DICOMWEB_UPSTREAM_CACHE_DIR = env_str(
    "DICOMWEB_UPSTREAM_CACHE_DIR", str(DATA_DIR / "upstream-cache")
)
DICOMWEB_UPSTREAM_CACHE_BYTES = env_int("DICOMWEB_UPSTREAM_CACHE_BYTES", 2 * 1024**3)
DICOMWEB_UPSTREAM_TIMEOUT_S = env_int("DICOMWEB_UPSTREAM_TIMEOUT_S", 30)
# The upstream's credentials: HTTP basic (user + password) or a bearer token, not both.
DICOMWEB_UPSTREAM_USER = env_str("DICOMWEB_UPSTREAM_USER", "")
DICOMWEB_UPSTREAM_PASSWORD = env_str("DICOMWEB_UPSTREAM_PASSWORD", "")
DICOMWEB_UPSTREAM_BEARER_TOKEN = env_str("DICOMWEB_UPSTREAM_BEARER_TOKEN", "")
MODEL_STORAGE_DIR = Path(env_str("MODEL_STORAGE_DIR", str(DATA_DIR / "models"))).resolve()
EXPORT_STORAGE_DIR = Path(env_str("EXPORT_STORAGE_DIR", str(DATA_DIR / "exports"))).resolve()
# Export archives are deleted this long after they finish (docs/exports.md, "Retention").
EXPORT_RETENTION_HOURS = env_int("EXPORT_RETENTION_HOURS", 7 * 24)
# A running export whose worker has not reported progress for this long is failed by the sweep.
EXPORT_STALE_AFTER_S = env_int("EXPORT_STALE_AFTER_S", 900)
EXPORT_SOFT_TIME_LIMIT_S = env_int("EXPORT_SOFT_TIME_LIMIT_S", 5 * 3600)
EXPORT_HARD_TIME_LIMIT_S = EXPORT_SOFT_TIME_LIMIT_S + 300
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = DICOM_MAX_UPLOAD_BYTES

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "core.redis_cache.RedisCache",
        "LOCATION": env_str("CACHE_URL", REDIS_URL),
        "KEY_PREFIX": "radloop",
    }
}

# Celery: long torch runs need prefetch 1 and a visibility timeout above the longest run,
# or Redis hands the same run to a second worker (docs/decisions/0003).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "ml_worker.tasks.train*": {"queue": "train"},
    "ml_worker.tasks.score*": {"queue": "infer"},
    "ml_worker.explain_tasks.*": {"queue": "infer"},
}
# Worker processes import the modules that define the tasks; each task is named after its module.
CELERY_IMPORTS = ["ml_worker.tasks", "ml_worker.explain_tasks"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Prefetch 1 still lets a worker reserve one more message once it has acknowledged the one it
# runs (training acks early): with workers on several hosts, a GPU busy for hours would hold the
# next run while another GPU idles. A worker fetches only when its pool has a free process
# (Redis brokers only; decision 0190).
CELERY_WORKER_DISABLE_PREFETCH = True
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 24 * 3600
TRAINING_HARD_TIME_LIMIT_S = env_int("TRAINING_HARD_TIME_LIMIT_S", 6 * 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": TRAINING_HARD_TIME_LIMIT_S + 3600}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": TRAINING_HARD_TIME_LIMIT_S + 3600}
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False

# Learning loop (docs/learning.md, "Operations"). The soft limit lets a training task record its
# failure before the hard limit kills it; the heartbeat timeout must exceed the interval by a
# wide margin so a busy database or a long epoch never fails a healthy run.
TRAINING_SOFT_TIME_LIMIT_S = max(60, TRAINING_HARD_TIME_LIMIT_S - 300)
SCORING_HARD_TIME_LIMIT_S = env_int("SCORING_HARD_TIME_LIMIT_S", 2 * 3600)
TRAINING_HEARTBEAT_INTERVAL_S = env_int("TRAINING_HEARTBEAT_INTERVAL_S", 15)
TRAINING_HEARTBEAT_TIMEOUT_S = env_int("TRAINING_HEARTBEAT_TIMEOUT_S", 180)
TRAINING_REDISPATCH_AFTER_S = env_int("TRAINING_REDISPATCH_AFTER_S", 1800)
# A run whose worker died (heartbeat stale) is queued again for another worker until it has been
# claimed this many times, then failed: a run that kills its worker is not looped (decision 0190).
TRAINING_MAX_ATTEMPTS = env_int("TRAINING_MAX_ATTEMPTS", 2)
# torch intra-op threads of a training run on CPU: one job per worker, so about the cores a
# worker may use (2 on the 2-core reference machine; 1 when two workers share it).
TRAINING_CPU_THREADS = env_int("TRAINING_CPU_THREADS", 2)
CELERY_BEAT_SCHEDULE = {
    "learning-fail-stale-runs": {"task": "ml_worker.tasks.check_stale_runs", "schedule": 60.0},
}
# Shares of patients' items per split (locked once assigned) and the promotion rule (a candidate
# must not be worse than the active model by more than `tolerance` on the locked test split).
LEARNING_SPLIT_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}
LEARNING_PROMOTION_RULE = {
    "metric": env_str("LEARNING_PROMOTION_METRIC", "auc"),
    "tolerance": float(env_str("LEARNING_PROMOTION_TOLERANCE", "0.0")),
}
LEARNING_MC_PASSES = env_int("LEARNING_MC_PASSES", 10)  # MC-dropout passes for the "bald" strategy
# Pool scoring decodes, prepares and predicts this many items at a time, so its memory is bounded
# by the chunk, not the pool (decision 0181); only the small per-item outputs are kept.
LEARNING_SCORE_CHUNK = env_int("LEARNING_SCORE_CHUNK", 2048)
# Prepared frames a scoring pass keeps in memory (its own cache over the shared disk folder): a
# pass reads each pool image once, so the default keeps none (decision 0188).
LEARNING_SCORE_FRAME_CACHE_ITEMS = env_int("LEARNING_SCORE_FRAME_CACHE_ITEMS", 0)
# Overrides for every classification run, as JSON (the keys a run's "retrain now" config takes,
# checked the same way: an unknown key or a value out of range fails the run with its reason),
# e.g. '{"max_epochs": 10}'.
LEARNING_TRAIN_DEFAULTS: dict[str, object] = json.loads(env_str("LEARNING_TRAIN_DEFAULTS", "{}"))
# Overrides for every segmentation run (SegTrainConfig keys, as a run's config takes them), as
# JSON, e.g. '{"max_epochs": 10}': a small machine or a test worker trains shorter automatic runs.
LEARNING_SEG_TRAIN_DEFAULTS: dict[str, object] = json.loads(
    env_str("LEARNING_SEG_TRAIN_DEFAULTS", "{}")
)
# Self-supervised pretraining of the encoder on a classification project's pool (docs/learning.md,
# "Pretraining"): queued when the pool first holds LEARNING_PRETRAIN_MIN_POOL items, then each time
# it has grown by LEARNING_PRETRAIN_GROWTH (a fraction; 0 turns pretraining off). The recipe's
# overrides (ml_worker.pretraining.PretrainConfig keys) as JSON, e.g. '{"epochs": 5}'.
LEARNING_PRETRAIN_GROWTH = float(env_str("LEARNING_PRETRAIN_GROWTH", "0.25"))
LEARNING_PRETRAIN_MIN_POOL = env_int("LEARNING_PRETRAIN_MIN_POOL", 200)
LEARNING_PRETRAIN_DEFAULTS: dict[str, object] = json.loads(
    env_str("LEARNING_PRETRAIN_DEFAULTS", "{}")
)
# Exports: delete archives past retention and fail stalled jobs (also `manage.py cleanup_exports`).
CELERY_BEAT_SCHEDULE["exports-delete-expired"] = {
    "task": "annotations.exports.tasks.delete_expired_exports",
    "schedule": 3600.0,
}

REST_FRAMEWORK = {
    # Token first: an anonymous call then gets 401 with a `WWW-Authenticate: Token` challenge
    # (RFC 9110 §15.5.2) instead of a bare 403; browsers still authenticate by session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.BoundedLimitOffsetPagination",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Bounds on API input (docs/operations.md, "Input limits"; issue 14).
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 500)
API_MAX_JSON_BYTES = env_int("API_MAX_JSON_BYTES", 8 * 1024 * 1024)
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 32)
ANNOTATION_MAX_POINTS = env_int("ANNOTATION_MAX_POINTS", 10_000)
ANNOTATION_MAX_MASK_RUNS = env_int("ANNOTATION_MAX_MASK_RUNS", 1_000_000)
ANNOTATION_MAX_TEXT_LENGTH = env_int("ANNOTATION_MAX_TEXT_LENGTH", 2_000)
ANNOTATION_MAX_SHAPES_PER_ITEM = env_int("ANNOTATION_MAX_SHAPES_PER_ITEM", 500)
SPECTACULAR_SETTINGS = {
    "TITLE": "Radloop API",
    "DESCRIPTION": "Projects, studies, queues, annotations, reviews, models and exports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["core.api_docs.SchemaAccess"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Training runs and export jobs share one set of job states; model versions have their own.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "learning.models.RunStatus",
        "ModelStatusEnum": "learning.models.ModelStatus",
        "ModelKindEnum": "learning.models.ModelKind",
        "RunKindEnum": "learning.models.RunKind",
    },
}
# /api/schema/ and /api/docs/ for anonymous callers too? Off in production (production.py).
API_SCHEMA_PUBLIC = env_bool("API_SCHEMA_PUBLIC", DEBUG)

# Content-Security-Policy for every page (docs/decisions/0160). No inline or eval'd script;
# 'wasm-unsafe-eval' lets the viewer compile its WebAssembly codecs, worker-src blob: covers
# codec workers that start from a blob. Inline <style> stays allowed (base.html, the report).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Django's own default "django" handler would print every request error a second time.
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"level": "WARNING"},
    },
}
