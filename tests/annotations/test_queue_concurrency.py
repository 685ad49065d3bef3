"""Many doctors at once on PostgreSQL: no double lease, no extra read, no lost label, no stale
write. Each simulated doctor is a thread with its own database connection, calling the real
API in-process, in a loop bounded by count and by time."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from annotations.models import Annotation, Item, Lease, Submission
from tests.cast import add_member, make_project

DOCTORS = 24
ITEMS = 40
READERS = 2
MAX_ROUNDS = 40  # per doctor
DEADLINE_S = 120.0


def _in_thread(work: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    return threading.Thread(target=run)


@pytest.mark.postgres
@pytest.mark.slow
def test_twenty_four_doctors_reading_at_once_keep_every_invariant(
    transactional_db: None, make_user: Any
) -> None:
    project = make_project(items=ITEMS, readers_per_item=READERS)
    doctors = [make_user(f"doctor{i}") for i in range(DOCTORS)]
    for doctor in doctors:
        add_member(project, doctor, "annotator")
    deadline = time.monotonic() + DEADLINE_S
    submitted: list[tuple[int, int, str]] = []  # (item, doctor, annotation uid) counted reads
    races: list[tuple[int, int]] = []  # (successes, refusals) of two concurrent edits
    stale_accepted: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def doctor_loop(doctor: Any, index: int) -> None:
        client = APIClient()
        client.force_authenticate(doctor)
        rounds = 0
        while rounds < MAX_ROUNDS and time.monotonic() < deadline:
            response = client.post(
                f"/api/v1/projects/{project.pk}/queue/next", {"count": 1 + index % 2}, format="json"
            )
            assert response.status_code == 200, response.content
            items = response.json()["items"]
            if not items:
                # Nothing free now. Items this doctor may still read but others hold come back
                # when those doctors submit: a doctor who quit here would leave them unread.
                if response.json()["progress"]["remaining"] == 0:
                    return
                time.sleep(0.02)
                continue
            rounds += 1
            for item in items:
                _read_one(client, item["id"], doctor, index)

    def _read_one(client: APIClient, item_id: int, doctor: Any, index: int) -> None:
        uid = str(uuid.uuid4())
        url = f"/api/v1/items/{item_id}/annotations/{uid}"
        label = "pneumonia" if (item_id + index) % 3 else "normal"
        body = {"kind": "class", "frame": 1, "payload": {"labels": [label]}}
        created = client.put(url, body, format="json")
        assert created.status_code == 201, created.content
        if item_id % 4 == 0:
            _race_two_edits(doctor, url, body)
        current = Annotation.objects.get(uid=uid, is_current=True).version
        stale = client.put(url, body, format="json", HTTP_IF_MATCH=f'"{current - 1}"')
        if current > 1 and stale.status_code != 412:
            with lock:
                stale_accepted.append(uid)
        done = client.post(f"/api/v1/items/{item_id}/submit", {"time_spent_ms": 5}, format="json")
        assert done.status_code == 200, done.content
        with lock:
            submitted.append((item_id, doctor.pk, uid))

    def _race_two_edits(doctor: Any, url: str, body: dict[str, Any]) -> None:
        """The same doctor edits version 1 from two tabs at the same moment."""
        barrier = threading.Barrier(2)
        codes: list[int] = []

        def edit() -> None:
            client = APIClient()
            client.force_authenticate(doctor)
            barrier.wait(timeout=10)
            codes.append(client.put(url, body, format="json", HTTP_IF_MATCH='"1"').status_code)

        threads = [_in_thread(edit, errors) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        with lock:
            races.append((codes.count(200), codes.count(412)))

    threads = [
        _in_thread(lambda d=d, i=i: doctor_loop(d, i), errors) for i, d in enumerate(doctors)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DEADLINE_S + 30)
    assert not any(t.is_alive() for t in threads), "a doctor thread did not finish in time"
    assert not errors, errors[:3]

    # Every read the queue allowed happened: ITEMS x READERS labels in all.
    assert len(submitted) == ITEMS * READERS

    # No item was held by two doctors at once: lease intervals on an item never overlap.
    by_item: dict[int, list[Lease]] = defaultdict(list)
    for lease in Lease.objects.filter(item__project=project).order_by("created_at", "pk"):
        by_item[lease.item_id].append(lease)
    double = 0
    for leases in by_item.values():
        for earlier, later in pairwise(leases):
            end = earlier.closed_at or earlier.expires_at
            if later.created_at < end:
                double += 1
    assert double == 0

    # No item exceeded its readers; nobody read an item twice.
    reads = Counter(
        Submission.objects.filter(item__project=project).values_list("item_id", flat=True)
    )
    assert max(reads.values()) == READERS and len(reads) == ITEMS
    for item in Item.objects.filter(project=project):
        assert item.reads_done == reads[item.pk] == READERS
    pairs = Submission.objects.filter(item__project=project).values_list("item_id", "user_id")
    assert len(set(pairs)) == len(pairs)

    # Every submitted label is present, authored by its doctor, current and not deleted.
    for item_id, doctor_id, uid in submitted:
        current = Annotation.objects.get(uid=uid, is_current=True)
        assert (current.item_id, current.author_id, current.deleted) == (item_id, doctor_id, False)
    assert Submission.objects.filter(item__project=project).count() == len(submitted)

    # No stale write succeeded: of each pair of simultaneous edits of version 1 exactly one won,
    # every uid's versions run 1..n with exactly one current, and stale retries were refused.
    assert races and all(r == (1, 1) for r in races)
    assert stale_accepted == []
    versions: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for uid, version, current in Annotation.objects.filter(item__project=project).values_list(
        "uid", "version", "is_current"
    ):
        versions[str(uid)].append((version, current))
    for rows in versions.values():
        numbers = sorted(v for v, _ in rows)
        assert numbers == list(range(1, len(numbers) + 1))
        assert sum(1 for _, c in rows if c) == 1


@pytest.mark.postgres
def test_the_conditional_update_fallback_never_grants_an_item_twice(
    transactional_db: None, make_user: Any
) -> None:
    """The SQLite path (claim by conditional UPDATE), run here by 20 threads at once on
    PostgreSQL so that the claims really interleave."""
    from datetime import timedelta

    from django.utils import timezone

    from annotations.services import queue

    project = make_project(items=30)
    doctors = [make_user(f"racer{i}") for i in range(20)]
    granted: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(doctors))

    def claim(doctor: Any) -> None:
        barrier.wait(timeout=30)
        now = timezone.now()
        candidates = queue.eligible_items(project, doctor).filter(queue.free_now(now))
        leases = queue._claim_with_conditional_update(
            project, candidates.order_by("-priority", "pk"), doctor, 2, now,
            now + timedelta(minutes=10),
        )  # fmt: skip
        with lock:
            granted.extend((lease.item_id, doctor.pk) for lease in leases)

    threads = [_in_thread(lambda d=d: claim(d), errors) for d in doctors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[:3]
    items = [item for item, _ in granted]
    assert len(items) == len(set(items))  # never twice
    assert len(items) == 30  # 20 doctors x 2 wanted 40; all 30 items went out
    assert Lease.objects.filter(item__project=project, closed_at__isnull=True).count() == 30
