"""The queue's random stream (Project.random_share): that share of requests is served uniformly
at random from the free pool instead of by priority, and each item so served is marked
`served_at_random` for the shadow random-sampling baseline (ml_worker.jobs.shadow)."""

from __future__ import annotations

import pytest

from annotations.models import Item, Project
from annotations.services import queue
from tests.annotations.helpers import take
from tests.cast import add_member, make_project


@pytest.fixture
def project(db, make_user):  # type: ignore[no-untyped-def]
    project = make_project(items=40)
    # Priorities 40, 39, ... by id: the priority order is the id order.
    for rank, pk in enumerate(
        Item.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)
    ):
        Item.objects.filter(pk=pk).update(priority=float(40 - rank))
    Project.objects.filter(pk=project.pk).update(random_share=0.25)
    return project


def client_for(project, user):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    add_member(project, user, "annotator")
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_random_draw_serves_free_items_at_random_and_marks_them(
    project, make_user, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(queue, "random_draw", lambda: 0.0)  # below random_share: random stream
    served = [
        take(client_for(project, make_user(f"doc{i}")), project.pk, count=3) for i in range(4)
    ]
    ids = [item["id"] for batch in served for item in batch]
    assert len(ids) == len(set(ids)) == 12
    top = list(
        Item.objects.filter(project=project)
        .order_by("-priority", "pk")
        .values_list("pk", flat=True)
    )
    assert ids != top[:12]  # (1/40 * 1/39 * ...: the priority order by chance is negligible)
    assert set(Item.objects.filter(served_at_random=True).values_list("pk", flat=True)) == set(ids)


def test_other_draws_serve_by_priority_and_mark_nothing(project, make_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(queue, "random_draw", lambda: 0.99)
    got = take(client_for(project, make_user("doc")), project.pk, count=3)
    top = list(
        Item.objects.filter(project=project)
        .order_by("-priority", "pk")
        .values_list("pk", flat=True)
    )
    assert [item["id"] for item in got] == top[:3]
    assert not Item.objects.filter(served_at_random=True).exists()


def test_a_project_without_random_share_never_draws(project, make_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    Project.objects.filter(pk=project.pk).update(random_share=0.0)
    monkeypatch.setattr(queue, "random_draw", lambda: 0.0)
    got = take(client_for(project, make_user("doc")), project.pk, count=2)
    top = list(
        Item.objects.filter(project=project)
        .order_by("-priority", "pk")
        .values_list("pk", flat=True)
    )
    assert [item["id"] for item in got] == top[:2]
    assert not Item.objects.filter(served_at_random=True).exists()


def test_random_share_is_validated(project, make_user) -> None:  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    admin = make_user("boss")
    add_member(project, admin, "admin")
    client = APIClient()
    client.force_authenticate(admin)
    url = f"/api/v1/projects/{project.pk}/"
    assert client.patch(url, {"random_share": 0.8}, format="json").status_code == 400
    response = client.patch(url, {"random_share": 0.1}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["random_share"] == 0.1
