"""Fail fast with one line: a wrong setting or an unreachable service prints no traceback wall.

A hospital IT admin who starts the web server or a worker with a typo in DATABASE_URL should read
what to fix, not 60 lines of importlib frames. Every entry point (manage.py, asgi, wsgi, the
Celery worker) reports a `ConfigurationError` as one line on stderr and exits with status 2.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import NoReturn
from urllib.parse import urlsplit

from config.env import ConfigurationError

EXIT_STATUS = 2


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"radloop: configuration error: {text}"


def exit_with(exc: BaseException) -> NoReturn:
    print(one_line(exc), file=sys.stderr, flush=True)
    raise SystemExit(EXIT_STATUS)


def install_excepthook() -> None:
    """Turn an uncaught ConfigurationError into one line; leave every other traceback alone.

    Celery's command line reads settings while parsing its options and uvicorn imports the app
    outside any try block of ours; the excepthook is the one place both pass through.
    """
    previous = sys.excepthook
    if getattr(previous, "radloop", False):
        return

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if isinstance(exc, ConfigurationError):
            print(one_line(exc), file=sys.stderr, flush=True)
            # The interpreter would exit with 1 after the hook; keep the documented status.
            sys.stdout.flush()
            os._exit(EXIT_STATUS)
        previous(kind, exc, tb)

    hook.radloop = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def redact(url: str) -> str:
    """host:port/path of a service URL, without user or password, for error lines and /healthz."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return url
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def require_database() -> None:
    """Connect once; raise ConfigurationError naming DATABASE_URL when the database is down."""
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        connection.ensure_connection()
    except OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigurationError(
            f"cannot reach the database {describe_database()} (DATABASE_URL): {reason}"
        ) from exc
    finally:
        # Never hand an open socket to forked children (Celery prefork, gunicorn workers).
        connection.close()


def describe_database() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite file {db['NAME']}"
    return (
        f"{connection.vendor}://{db.get('HOST') or 'localhost'}:{db.get('PORT') or ''}/{db['NAME']}"
    )


def redis_answers(url: str, timeout: float = 1.0) -> str | None:
    """None when Redis at `url` answers PING, else the reason it does not."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


def require_redis(url: str, setting: str = "REDIS_URL") -> None:
    reason = redis_answers(url)
    if reason is not None:
        raise ConfigurationError(f"cannot reach Redis at {redact(url)} ({setting}): {reason}")


def run_command(argv: list[str]) -> None:
    """manage.py: run a Django command; bad settings or an unreachable database give one line."""
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(argv)
    except ConfigurationError as exc:
        exit_with(exc)
    except OperationalError as exc:
        # Only "cannot connect" is a configuration problem. Any other OperationalError (a missing
        # table, a lock timeout) keeps its traceback: a developer needs it.
        try:
            require_database()
        except ConfigurationError as unreachable:
            exit_with(unreachable)
        raise exc from None


def load_application(kind: str) -> object:
    """asgi.py / wsgi.py: build the Django application or exit with one line.

    SystemExit (not an exception gunicorn logs and retries) ends the process; with gunicorn's
    --preload (docker/compose.yaml) that is the master, so the server stops instead of respawning.
    """
    try:
        if kind == "asgi":
            from django.core.asgi import get_asgi_application

            application: object = get_asgi_application()
        else:
            from django.core.wsgi import get_wsgi_application

            application = get_wsgi_application()
        # Import every view module (pydicom, numpy, DRF) now, not on the first request: otherwise
        # each server process stalls about a second on the first frame a doctor asks for.
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018
        return application
    except ConfigurationError as exc:
        exit_with(exc)
