"""Submit closes the lease and counts the read; the learning loop hears about it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from annotations.models import Item, Lease, Submission
from annotations.services.submit import labels_submitted
from tests.annotations.helpers import answer, submit, take


def test_submit_counts_the_read_and_closes_the_lease(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    answer(client, item["id"], {"labels": ["normal"]})
    response = submit(client, item["id"], spent=3100)
    assert response.status_code == 200
    assert response.json() == {
        "item": item["id"], "reads_done": 1, "completed": True, "review_state": "",
        "counted": True, "time_spent_ms": 3100, "box_edits": None,
    }  # fmt: skip
    lease = Lease.objects.get(pk=item["lease"]["id"])
    assert lease.outcome == "submitted" and lease.closed_at is not None
    assert Submission.objects.get(item_id=item["id"]).time_spent_ms == 3100


def test_submitting_twice_counts_once(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    answer(client, item["id"])
    submit(client, item["id"])
    again = submit(client, item["id"])
    assert again.status_code == 200 and again.json()["counted"] is False
    assert Item.objects.get(pk=item["id"]).reads_done == 1


def test_submit_without_an_annotation_is_a_conflict(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    assert submit(client, item["id"]).status_code == 409
    assert Item.objects.get(pk=item["id"]).reads_done == 0


def test_a_lost_lease_answers_gone_but_keeps_the_annotations(cast) -> None:
    client = cast.client(cast.anna)
    Item.objects.filter(project=cast.project).update(priority=0)
    (item,) = take(client, cast.project.pk)
    answer(client, item["id"], {"labels": ["normal"]})
    past = timezone.now() - timedelta(seconds=1)
    Lease.objects.filter(pk=item["lease"]["id"]).update(expires_at=past)
    Item.objects.filter(pk=item["id"]).update(lease_expires_at=past)
    (taken,) = take(cast.client(cast.ben), cast.project.pk)
    assert taken["id"] == item["id"]
    response = submit(client, item["id"])
    assert response.status_code == 410
    assert Item.objects.get(pk=item["id"]).reads_done == 0
    assert Item.objects.get(pk=item["id"]).annotations.filter(author=cast.anna).count() == 1


def test_a_late_submit_counts_when_nobody_took_the_item_meanwhile(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    answer(client, item["id"])
    past = timezone.now() - timedelta(seconds=1)
    Lease.objects.filter(pk=item["lease"]["id"]).update(expires_at=past)
    Item.objects.filter(pk=item["id"]).update(lease_expires_at=past)
    assert submit(client, item["id"]).status_code == 200


def test_time_spent_must_be_milliseconds(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    answer(client, item["id"])
    for bad in (-1, "10", None, 10**12):
        response = client.post(
            f"/api/v1/items/{item['id']}/submit", {"time_spent_ms": bad}, format="json"
        )
        assert response.status_code == 400


def test_submit_tells_the_learning_loop_after_commit(
    cast, django_capture_on_commit_callbacks
) -> None:
    from learning.models import TrainingRun

    cast.project.retrain_every = 1
    cast.project.save()
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    answer(client, item["id"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submit(client, item["id"])
    hooks = [c for c in callbacks if getattr(c, "func", None) is labels_submitted]
    assert [h.args for h in hooks] == [(cast.project.pk,)]
    assert not TrainingRun.objects.filter(project=cast.project).exists()
    hooks[0]()
    # retrain_every=1 and one new label: the learning app queues an automatic run.
    assert TrainingRun.objects.get(project=cast.project).trigger == "auto"


def test_with_automatic_training_off_submit_schedules_no_learning_hook(
    cast, django_capture_on_commit_callbacks
) -> None:
    cast.project.retrain_every = 0
    cast.project.save()
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    answer(client, item["id"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert submit(client, item["id"]).status_code == 200
    assert not [c for c in callbacks if getattr(c, "func", None) is labels_submitted]


def test_an_outsider_cannot_submit_or_learn_that_the_item_exists(cast) -> None:
    (item,) = take(cast.client(cast.anna), cast.project.pk)
    response = submit(cast.client(cast.otto), item["id"])
    assert response.status_code == 404
    assert not Item.objects.get(pk=item["id"]).submissions.exists()
