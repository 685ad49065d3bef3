"""PostgreSQL restarted mid-submit: a PRIVATE cluster (initdb + pg_ctl as the `postgres` user, a
free loopback port, a temp folder) serves a real gunicorn web server while a doctor labels;
halfway, the cluster is stopped (fast: every connection cut) and started again.

The doctor's client retries a call that failed with a network error or a 5xx, as the workspace
does. Afterwards every acknowledged read is in the database exactly once with its annotation,
no read is counted twice, and the server serves again without being restarted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from core.local.commands import web_command
from tests.conftest import REPO_ROOT
from tests.hardening.services import PG_BIN, PrivatePostgres, free_port

# `postgres`: it restarts a private PostgreSQL cluster, whatever DATABASE_URL says, so the SQLite
# pass would only repeat it.
pytestmark = [
    pytest.mark.skipif(PG_BIN is None, reason="PostgreSQL server binaries not installed"),
    pytest.mark.postgres,
]

ITEMS = 24
RESTART_AFTER = 8  # acknowledged reads before the restart
SEED = """
import django; django.setup()
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from annotations.models import Membership
from tests.cast import make_project
admin = get_user_model().objects.create_user("admin")
doctor = get_user_model().objects.create_user("doctor")
project = make_project(admin=admin, images={items}, labelled=0)
Membership.objects.create(project=project, user=doctor, role="annotator")
print(project.pk, Token.objects.create(user=doctor).key, doctor.pk)
"""


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        RADLOOP_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DEBUG="false",
        SECRET_KEY="fault-test-only-secret-key-0123456789-abcdefghijklmnop",
        ALLOWED_HOSTS="127.0.0.1",
        PYTHONPATH=f"{REPO_ROOT / 'platform'}:{REPO_ROOT}",
    )
    return env


@pytest.fixture
def cluster() -> Iterator[PrivatePostgres]:
    # Not under pytest's tmp_path: its parents are private to root, and the cluster runs as the
    # `postgres` user, who must reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="radloop-fault-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    server = PrivatePostgres(folder / "pg")
    try:
        server.init()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


class Doctor:
    """Labels every item it is given; retries a failed call (bounded), like the workspace."""

    def __init__(self, base: str, token: str, project_id: int) -> None:
        self.base, self.project_id = base, project_id
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.acked: list[tuple[int, str]] = []
        self.server_errors = 0

    def call(self, method: str, path: str, body: dict, *, retried_ok: int = 0) -> dict:
        for attempt in range(60):
            try:
                response = self.session.request(method, self.base + path, json=body, timeout=30)
            except requests.RequestException:
                self.server_errors += 1
                time.sleep(0.5)
                continue
            if response.status_code >= 500:
                self.server_errors += 1
                time.sleep(0.5)
                continue
            if attempt and response.status_code == retried_ok:
                return {"counted": True, "retried": True}  # the lost answer had committed
            assert response.status_code < 400, (path, response.status_code, response.text)
            return dict(response.json())
        raise AssertionError(f"{method} {path} still failing after 60 tries")

    def label(self, restart: threading.Event) -> None:
        while True:
            got = self.call("post", f"/api/v1/projects/{self.project_id}/queue/next", {})
            if not got["items"]:
                return
            item = got["items"][0]["id"]
            uid = str(uuid.uuid4())
            body = {"kind": "class", "frame": 1, "payload": {"labels": ["normal"]}}
            self.call("put", f"/api/v1/items/{item}/annotations/{uid}", body)
            done = self.call("post", f"/api/v1/items/{item}/submit", {}, retried_ok=409)
            if done.get("counted"):
                self.acked.append((item, uid))
            if len(self.acked) == RESTART_AFTER:
                restart.set()


def test_nothing_is_lost_when_postgres_restarts_mid_submit(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = environment(cluster.url, tmp_path / "data")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO_ROOT, env=env, check=True
    )
    seeded = subprocess.run(
        [sys.executable, "-c", SEED.format(items=ITEMS)],
        cwd=REPO_ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    project_id, token, doctor_id = seeded.stdout.split()[-3:]
    port = free_port()
    web = subprocess.Popen(web_command(port, workers=1, threads=4), cwd=REPO_ROOT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(base + "/accounts/login/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.3)
        doctor = Doctor(base, token, int(project_id))
        restart = threading.Event()
        labelling = threading.Thread(target=doctor.label, args=(restart,))
        labelling.start()
        assert restart.wait(timeout=120), "the doctor did not reach the restart point"
        cluster.stop()  # fast shutdown: every open connection is cut mid-request
        time.sleep(1)
        cluster.start()
        labelling.join(timeout=300)
        assert not labelling.is_alive()
    finally:
        web.terminate()
        web.wait(timeout=30)

    with psycopg.connect(cluster.url.replace("postgres://", "postgresql://")) as conn:
        reads = conn.execute(
            "SELECT item_id, count(*) FROM annotations_submission WHERE user_id = %s "
            "GROUP BY item_id",
            (int(doctor_id),),
        ).fetchall()
        current = {
            (str(uid), item)
            for uid, item in conn.execute(
                "SELECT uid, item_id FROM annotations_annotation "
                "WHERE author_id = %s AND is_current AND NOT deleted",
                (int(doctor_id),),
            ).fetchall()
        }
    counts = dict(reads)
    assert len(doctor.acked) == ITEMS  # every item was labelled, before and after the restart
    assert all(n == 1 for n in counts.values())  # no read counted twice
    assert {item for item, _ in doctor.acked} == set(counts)
    lost = [(item, uid) for item, uid in doctor.acked if (uid, item) not in current]
    assert not lost, f"acknowledged labels missing after the restart: {lost}"
    print(f"postgres restart: {len(doctor.acked)} reads, {doctor.server_errors} retried calls")
