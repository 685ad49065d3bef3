"""Soak: simulated doctors label the generated chest demo as fast as the API allows, for minutes,
while the worker retrains every 20 labels; then the database is audited for lost work.

1. Starts `manage.py runlocal --port P` in a throw-away folder: exactly `make run`'s
   configuration (SQLite file database, a private Redis it starts itself on a free port, one
   Celery worker with the beat scheduler, gunicorn as runlocal starts it, the demo seeded).
   With --postgres the database is a throw-away PostgreSQL database instead (--admin-url).
2. Adds --doctors annotator accounts with API tokens to the generated project
   ("Demo: chest opacity", retrain_every=20).
3. Each doctor loops without think time: queue/next → PUT a class label → submit, skipping
   nothing, until --seconds have passed or the queue is empty. A failed call (network error or
   any status >= 400: each doctor works on items leased to them alone) counts as an error.
4. Waits (bounded) for the last training run to settle, stops everything, and audits the database:
   lost labels (an acknowledged submit whose read or current annotation is missing) and training
   runs that failed or are still queued/running at the end.

Last line: requests=N errors=E lost_labels=L runs_failed=F    (targets: E = L = F = 0)

Usage: python bench/soak.py [--seconds 300] [--doctors 5] [--postgres [--doctors 50]]
       [--admin-url postgres://postgres@127.0.0.1:5432/postgres] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# bench/ holds queue.py, which would shadow the standard library's `queue` module (imported by
# requests, Django) while this file's folder is sys.path[0]. Drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

REPO = Path(__file__).resolve().parents[1]
GENERATED_PROJECT = "Demo: chest opacity (generated images)"
# A throw-away key for a throw-away database, never a deployment.
BENCH_SECRET = "bench-only-secret-key-not-for-production-0123456789"  # noqa: S105
SETTLE_SECONDS = 180  # how long to wait for the last training run after the doctors stop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def admin_sql(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def environment(folder: Path, database_url: str, redis_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        RADLOOP_DATA_DIR=str(folder / "data"),
        DJANGO_SETTINGS_MODULE="config.settings.base",
        SECRET_KEY=BENCH_SECRET,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]),
    )
    env.pop("REDIS_URL_TEST", None)
    return env


def start_runlocal(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "runlocal", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its children (redis, worker, gunicorn) stop with the group
    )


def wait_serving(base: str, proc: subprocess.Popen, log: Path, timeout: float = 900) -> None:
    """The demo seeds 400 images before the web server starts: wait for a green /healthz."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"runlocal exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    sys.exit(f"runlocal did not serve a green /healthz within {timeout:.0f} s; see {log}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)  # runlocal's Ctrl-C: stops its children in order
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def configure_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path[:0] = [str(REPO / "platform"), str(REPO)]
    import django

    django.setup()


def add_doctors(count: int) -> tuple[int, list[str]]:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotations.models import Membership, Project, Role

    project = Project.objects.get(name=GENERATED_PROJECT)
    tokens = []
    for number in range(count):
        user = get_user_model().objects.create_user(f"soak-doctor-{number}")
        Membership.objects.create(project=project, user=user, role=Role.ANNOTATOR)
        tokens.append(Token.objects.create(user=user).key)
    return int(project.pk), tokens


class Doctors:
    def __init__(self, base: str, project_id: int, deadline: float) -> None:
        self.base, self.project_id, self.deadline = base, project_id, deadline
        self.requests = 0
        self.errors: Counter[str] = Counter()
        self.acked: list[tuple[int, str, str]] = []  # (item, annotation uid, token)
        self.lock = threading.Lock()

    def work(self, token: str) -> None:
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        labels = ("clear", "opacity")
        while time.monotonic() < self.deadline:
            got = self.call(session, "post", f"/api/v1/projects/{self.project_id}/queue/next", {})
            if got is None:
                continue
            items = got.json().get("items", [])
            if not items:
                return  # the queue is empty for this doctor
            item = items[0]["id"]
            uid = str(uuid.uuid4())
            body = {"kind": "class", "frame": 1, "payload": {"labels": [random.choice(labels)]}}
            if self.call(session, "put", f"/api/v1/items/{item}/annotations/{uid}", body) is None:
                continue
            done = self.call(session, "post", f"/api/v1/items/{item}/submit", {"time_spent_ms": 1})
            if done is not None and done.json().get("counted"):
                with self.lock:
                    self.acked.append((item, uid, token))

    def call(self, session, method: str, path: str, body: dict):  # type: ignore[no-untyped-def]
        name = path.rsplit("/", 1)[-1] if not path.endswith("next") else "next"
        name = "save" if "/annotations/" in path else name
        with self.lock:
            self.requests += 1
        try:
            response = session.request(method, self.base + path, json=body, timeout=60)
        except Exception as exc:  # a network error is an error the doctor sees
            with self.lock:
                self.errors[f"{name}: {type(exc).__name__}"] += 1
            return None
        if response.status_code >= 400:
            with self.lock:
                self.errors[f"{name}: HTTP {response.status_code} {reason(response.text)}"] += 1
            return None
        return response


def reason(text: str) -> str:
    """One line of an error body: the <title> of Django's debug page (the exception), else the
    start of the body."""
    match = re.search(r"<title>(.*?)</title>", text, re.S)
    return " ".join((match.group(1) if match else text).split())[:100]


def settle(project_id: int, timeout: float) -> None:
    """Wait (bounded) until no training run of the project is queued or running."""
    from learning.models import RunStatus, TrainingRun

    deadline = time.monotonic() + timeout
    busy = (RunStatus.QUEUED, RunStatus.RUNNING)
    while time.monotonic() < deadline:
        if not TrainingRun.objects.filter(project_id=project_id, status__in=busy).exists():
            return
        time.sleep(2)


def audit(project_id: int, acked: list[tuple[int, str, str]]) -> tuple[int, int, Counter[str]]:
    """(lost labels, failed or unfinished runs, runs by status)."""
    from rest_framework.authtoken.models import Token

    from annotations.models import Annotation, Submission
    from learning.models import RunStatus, TrainingRun

    users = dict(Token.objects.values_list("key", "user_id"))
    reads = set(
        Submission.objects.filter(item__project_id=project_id).values_list("item_id", "user_id")
    )
    current = set(
        Annotation.objects.filter(
            item__project_id=project_id, is_current=True, deleted=False
        ).values_list("uid", "author_id")
    )
    lost = sum(
        1
        for item, uid, token in acked
        if (item, users[token]) not in reads or (uuid.UUID(uid), users[token]) not in current
    )
    statuses = TrainingRun.objects.filter(project_id=project_id).values_list("status", flat=True)
    runs = Counter(statuses)
    bad = (RunStatus.FAILED, RunStatus.QUEUED, RunStatus.RUNNING)
    return lost, sum(runs[status] for status in bad), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--doctors", type=int, default=None, help="default 5, or 50 --postgres")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL database")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the folder (logs, database)")
    args = parser.parse_args()
    doctors = args.doctors or (50 if args.postgres else 5)

    folder = Path(tempfile.mkdtemp(prefix="radloop-soak-"))
    db_name = f"radloop_soak_{os.getpid()}"
    if args.postgres:
        admin_sql(args.admin_url, f'CREATE DATABASE "{db_name}"')
        database_url = urlunsplit(urlsplit(args.admin_url)._replace(path=f"/{db_name}"))
    else:
        database_url = f"sqlite:///{folder / 'db.sqlite3'}"
    env = environment(folder, database_url, free_port())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = folder / "runlocal.log"
    mode = "PostgreSQL" if args.postgres else "SQLite"
    print(f"soak: {mode}, {doctors} doctors, {args.seconds:.0f} s; runlocal log: {log}")
    proc = start_runlocal(env, port, log)
    try:
        wait_serving(base, proc, log)
        configure_django(env)
        project_id, tokens = add_doctors(doctors)
        load = Doctors(base, project_id, time.monotonic() + args.seconds)
        threads = [threading.Thread(target=load.work, args=(token,)) for token in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 120)
        settle(project_id, SETTLE_SECONDS)
        lost, runs_failed, runs = audit(project_id, load.acked)
    finally:
        stop(proc)
        if args.postgres:
            from django.db import connections

            connections.close_all()
            admin_sql(args.admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    for reason, count in load.errors.most_common(10):
        print(f"  error x{count}: {reason}")
    print(f"labels acknowledged: {len(load.acked)}; training runs: {dict(runs)}")
    errors = sum(load.errors.values())
    print(f"requests={load.requests} errors={errors} lost_labels={lost} runs_failed={runs_failed}")


if __name__ == "__main__":
    main()
