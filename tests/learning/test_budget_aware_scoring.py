"""A project on the budget_aware strategy is scored with its labelled set's class counts."""

from __future__ import annotations

import numpy as np
import pytest

from learning.models import ModelKind, ModelStatus, ModelVersion, Score
from ml_worker.jobs.score import (
    _strategy_options,
    labelled_counts,
    learning_curve,
    score_with_version,
)
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
    # One model, no learning curve yet: the pool is served in the early (random) order.
    pool = PoolData(probabilities=np.full((3, 2), 0.5), labeled_counts=counts)
    options = _strategy_options("budget_aware", project)
    assert get_strategy("budget_aware", **options).phase(pool) == "early"  # type: ignore[attr-defined]


def test_the_evidence_is_the_projects_learning_curve(make_user):  # type: ignore[no-untyped-def]
    """Labels used and test AUC of every version, ascending; versions without an AUC skipped."""
    project = make_project(
        admin=make_user("admin"), images=40, labelled=24, strategy="budget_aware"
    )
    version = trained(project)
    auc = version.metrics["test"]["auc"]
    for labels, value in ((200, 0.950), (100, 0.948), (400, 0.952)):
        ModelVersion.objects.create(
            project=project, number=labels, architecture="small_cnn",
            labels_used=labels, metrics={"test": {"auc": value}},
        )  # fmt: skip
    ModelVersion.objects.create(
        project=project, number=999, architecture="small_cnn", labels_used=500, metrics={}
    )
    # Neither the shadow random baseline (the other arm's curve) nor an encoder counts.
    ModelVersion.objects.create(
        project=project, number=1000, architecture="small_cnn", labels_used=600,
        status=ModelStatus.SHADOW, metrics={"test": {"auc": 0.5}},
    )  # fmt: skip
    ModelVersion.objects.create(
        project=project, number=1001, architecture="small_cnn", labels_used=700,
        kind=ModelKind.PRETRAINED, metrics={"test": {"auc": 0.5}},
    )  # fmt: skip
    labels, aucs = learning_curve(project)
    assert labels == [24, 100, 200, 400] and aucs == [auc, 0.948, 0.950, 0.952]
    options = _strategy_options("budget_aware", project)
    assert (options["curve_labels"], options["curve_aucs"]) == (labels, aucs)
    # The curve has flattened (+0.002 per doubling) and each class has 10 labels: uncertainty.
    pool = PoolData(probabilities=np.full((3, 2), 0.5), labeled_counts=np.array([60, 140]))
    assert get_strategy("budget_aware", **options).phase(pool) == "uncertainty"  # type: ignore[attr-defined]


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
