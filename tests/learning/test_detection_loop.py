"""The detection loop in the Django jobs, in-process, on a small real subset of BUS-BRA: the
snapshot of doctors' boxes with "no findings" negatives, a RetinaNet run that goes queued →
succeeded with FROC and mAP stored, promotion on froc_mean, a failed run that leaves the previous
model active, and the pool scored with box suggestions in the frame's pixels."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.models import Item
from learning.models import ModelStatus, ModelVersion, RunStatus, Score, TrainingRun
from learning.splits import TEST, TRAIN, VAL
from learning.strategy_names import STRATEGIES_BY_TASK
from ml_worker.jobs.score import score_with_version
from ml_worker.jobs.snapshot import build_training_set
from ml_worker.jobs.train import run_training
from ml_worker.task_types import task_type
from tests.learning.det_factories import make_det_project

pytestmark = pytest.mark.django_db

# 64 px inputs, two short epochs: seconds on 2 CPU cores.
QUICK = {"max_epochs": 2, "min_samples_per_epoch": 32, "batch_size": 8}
FROC_KEYS = {"0.5", "1", "2", "4"}


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    """The heartbeat thread's own connection cannot see this test's uncommitted rows."""
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600


def train(project, **config) -> TrainingRun:  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=project, config=QUICK | config)
    assert run.status == RunStatus.QUEUED
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    return run


@pytest.fixture
def det(make_user):  # type: ignore[no-untyped-def]
    return make_det_project(make_user("admin"), n_items=40, n_labelled=34, negatives=4)


def test_the_snapshot_holds_the_doctors_boxes_and_the_negatives(det):  # type: ignore[no-untyped-def]
    project, truths = det
    data = build_training_set(project)

    items = list(Item.objects.filter(project=project).order_by("pk"))
    index = {item.pk: i for i, item in enumerate(items)}
    seen = 0
    for split in (TRAIN, VAL, TEST):
        for item_id, target in zip(data.item_ids[split], data.boxes[split], strict=True):
            truth = truths[index[item_id]]
            assert (target.rows, target.cols) == (64, 64)
            np.testing.assert_allclose(target.boxes, truth.boxes)
            seen += 1
    assert seen == 34 == data.size
    assert {e["label"] for e in data.snapshot.entries} == {"lesion", ""}
    assert sum(1 for e in data.snapshot.entries if e["label"] == "") == 4


def test_a_detection_run_succeeds_with_froc_and_map_and_scores_the_pool_with_boxes(det):  # type: ignore[no-untyped-def]
    project, _ = det
    run = train(project)

    assert run.status == RunStatus.SUCCEEDED, run.error
    version = run.model_version
    assert version.status == ModelStatus.ACTIVE
    metrics = version.metrics["test"]
    assert set(metrics["froc"]) == FROC_KEYS
    assert all(0.0 <= v <= 1.0 for v in metrics["froc"].values())
    assert metrics["froc_mean"] == pytest.approx(np.mean(list(metrics["froc"].values())), abs=1e-5)
    assert 0.0 <= metrics["map_50"] <= 1.0 and 0.0 <= metrics["map_50_95"] <= metrics["map_50"]
    assert metrics["per_class"]["lesion"]["support"] == metrics["n_test_boxes"] > 0
    assert metrics["n_test_images"] == version.metrics["split_sizes"][TEST]
    assert all("item_id" in row for row in metrics["worst_test_images"])
    assert version.config["task"] == "detection"
    assert version.metrics["promotion"]["metric"] == "froc_mean"
    assert [h["epoch"] for h in run.progress["history"]] == [1, 2]
    assert all("val_froc" in h for h in run.progress["history"])

    score_with_version(version.pk)
    scores = list(Score.objects.filter(model_version=version))
    assert len(scores) == Item.objects.filter(project=project, completed=False).count()
    priorities = sorted(
        Item.objects.filter(project=project, completed=False).values_list("priority", flat=True)
    )
    assert priorities[0] > 1.0  # scored items come before unscored ones
    for score in scores:
        suggestion = score.suggestion
        assert suggestion["kind"] == "boxes" and suggestion["frame"] == 1
        values = [b["score"] for b in suggestion["boxes"]]
        assert values == sorted(values, reverse=True) and all(v >= 0.05 for v in values)
        for box in suggestion["boxes"]:
            (x0, y0), (x1, y1) = box["points"]
            assert box["label"] == "lesion"
            assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64


def test_promotion_compares_froc_mean_and_a_failed_run_keeps_the_active_model(det):  # type: ignore[no-untyped-def]
    project, _ = det
    first = train(project)
    assert first.status == RunStatus.SUCCEEDED, first.error
    active = first.model_version

    # A candidate must beat the active model's froc_mean by an impossible margin: rejected.
    second = train(project, promotion_tolerance=-2.0)
    assert second.status == RunStatus.SUCCEEDED, second.error
    decision = second.model_version.metrics["promotion"]
    assert decision["metric"] == "froc_mean" and decision["promote"] is False
    assert second.model_version.status == ModelStatus.REJECTED
    assert ModelVersion.objects.get(project=project, status=ModelStatus.ACTIVE) == active

    # A run that breaks mid-way (a batch size the optimiser refuses) fails; nothing changes.
    broken = train(project, batch_size=0)
    assert broken.status == RunStatus.FAILED and broken.error
    assert ModelVersion.objects.get(project=project, status=ModelStatus.ACTIVE) == active
    assert ModelVersion.objects.filter(project=project).count() == 2


def test_detection_is_a_task_with_its_own_strategies() -> None:
    entry = task_type("detection")
    assert entry.promotion_metric == "froc_mean" and entry.suggestion_kind == "boxes"
    assert entry.strategies == STRATEGIES_BY_TASK["detection"]
    assert entry.default_strategy == "det_budget_aware"
