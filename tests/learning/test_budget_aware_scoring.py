"""A project on the budget_aware strategy is scored with its labelled set's class counts."""

from __future__ import annotations

import numpy as np
import pytest

from learning.models import Score
from ml_worker.jobs.score import labelled_counts, score_with_version
from ml_worker.strategies import PoolData, get_strategy
from tests.cast import CLASSES, make_project
from tests.learning.test_pool_scoring_job import queue, trained

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600


def test_the_version_counts_the_labels_of_each_class_it_learnt_from(make_user):  # type: ignore[no-untyped-def]
    project = make_project(
        admin=make_user("admin"), images=40, labelled=24, strategy="budget_aware"
    )
    version = trained(project)

    counts = labelled_counts(version, list(CLASSES))

    labels = [entry["label"] for entry in version.snapshot.entries]
    assert counts.tolist() == [labels.count("normal"), labels.count("pneumonia")]
    assert counts.sum() == 24
    # Short of 50 labels per class: the pool is served in the early (random) order.
    pool = PoolData(probabilities=np.full((3, 2), 0.5), labeled_counts=counts)
    assert get_strategy("budget_aware").phase(pool) == "early"  # type: ignore[attr-defined]


def test_a_budget_aware_project_is_scored_and_its_queue_reordered(make_user):  # type: ignore[no-untyped-def]
    project = make_project(
        admin=make_user("admin"), images=40, labelled=24, strategy="budget_aware"
    )
    version = trained(project)
    before = queue(project)

    outcome = score_with_version(version.pk)

    assert outcome is not None and outcome.scored == 40
    assert Score.objects.filter(model_version=version, strategy="budget_aware").count() == 40
    assert queue(project) != before
