"""The HTTP side of the queue benches (bench/queue.py, bench/scale.py): a real gunicorn server on
127.0.0.1 serving the Django application, and doctors that drive it with their own keep-alive
sessions (next -> save annotation -> submit), each in a thread of the load generator's process.

The server is a separate process (gunicorn gthread workers), so a request's latency is the
server's and the database's, not the wait for the load generator's GIL: the doctors spend their
time sleeping (think time) or blocked on sockets.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKERS = 2
THREADS = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--keep-alive", "30", "--log-level", "warning",
        "--chdir", str(REPO),
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=REPO)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its direct children (Linux /proc; NaN elsewhere).

    Latency on a shared machine moves with whatever else runs; the server's CPU per read does
    not, so it compares two versions of the code even when the machine is busy."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            pids = [pid, *(int(p) for p in children.read().split())]
    except OSError:
        return float("nan")
    ticks = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 in proc(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/me", timeout=10).status_code in (
                200, 401, 403,
            ):  # fmt: skip
                return
        except requests.RequestException:  # not listening yet, or still importing Django
            time.sleep(0.3)
    raise RuntimeError("server did not answer within 60 s")


def warm_up(port: int, connections: int = 16, rounds: int = 3) -> None:
    """A few rounds of concurrent requests, so that every gunicorn worker has loaded the URL
    map and the views (Django does that on a worker's first request, seconds of CPU on a busy
    machine) before the doctors arrive: a deployed server has served requests before. With 16
    concurrent connections per round, a worker of two misses a round with probability 2^-15."""
    import requests

    def one() -> None:
        # A failure here is not the measured run's: that one reports its own.
        with contextlib.suppress(requests.RequestException):
            requests.get(f"http://127.0.0.1:{port}/api/v1/me", timeout=60)

    for _ in range(rounds):
        threads = [threading.Thread(target=one) for _ in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)


class Load:
    def __init__(
        self, base: str, project_id: int, rounds: int, deadline: float, think_ms: float
    ) -> None:
        self.base, self.project_id, self.rounds, self.deadline = base, project_id, rounds, deadline
        self.think_ms = think_ms
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.acked: list[tuple[int, str, str]] = []  # (item, annotation uid, token)
        self.failures: list[str] = []
        self.lock = threading.Lock()

    def doctor(self, token: str) -> None:
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        # Doctors open their queues at different moments, not all in the same millisecond.
        time.sleep(self.think_ms * random.random() / 1000)
        for _ in range(self.rounds):
            if time.monotonic() > self.deadline:
                return
            next_url = f"/api/v1/projects/{self.project_id}/queue/next"
            got = self.call(session, "next", "post", next_url, {"count": 1})
            if got is None or not got.json()["items"]:
                return
            item = got.json()["items"][0]["id"]
            if self.think_ms:
                # A doctor reads the image before answering: uniform in [0.5, 1.5] x think time.
                time.sleep(self.think_ms * (0.5 + random.random()) / 1000)
            uid = str(uuid.uuid4())
            label = "pneumonia" if item % 3 else "normal"
            body = {"kind": "class", "frame": 1, "payload": {"labels": [label]}}
            saved = self.call(
                session, "save", "put", f"/api/v1/items/{item}/annotations/{uid}", body
            )
            if saved is None:
                continue
            done = self.call(session, "submit", "post", f"/api/v1/items/{item}/submit",
                             {"time_spent_ms": 1000})  # fmt: skip
            if done is not None and done.json().get("counted"):
                with self.lock:
                    self.acked.append((item, uid, token))

    def call(self, session, name: str, method: str, path: str, body: dict):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            response = session.request(method, self.base + path, json=body, timeout=30)
        except Exception as exc:
            with self.lock:
                self.failures.append(f"{name}: {exc}")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.timings[name].append(elapsed)
            if response.status_code >= 300:
                self.failures.append(f"{name}: HTTP {response.status_code} {response.text[:120]}")
                return None
        return response
