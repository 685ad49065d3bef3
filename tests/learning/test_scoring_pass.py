"""A scoring pass stores scores keyed to the model version and switches the queue at once."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from annotations.models import Item
from learning.models import ModelStatus, ModelVersion, Score
from learning.services.scoring import ItemScore, latest_score, pool_item_ids, save_scoring_pass


def items(project, n: int) -> list[Item]:  # type: ignore[no-untyped-def]
    return [Item.objects.create(project=project, priority=0.5) for _ in range(n)]


def model(project, status: str = ModelStatus.ACTIVE, number: int = 1) -> ModelVersion:  # type: ignore[no-untyped-def]
    return ModelVersion.objects.create(
        project=project, number=number, architecture="small_cnn", status=status
    )


def scored(pool: list[Item]) -> list[ItemScore]:
    return [
        ItemScore(
            item.pk, value=i / 10, priority=1 + i / 10, probabilities=[0.4, 0.6], predicted_class=1
        )
        for i, item in enumerate(pool)
    ]


def priorities(pool: list[Item]) -> list[float]:
    return [Item.objects.get(pk=item.pk).priority for item in pool]


@pytest.mark.django_db
def test_the_active_models_pass_reorders_every_pool_item(cast):  # type: ignore[no-untyped-def]
    pool = items(cast.project, 4)
    version = model(cast.project)

    outcome = save_scoring_pass(cast.project.pk, version.pk, "entropy", scored(pool))

    assert outcome.scored == 4 and outcome.queue_updated
    assert priorities(pool) == [1.0, 1.1, 1.2, 1.3]
    assert Score.objects.filter(model_version=version).count() == 4
    assert latest_score(pool[0].pk).probabilities == [0.4, 0.6]  # what suggestions read


@pytest.mark.django_db
def test_a_pass_of_a_version_no_longer_active_is_kept_but_leaves_the_queue_alone(cast):  # type: ignore[no-untyped-def]
    pool = items(cast.project, 3)
    rolled_back = model(cast.project, ModelStatus.RETIRED)

    outcome = save_scoring_pass(cast.project.pk, rolled_back.pk, "entropy", scored(pool))

    assert not outcome.queue_updated
    assert priorities(pool) == [0.5, 0.5, 0.5]
    assert Score.objects.filter(model_version=rolled_back).count() == 3
    assert latest_score(pool[0].pk) is None


@pytest.mark.django_db
def test_scoring_again_replaces_the_versions_scores(cast):  # type: ignore[no-untyped-def]
    pool = items(cast.project, 2)
    version = model(cast.project)
    save_scoring_pass(cast.project.pk, version.pk, "entropy", scored(pool))

    save_scoring_pass(cast.project.pk, version.pk, "entropy", scored(pool[::-1]))

    assert Score.objects.count() == 2
    assert priorities(pool) == [1.1, 1.0]


@pytest.mark.django_db
def test_a_cold_start_pass_never_undoes_a_models_order(cast):  # type: ignore[no-untyped-def]
    pool = items(cast.project, 2)
    model(cast.project)

    outcome = save_scoring_pass(cast.project.pk, None, "cold_start", scored(pool))

    assert not outcome.queue_updated and priorities(pool) == [0.5, 0.5]


@pytest.mark.django_db
def test_completed_items_are_not_in_the_pool(cast):  # type: ignore[no-untyped-def]
    open_item, done = items(cast.project, 2)
    Item.objects.filter(pk=done.pk).update(completed=True)

    assert pool_item_ids(cast.project.pk) == [open_item.pk]


@pytest.mark.django_db(transaction=True)
def test_a_pass_that_fails_half_way_changes_no_priority(cast):  # type: ignore[no-untyped-def]
    pool = items(cast.project, 3)
    version = model(cast.project)
    rows = [*scored(pool), ItemScore(10**9, 0.0, 9.0, [], None)]  # an item that does not exist

    with pytest.raises(IntegrityError):
        save_scoring_pass(cast.project.pk, version.pk, "entropy", rows)

    assert priorities(pool) == [0.5, 0.5, 0.5]
    assert not Score.objects.exists()
