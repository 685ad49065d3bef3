"""Every `retrain_every` new labels, a submit queues one automatic run."""

from __future__ import annotations

import pytest

from annotations.models import Annotation, Item
from learning.models import RunStatus, TrainingRun
from learning.triggers import on_labels_submitted

pytestmark = pytest.mark.django_db


def submit_labels(project, count: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(count):
        item = Item.objects.create(project=project)
        Annotation.objects.create(item=item, kind="class", payload={"labels": ["normal"]})
        on_labels_submitted(project.pk)


def test_the_nth_label_queues_an_automatic_run(cast):  # type: ignore[no-untyped-def]
    cast.project.retrain_every = 5
    cast.project.save()

    submit_labels(cast.project, 4)
    assert not TrainingRun.objects.exists()

    submit_labels(cast.project, 1)
    run = TrainingRun.objects.get()
    assert run.trigger == "auto" and run.status == RunStatus.QUEUED and run.label_count == 5


def test_labels_while_a_run_is_queued_do_not_queue_another(cast):  # type: ignore[no-untyped-def]
    cast.project.retrain_every = 2
    cast.project.save()

    submit_labels(cast.project, 7)

    assert TrainingRun.objects.filter(project=cast.project).count() == 1


def test_the_count_restarts_from_the_labels_the_last_run_saw(cast):  # type: ignore[no-untyped-def]
    cast.project.retrain_every = 3
    cast.project.save()
    TrainingRun.objects.create(project=cast.project, status=RunStatus.SUCCEEDED, label_count=10)
    submit_labels(cast.project, 12)  # 12 labelled items now, 10 seen by the last run: 2 new
    assert TrainingRun.objects.filter(status=RunStatus.QUEUED).count() == 0

    submit_labels(cast.project, 1)

    assert TrainingRun.objects.filter(status=RunStatus.QUEUED, trigger="auto").count() == 1


def test_deleted_or_superseded_labels_do_not_count(cast):  # type: ignore[no-untyped-def]
    cast.project.retrain_every = 2
    cast.project.save()
    item = Item.objects.create(project=cast.project)
    Annotation.objects.create(item=item, kind="class", payload={}, is_current=False)
    Annotation.objects.create(item=item, kind="class", payload={}, deleted=True)
    on_labels_submitted(cast.project.pk)
    submit_labels(cast.project, 1)

    assert not TrainingRun.objects.exists()


def test_zero_turns_automatic_training_off(cast):  # type: ignore[no-untyped-def]
    cast.project.retrain_every = 0
    cast.project.save()

    submit_labels(cast.project, 3)

    assert not TrainingRun.objects.exists()


def test_an_unknown_project_is_ignored_quietly() -> None:
    on_labels_submitted(987654)

    assert not TrainingRun.objects.exists()
