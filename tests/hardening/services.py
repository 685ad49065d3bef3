"""Private servers for the fault tests: a Redis and a Celery worker the test may kill and restart.

Never the shared ones: each private server listens on a free loopback port, in a temp folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

from core.local.redis_server import redis_server_command
from tests.conftest import REPO_ROOT, _worker_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """`make run`'s Redis (append-only log on) on a free port; stop() / start() restart it."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = redis_server_command(self.port, self.folder)
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"private redis on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only log and exits
            self.process.wait(timeout=20)
        self.process = None


def start_worker(broker_url: str, name: str) -> subprocess.Popen[bytes]:
    """A real Celery worker (every queue, one task at a time) on the test database and the
    given broker."""
    env = _worker_env() | {"REDIS_URL": broker_url, "CELERY_BROKER_URL": broker_url}
    env["CELERY_RESULT_BACKEND"] = broker_url
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "-Q", "default,train,infer", "--pool=solo", "--concurrency=1", "--loglevel=WARNING",
        "--without-gossip", "--without-mingle", "--hostname", f"{name}-{os.getpid()}@%h",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env)


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl as the `postgres` OS user) on a free
    loopback port; restart() stops it (fast: connections are cut) and starts it again."""

    def __init__(self, folder: Path) -> None:
        if PG_BIN is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.folder, self.port = folder, free_port()
        self.data = folder / "pgdata"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/radloop"

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, stdout=subprocess.DEVNULL)

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                          "postgres", "--no-sync")  # fmt: skip
        self.start()
        self._as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                          "-U", "postgres", "radloop")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
                          "-l", str(self.folder / "postgres.log"), "start")  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                          "stop")  # fmt: skip
