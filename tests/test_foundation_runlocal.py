"""`make run` in one process tree: Redis, a worker and the web server come up with the demo, the
doctor can log in, Ctrl-C stops everything it started, and a second run keeps the data.

Runs the real `manage.py runlocal` as a subprocess on its own SQLite file, data folder, port and
a private Redis it has to start itself (REDIS_URL points at a loopback port nothing listens on).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Run:
    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def wait_for(self, pattern: str, timeout: float = 240) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + "".join(self.seen[-60:]))

    def output(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)


@dataclass
class Setup:
    env: dict[str, str]
    web_port: int
    redis_port: int
    data_dir: Path

    def start(self) -> Run:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runlocal", "--port", str(self.web_port)],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # like a terminal: the signal goes to runlocal alone
        )
        run = Run(process)
        threading.Thread(
            target=lambda: [run.lines.put(x) for x in process.stdout], daemon=True
        ).start()  # type: ignore[union-attr]
        return run


def our_processes(data_dir: Path) -> list[int]:
    """Processes whose command line names this test's data folder (the worker's beat schedule,
    the Redis dir): none may survive runlocal."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(data_dir) in cmdline:
                found.append(int(proc.name))
    return found


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    data_dir = tmp_path / "var"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=f"sqlite:///{tmp_path / 'radloop.sqlite3'}",
        RADLOOP_DATA_DIR=str(data_dir),
        PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]),
    )
    redis_port = free_port()
    env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL"):
        env.pop(name, None)
    yield Setup(env, free_port(), redis_port, data_dir)
    for pid in our_processes(data_dir):  # never leave a stray process behind a failed test
        os.kill(pid, signal.SIGKILL)


def log_in(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:300]
    return session


def stop(run: Run, signum: int) -> int:
    run.process.send_signal(signum)
    return run.process.wait(timeout=90)


def test_runlocal_serves_the_demo_and_stops_everything_it_started(setup: Setup) -> None:
    base = f"http://127.0.0.1:{setup.web_port}"
    first = setup.start()
    started = time.monotonic()
    first.wait_for(rf"no Redis answers on 127.0.0.1:{setup.redis_port}; starting one")
    first.wait_for(r"Radloop is running at")
    doctor_password = first.wait_for(r"login: doctor\s+password: (\S+)").group(1)
    first_run_s = time.monotonic() - started

    health = requests.get(f"{base}/healthz", timeout=10)
    assert health.status_code == 200, health.text
    assert health.json() == {"status": "ok"}  # details are for staff only
    session = log_in(base, "doctor", doctor_password)
    assert session.get(f"{base}/api/v1/me", timeout=10).json()["username"] == "doctor"
    projects = session.get(f"{base}/api/v1/projects/", timeout=10).json()
    names = {p["name"] for p in projects.get("results", projects)}
    assert any("generated" in name for name in names) and any("DICOM" in name for name in names)

    assert stop(first, signal.SIGINT) == 0
    assert "runlocal | stopped" in first.output()
    assert not listening(setup.web_port) and not listening(setup.redis_port)
    assert our_processes(setup.data_dir) == []

    second = setup.start()
    started = time.monotonic()
    second.wait_for(r"Radloop is running at")
    assert second.wait_for(r"login: doctor\s+password: (\S+)").group(1) == doctor_password
    second_run_s = time.monotonic() - started
    assert "already there" in second.output()
    log_in(base, "doctor", doctor_password)

    assert stop(second, signal.SIGTERM) == 0
    assert our_processes(setup.data_dir) == []
    print(f"runlocal: first run {first_run_s:.1f} s to ready, second run {second_run_s:.1f} s")


def test_runlocal_refuses_a_port_that_is_taken(setup: Setup) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", setup.web_port))
        taken.listen()
        run = setup.start()
        returncode = run.process.wait(timeout=60)

    lines = [line for line in run.output().splitlines() if line.strip()]
    assert returncode == 2
    assert lines[-1].startswith("radloop: configuration error: ")
    assert f"127.0.0.1:{setup.web_port} is already in use" in lines[-1]


def test_runlocal_names_a_remote_redis_that_is_down_in_one_line(setup: Setup) -> None:
    setup.env["REDIS_URL"] = "redis://radloop-redis.invalid:6379/0"
    run = setup.start()
    returncode = run.process.wait(timeout=60)

    assert returncode == 2
    assert (
        run.output().strip().splitlines() == [run.output().strip().splitlines()[-1]]
        and "cannot reach Redis at redis://radloop-redis.invalid:6379/0" in run.output()
    )
