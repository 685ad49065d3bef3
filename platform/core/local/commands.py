"""The command lines of the processes `runlocal` starts (docker/compose.yaml runs the same ones)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from config.paths import PLATFORM_ROOT, REPO_ROOT

WORKER_QUEUES = ("default", "train", "infer")


def child_env(torch_threads: int = 2) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PLATFORM_ROOT), str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    env["PYTHONUNBUFFERED"] = "1"
    # torch reads these at import: two threads leave a core for the web server (notes §7).
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_NUM_THREADS"):
        env.setdefault(name, str(torch_threads))
    # Idle OpenMP threads sleep instead of spinning, so they don't steal the web server's core
    # (docs/decisions/0300: 2-thread steps ran ~3x slower under contention without it).
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def worker_command(data_dir: Path, hostname: str = "local@%h") -> list[str]:
    """One worker for every queue, one task at a time, with the beat scheduler embedded.

    Prefork with one child (not --pool=solo) keeps the main process free to answer /healthz's ping
    while a training run holds the child; -B runs CELERY_BEAT_SCHEDULE (stale-run checks).
    """
    return [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "-Q", ",".join(WORKER_QUEUES),
        "--concurrency", "1",
        "--loglevel", "INFO",
        "--hostname", hostname,
        "--without-mingle", "--without-gossip",  # one worker: nobody to sync with, starts faster
        "--beat", "--schedule", str(data_dir / "celerybeat-schedule"),
    ]  # fmt: skip


def web_command(port: int, workers: int = 2, threads: int = 4) -> list[str]:
    """gunicorn with threads over WSGI: real concurrency for frame requests, streaming responses
    without ASGI's sync-iterator buffering (docs/decisions/0004)."""
    return [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--graceful-timeout", "5",
        "--timeout", "120",
        "--preload",
        "--no-control-socket",  # gunicorn 27 would otherwise share one socket in $HOME
        "--chdir", str(REPO_ROOT),
    ]  # fmt: skip
