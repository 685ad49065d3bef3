"""The dashboard's read figures (per day, per doctor, per label) are aggregated in SQL from
Submission.project (decision 0192): they must equal, exactly, what Python's statistics give over
every read of the project fetched through its items, the way they were computed before, in any
time zone, with ties, even and odd counts, and another project's reads beside them."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta
from statistics import mean, median
from typing import Any

import pytest
from django.utils import timezone
from reports.services.dashboard import project_dashboard

from annotations.models import Item, Submission
from tests.cast import make_project, make_user

pytestmark = pytest.mark.django_db


def reference(project: Any) -> dict[str, Any]:
    """The figures as the dashboard computed them before: every read to Python."""
    reads = list(
        Submission.objects.filter(item__project=project).values_list(
            "user__username", "time_spent_ms", "created_at"
        )
    )
    days = Counter(timezone.localtime(at).date() for _, _, at in reads)
    times: dict[str, list[int]] = defaultdict(list)
    for name, ms, _ in reads:
        times[name].append(ms)
    doctors: list[dict[str, Any]] = [
        {
            "doctor": name,
            "count": len(values),
            "median_time_ms": int(median(values)),
            "mean_time_ms": round(mean(values)),
        }
        for name, values in times.items()
    ]
    doctors.sort(key=lambda row: (-row["count"], row["doctor"]))
    every = [ms for _, ms, _ in reads]
    overall: dict[str, int | None] = (
        {"n": len(every), "median_ms": int(median(every)), "mean_ms": round(mean(every))}
        if every
        else {"n": 0, "median_ms": None, "mean_ms": None}
    )
    return {
        "labels_per_day": [{"date": d.isoformat(), "count": days[d]} for d in sorted(days)],
        "labels_per_doctor": doctors,
        "time_per_label": overall,
    }


def test_read_figures_equal_python_statistics_over_every_read() -> None:
    rng = random.Random(192)
    project = make_project(items=60)
    other = make_project(items=12)
    doctors = [make_user(f"reader{d}") for d in range(7)]
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=9)
    for p, share in ((project, 0.45), (other, 0.9)):
        for item in Item.objects.filter(project=p):
            for doctor in doctors:
                if rng.random() < share:
                    # Ties (few distinct values), odd sums (x.5 medians and means), zeros.
                    spent = (
                        rng.choice((0, 7, 999, 1000, 1000, 1001))
                        if rng.random() < 0.4
                        else rng.randrange(60000)
                    )
                    read = Submission.objects.create(item=item, user=doctor, time_spent_ms=spent)
                    # Spread over ten days, many near midnight in one zone or another.
                    at = start + timedelta(days=rng.randrange(10), minutes=rng.randrange(-90, 90))
                    Submission.objects.filter(pk=read.pk).update(created_at=at)
    # A doctor with an even number of reads whose two middle values differ (a median that is
    # neither of them), one with an odd number, and an even total with the same property.
    first, second = Item.objects.filter(project=project).order_by("pk")[:2]
    evens = make_user("evens")
    Submission.objects.create(item=first, user=evens, time_spent_ms=1000)
    Submission.objects.create(item=second, user=evens, time_spent_ms=2001)  # median 1500
    reads = Submission.objects.filter(project=project)
    if reads.count() % 2:
        Submission.objects.create(item=first, user=make_user("last"), time_spent_ms=5)
    counts = Counter(reads.values_list("user_id", flat=True)).values()
    assert any(n % 2 for n in counts)
    ordered = sorted(reads.values_list("time_spent_ms", flat=True))
    assert ordered[len(ordered) // 2 - 1] != ordered[len(ordered) // 2]

    for zone in ("UTC", "America/New_York", "Asia/Kolkata"):
        with timezone.override(zone):
            figures = project_dashboard(project)
            expected = reference(project)
        for key, value in expected.items():
            assert figures[key] == value, (zone, key)
    # The other project's reads are its own.
    assert project_dashboard(other)["time_per_label"] == reference(other)["time_per_label"]


def test_no_reads_gives_empty_figures() -> None:
    project = make_project(items=3)
    figures = project_dashboard(project)
    assert figures["labels_per_day"] == []
    assert figures["labels_per_doctor"] == []
    assert figures["time_per_label"] == {"n": 0, "median_ms": None, "mean_ms": None}


def test_a_read_carries_its_items_project_however_it_is_created() -> None:
    project = make_project(items=2)
    first, second = Item.objects.filter(project=project).order_by("pk")
    doctor = make_user("reader")
    by_item = Submission.objects.create(item=first, user=doctor)
    by_id = Submission.objects.create(item_id=second.pk, user=doctor)
    again, created = Submission.objects.get_or_create(item=first, user=make_user("second"))
    assert created
    assert {by_item.project_id, by_id.project_id, again.project_id} == {project.pk}
    assert Submission.objects.filter(project=project).count() == 3
