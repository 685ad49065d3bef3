"""The Celery app. Workers import ml_worker.tasks (CELERY_IMPORTS); the web only sends by name,
so the web process never imports torch."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

from config.paths import ensure_import_roots

ensure_import_roots()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("radloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_init.connect
def fail_fast_when_services_are_down(sender: str | None = None, **kwargs: Any) -> None:
    """A worker that starts without its database or broker would retry for minutes, logging a
    traceback every few seconds; say what is wrong in one line and exit instead.

    SystemExit is not an Exception, so Celery's signal dispatcher lets it end the process.
    """
    from config.env import ConfigurationError
    from config.failfast import exit_with, require_database, require_redis

    try:
        require_redis(str(app.conf.broker_url), "REDIS_URL / CELERY_BROKER_URL")
        require_database()
    except ConfigurationError as exc:
        exit_with(exc)
