"""Queue benchmark: 50 simulated doctors against a real server on PostgreSQL (loopback only).

1. Creates a throw-away PostgreSQL database, migrates it, and seeds a classification project
   with --items items (DICOM hierarchy rows, no pixels), --readers readers per item, and one
   annotator account with an API token per doctor, then runs ANALYZE (planner statistics, as
   autovacuum keeps them on a live database).
2. Starts gunicorn (gthread) on 127.0.0.1 serving the real Django application.
3. Runs --doctors threads, each with its own HTTP keep-alive session and token, looping
   next item -> save annotation (PUT) -> submit, bounded by --rounds per doctor and --seconds.
4. Reads the database afterwards: double leases (overlapping lease intervals on one item) and
   lost labels (acknowledged submits whose annotation or read is missing).

Prints p50/p95/p99 per call next to the target (p95 < 50 ms), the server's CPU time per read
(comparable across runs on a busy machine, unlike latency), then the machine-readable line:
    next_p95_ms=X submit_p95_ms=Y double_leases=N lost_labels=N

Each doctor reads for --think-ms (uniform 0.5-1.5x; default 5 s, a fast read of a chest film)
between receiving an image and answering, and opens the queue at a random moment within the
first think time; --think-ms 0 turns the run into a closed-loop stress test of 50 clients.

Usage: python bench/queue.py [--doctors 50] [--items 600] [--readers 2] [--seconds 60] [--think-ms]
       [--workers 2] [--threads 16] [--admin-url postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named queue.py, so its folder (sys.path[0]) would shadow the standard library's
# `queue` module for everything imported below (psycopg, requests, gunicorn). Drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import defaultdict  # noqa: E402
from itertools import pairwise  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # bench/doctors_http.py, shared with bench/scale.py
from bench.doctors_http import (  # noqa: E402
    THREADS,
    WORKERS,
    Load,
    cpu_seconds,
    free_port,
    start_server,
    wait_ready,
)

TARGET_P95_MS = 50.0


def database_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_sql(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def configure_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path[:0] = [str(REPO / "platform"), str(REPO)]
    import django

    django.setup()


def seed(items: int, readers: int, doctors: int) -> tuple[int, list[str]]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from annotations.models import LabelClass, Membership, Project
    from annotations.services.attach import attach_instances
    from studies.models import Instance, Patient, Series, Study

    call_command("migrate", verbosity=0)
    # retrain_every=0: no training runs are requested, so no Celery message leaves the bench.
    project = Project.objects.create(
        name="Queue bench", task_type="classification", readers_per_item=readers, retrain_every=0
    )
    for index, name in enumerate(("normal", "pneumonia")):
        LabelClass.objects.create(project=project, name=name, index=index)
    patients = Patient.objects.bulk_create(
        [Patient(patient_id=f"QB-{p:05d}") for p in range(max(1, items // 10))]
    )
    studies = Study.objects.bulk_create(
        [Study(study_instance_uid=f"2.25.{p.pk}1", patient=p, modalities="CR") for p in patients]
    )
    series = Series.objects.bulk_create(
        [Series(series_instance_uid=f"2.25.{s.pk}2", study=s, modality="CR") for s in studies]
    )
    instances = Instance.objects.bulk_create(
        [
            Instance(
                sop_instance_uid=f"2.25.{i}3",
                sop_class_uid="1.2.840.10008.5.1.4.1.1.7",
                series=series[i % len(series)],
                transfer_syntax_uid="1.2.840.10008.1.2.1",
                rows=64,
                columns=64,
                sha256=f"{i:064x}",
            )
            for i in range(items)
        ]
    )
    attach_instances(
        project,
        Instance.objects.filter(pk__in=[i.pk for i in instances]).select_related(
            "series__study__patient"
        ),
    )
    tokens = []
    users = get_user_model().objects
    for d in range(doctors):
        user = users.create_user(f"doctor{d:03d}", password=None)
        Membership.objects.create(project=project, user=user, role="annotator")
        tokens.append(Token.objects.create(user=user).key)
    # A live database has planner statistics (autovacuum keeps them); freshly seeded tables have
    # none until autovacuum's first pass, and the queue's anti-joins then get nested-loop plans
    # sized for one row (6 ms instead of 0.2 ms per claim in the profile of 2026-11-24).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return project.pk, tokens


def audit(project_id: int, acked: list[tuple[int, str, str]]) -> tuple[int, int, int]:
    """(double leases, lost labels, reads in the database) computed from the database."""
    from rest_framework.authtoken.models import Token

    from annotations.models import Annotation, Lease, Submission

    leases: dict[int, list] = defaultdict(list)
    for lease in Lease.objects.filter(item__project_id=project_id).order_by("created_at", "pk"):
        leases[lease.item_id].append(lease)
    double = 0
    for rows in leases.values():
        for earlier, later in pairwise(rows):
            if later.created_at < (earlier.closed_at or earlier.expires_at):
                double += 1
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
    return double, lost, len(reads)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--doctors", type=int, default=50)
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=40, help="max reads per doctor")
    parser.add_argument("--seconds", type=float, default=60.0, help="load phase time bound")
    parser.add_argument(
        "--think-ms", type=float, default=5000.0,
        help="mean reading time between receiving an image and answering (0 = closed-loop stress)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    name = f"radloop_bench_queue_{os.getpid()}"
    admin_sql(args.admin_url, f'CREATE DATABASE "{name}"')
    data_dir = Path(tempfile.mkdtemp(prefix="radloop-bench-queue-"))
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url(args.admin_url, name),
        "DB_CONN_MAX_AGE": "60",
        "RADLOOP_DATA_DIR": str(data_dir),
        "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
    })  # fmt: skip
    server = None
    try:
        configure_django(env)
        project_id, tokens = seed(args.items, args.readers, args.doctors)
        port = free_port()
        server = start_server(env, port, args.workers, args.threads)
        wait_ready(port, server)
        load = Load(f"http://127.0.0.1:{port}", project_id, args.rounds,
                    time.monotonic() + args.seconds, args.think_ms)  # fmt: skip
        threads = [threading.Thread(target=load.doctor, args=(t,)) for t in tokens]
        cpu_before = cpu_seconds(server.pid)
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=args.seconds + 60)
        wall = time.monotonic() - started
        server_cpu = cpu_seconds(server.pid) - cpu_before
        double, lost, reads = audit(project_id, load.acked)

        cpus = os.cpu_count()
        print(f"queue bench: {args.doctors} doctors, {args.items} items x {args.readers} readers, "
              f"gunicorn {args.workers}x{args.threads} gthread, PostgreSQL, {cpus} CPUs, "
              f"think time {args.think_ms:.0f} ms, {wall:.1f} s load, "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"{'call':<8}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'target p95':>12}")
        for call in ("next", "save", "submit"):
            values = load.timings[call]
            print(f"{call:<8}{len(values):>7}{percentile(values, 50):>10.1f}"
                  f"{percentile(values, 95):>10.1f}{percentile(values, 99):>10.1f}"
                  f"{'< ' + format(TARGET_P95_MS, '.0f'):>12}")  # fmt: skip
        print(
            f"acknowledged reads {len(load.acked)}, reads in database {reads}, "
            f"throughput {len(load.acked) / wall:.1f} reads/s, errors {len(load.failures)}"
        )
        print(
            f"server CPU {server_cpu:.1f} s, {1000 * server_cpu / max(1, len(load.acked)):.1f} ms "
            "per read (gunicorn processes; PostgreSQL and the load generator not counted)"
        )
        for failure in load.failures[:5]:
            print(f"  error: {failure}")
        print(f"next_p95_ms={percentile(load.timings['next'], 95):.1f} "
              f"submit_p95_ms={percentile(load.timings['submit'], 95):.1f} "
              f"double_leases={double} lost_labels={lost}")  # fmt: skip
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        from django.db import connections

        connections.close_all()
        admin_sql(args.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
