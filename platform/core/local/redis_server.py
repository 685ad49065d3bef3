"""Use the Redis that answers at REDIS_URL; on this machine's loopback, start one if none does."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from config.env import ConfigurationError
from config.failfast import redact, redis_answers

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def redis_server_command(port: int, workdir: Path) -> list[str]:
    """A private Redis: loopback only, its files under var/redis, the append-only log on so queued
    tasks survive a restart, logs on stdout for the supervisor to prefix."""
    workdir.mkdir(parents=True, exist_ok=True)
    return [
        shutil.which("redis-server") or "redis-server",
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--protected-mode", "yes",
        "--dir", str(workdir),
        "--pidfile", str(workdir / "redis.pid"),
        "--logfile", "",
        "--daemonize", "no",
        "--save", "",
        "--appendonly", "yes",
    ]  # fmt: skip


def install_redis_server(say: Callable[[str], None]) -> bool:
    """Debian's redis-server, when we are root and apt-get exists; False when not possible."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    say("redis-server is missing; installing Debian's redis-server (apt-get)…")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "redis-server"]
    # Straight from the package cache first; refresh the lists only when that is not enough.
    if subprocess.run(install, env=env, check=False, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(install, env=env, check=False, stdout=subprocess.DEVNULL)
    return shutil.which("redis-server") is not None


def port_to_start(url: str, say: Callable[[str], None]) -> int | None:
    """None when Redis already answers; the loopback port to start one on when we may.

    Raises ConfigurationError (one line) when Redis is elsewhere and down, or cannot be installed.
    """
    reason = redis_answers(url)
    if reason is None:
        return None
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        raise ConfigurationError(f"cannot reach Redis at {redact(url)} (REDIS_URL): {reason}")
    if not shutil.which("redis-server") and not install_redis_server(say):
        raise ConfigurationError(
            f"Redis does not answer at {redact(url)} and redis-server is not installed: "
            "run `sudo apt-get install redis-server`, or set REDIS_URL to a running Redis"
        )
    return parts.port or 6379


def wait_for_redis(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while (reason := redis_answers(url, timeout=0.5)) is not None:
        if time.monotonic() > deadline:
            raise ConfigurationError(
                f"the Redis we started did not answer at {redact(url)}: {reason}"
            )
        time.sleep(0.1)
