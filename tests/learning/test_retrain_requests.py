"""An admin's "retrain now" queues one run after commit; requests made meanwhile coalesce."""

from __future__ import annotations

import pytest
from django.utils import timezone

from learning.models import RunStatus, TrainingRun
from tests.learning.conftest import sent_tasks

pytestmark = pytest.mark.django_db

TRAIN = "ml_worker.tasks.train_model"


def url(cast) -> str:  # type: ignore[no-untyped-def]
    return f"/api/v1/projects/{cast.project.pk}/training-runs/"


def test_an_admin_queues_a_run_and_the_train_queue_gets_it_after_commit(
    cast, broker, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = cast.client("alice").post(url(cast), {}, format="json")
        assert sent_tasks(broker, "train") == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert response.json()["coalesced"] is False
    run = TrainingRun.objects.get()
    assert run.requested_by == cast.alice and run.trigger == "manual"
    assert sent_tasks(broker, "train") == [(TRAIN, [run.pk])]


def test_a_second_request_while_one_is_queued_joins_it(cast, broker):  # type: ignore[no-untyped-def]
    first = cast.client("alice").post(url(cast), {}, format="json").json()
    second = cast.client("alice").post(url(cast), {}, format="json").json()

    assert second["id"] == first["id"]
    assert second["coalesced"] is True
    assert TrainingRun.objects.filter(project=cast.project).count() == 1


def test_requests_during_a_running_run_coalesce_into_one_follow_up(cast):  # type: ignore[no-untyped-def]
    running = TrainingRun.objects.create(
        project=cast.project, status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )
    ids = {cast.client("alice").post(url(cast), {}, format="json").json()["id"] for _ in range(3)}

    assert len(ids) == 1 and running.pk not in ids
    assert TrainingRun.objects.get(pk=ids.pop()).status == RunStatus.QUEUED
    assert TrainingRun.objects.filter(project=cast.project).count() == 2


def test_a_newer_request_with_settings_replaces_the_queued_runs_settings(cast):  # type: ignore[no-untyped-def]
    cast.client("alice").post(url(cast), {"config": {"max_epochs": 5}}, format="json")
    body = cast.client("alice").post(url(cast), {"config": {"max_epochs": 2}}, format="json").json()

    assert body["config"] == {"max_epochs": 2}


def test_unknown_or_out_of_range_settings_are_refused_and_nothing_is_queued(cast):  # type: ignore[no-untyped-def]
    typo = cast.client("alice").post(url(cast), {"config": {"max_epoch": 5}}, format="json")
    too_many = cast.client("alice").post(url(cast), {"config": {"max_epochs": 0}}, format="json")

    assert typo.status_code == 400 and "max_epoch" in typo.json()
    assert too_many.status_code == 400 and "max_epochs" in too_many.json()
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize(
    ("who", "expected"),
    [("rita", 403), ("anna", 403), ("otto", 404), (None, 401)],
)
def test_only_admins_may_start_training(cast, who, expected):  # type: ignore[no-untyped-def]
    response = cast.client(who).post(url(cast), {}, format="json")

    assert response.status_code == expected
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize(("who", "expected"), [("anna", 200), ("otto", 404)])
def test_members_see_the_runs_and_outsiders_do_not(cast, who, expected):  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=cast.project)

    listing = cast.client(who).get(url(cast))
    detail = cast.client(who).get(f"/api/v1/training-runs/{run.pk}/")

    assert listing.status_code == expected and detail.status_code == expected
    if expected == 200:
        assert [r["id"] for r in listing.json()] == [run.pk]
        assert detail.json()["status"] == "queued"
