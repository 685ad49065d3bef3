"""The segmentation loop in the Django jobs, in-process (tests/learning/test_segmentation_worker.py
runs it in a real Celery worker): snapshot of doctors' polygons and masks with negatives, the
U-Net run registered with its test Dice, promotion on Dice, scoring with priorities and mask
suggestions served to a leased item, and the strategy checked against the task type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotations.models import Item
from annotations.payloads import decode_mask, rasterize
from annotations.services.suggestions import suggestions_for
from learning.models import ModelStatus, ModelVersion, RunStatus, Score, TrainingRun
from learning.splits import TEST, TRAIN, VAL
from learning.strategy_names import STRATEGIES_BY_TASK
from ml_worker.checkpoint import sha256_file
from ml_worker.jobs.score import score_with_version
from ml_worker.jobs.snapshot import build_training_set
from ml_worker.jobs.train import run_training
from ml_worker.task_types import task_names, task_type
from tests.learning.seg_factories import make_seg_project, outline

pytestmark = pytest.mark.django_db

# 32 px inputs, a few short epochs: seconds on 2 CPU cores.
QUICK = {"max_epochs": 4, "min_samples_per_epoch": 48, "batch_size": 8, "augment": False}


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    """The heartbeat thread's own connection cannot see this test's uncommitted rows."""
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600


def train(project, **config) -> TrainingRun:  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=project, config=QUICK | config)
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    return run


@pytest.fixture
def seg(make_user):  # type: ignore[no-untyped-def]
    return make_seg_project(make_user("admin"), n_items=40, n_labelled=30)


def test_the_snapshot_rasterizes_polygons_as_the_server_does_and_keeps_negatives(seg):  # type: ignore[no-untyped-def]
    project, generated = seg
    data = build_training_set(project)

    by_item = {
        item_id: mask
        for split in (TRAIN, VAL, TEST)
        for item_id, mask in zip(data.item_ids[split], data.masks[split], strict=True)
    }
    assert len(by_item) == 30 == data.size
    items = Item.objects.filter(project=project).select_related("instance").order_by("pk")
    negatives = 0
    for index, item in enumerate(items[:30]):
        points = generated.outlines[index]
        mask = by_item[item.pk]
        assert mask.shape == (48, 48) and mask.dtype == np.uint8
        if points is None:
            negatives += 1
            assert not mask.any()
            continue
        server = rasterize("polygon", {"points": points}, 48, 48)
        assert server is not None
        # Same pixel-centre rule: equal, so well within the contract's +-1 px.
        assert np.array_equal(mask == 1, server)
    assert negatives > 0
    entries = data.snapshot.entries
    assert {e["label"] for e in entries} == {"lesion", ""}
    assert all(e["annotations"] for e in entries)
    assert build_training_set(project).snapshot.pk == data.snapshot.pk  # same labels, same hash


def test_a_segmentation_run_succeeds_and_stores_its_test_dice(seg):  # type: ignore[no-untyped-def]
    project, _ = seg
    run = train(project)

    assert run.status == RunStatus.SUCCEEDED, run.error
    version = run.model_version
    assert version.status == ModelStatus.ACTIVE and version.number == 1
    test = version.metrics["test"]
    assert test["n_images"] == version.metrics["split_sizes"]["test"] > 0
    assert 0.0 <= test["dice"] <= 1.0
    lesion = test["per_class"]["lesion"]
    for key in ("dice", "iou", "hd95", "lesion_sensitivity", "lesion_precision"):
        assert key in lesion
    assert "pixel_ece" in test
    assert version.metrics["promotion"]["metric"] == "dice"
    assert version.config["task"] == "segmentation" and version.config["model"]["num_classes"] == 1
    assert [h["epoch"] for h in run.progress["history"]] == list(
        range(1, len(run.progress["history"]) + 1)
    )
    assert "val_dice" in run.progress["history"][0]
    assert Path(version.checkpoint_path).is_file()
    assert sha256_file(version.checkpoint_path) == version.checkpoint_sha256


def test_a_worse_segmenter_is_not_promoted_on_dice(seg):  # type: ignore[no-untyped-def]
    project, _ = seg
    first = train(project, max_epochs=8).model_version
    assert first.metrics["test"]["dice"] > 0.3  # the generated lesions are learnable

    # No learning at all: the untrained network's masks.
    second = train(project, learning_rate=0.0, max_epochs=1, warm_start=False).model_version

    first.refresh_from_db()
    promotion = second.metrics["promotion"]
    assert promotion["metric"] == "dice"
    assert promotion["candidate_value"] < promotion["active_value"]
    assert promotion["promote"] is False
    assert (first.status, second.status) == (ModelStatus.ACTIVE, ModelStatus.REJECTED)


def test_a_failing_run_leaves_the_previous_segmenter_active(seg):  # type: ignore[no-untyped-def]
    project, _ = seg
    first = train(project).model_version
    # The input size a four-times-halving U-Net cannot take: the run fails with the reason.
    project.input_size = 36
    project.save(update_fields=["input_size"])

    run = train(project)

    assert run.status == RunStatus.FAILED and "input size 36" in run.error
    first.refresh_from_db()
    assert first.status == ModelStatus.ACTIVE
    assert ModelVersion.objects.filter(project=project).count() == 1


def test_outlines_without_any_region_fail_with_a_reason(make_user):  # type: ignore[no-untyped-def]
    project, _ = make_seg_project(make_user("admin"), n_items=6, n_labelled=0)

    for item in Item.objects.filter(project=project):
        outline(item, None)
    run = train(project)
    assert run.status == RunStatus.FAILED and "no outlined region" in run.error


def test_scoring_writes_priorities_and_mask_suggestions_served_to_a_leased_item(seg, make_user):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    from annotations.models import Membership, Role

    project, _ = seg
    project.suggestions = "before"
    project.save(update_fields=["suggestions"])
    version = train(project, max_epochs=8).model_version
    assert version.status == ModelStatus.ACTIVE
    pool = list(Item.objects.filter(project=project, completed=False).order_by("pk"))
    before = {item.pk: item.priority for item in pool}

    outcome = score_with_version(version.pk)

    assert outcome is not None and outcome.scored == len(pool) > 0
    scores = Score.objects.filter(model_version=version)
    assert scores.count() == len(pool) and {s.strategy for s in scores} == {"seg_entropy"}
    after = dict(Item.objects.filter(pk__in=before).values_list("pk", "priority"))
    assert all(1.0 < p <= 2.0 for p in after.values()) and after != before
    found_lesion = 0
    for score in scores:
        suggestion = score.suggestion
        assert suggestion["kind"] == "mask" and suggestion["frame"] == 1
        for mask in suggestion["masks"]:
            assert mask["label"] == "lesion" and mask["size"] == [48, 48]
            assert decode_mask(mask["size"], mask["counts"]).any()
            found_lesion += 1
    assert found_lesion > 0  # the model sees lesions in the pool

    # Served per the contract on the item a doctor leases next.
    doctor = make_user("doctor")
    Membership.objects.create(project=project, user=doctor, role=Role.ANNOTATOR)
    client = APIClient()
    client.force_authenticate(doctor)
    response = client.post(f"/api/v1/projects/{project.pk}/queue/next", {}, format="json")
    assert response.status_code == 200, response.content
    leased = response.json()["items"][0]
    assert leased["id"] == max(after, key=after.__getitem__)  # the top-priority item
    stored = Score.objects.get(model_version=version, item_id=leased["id"])
    assert leased["suggestion"] == {
        "model_version": version.pk,
        "version_number": version.number,
        "kind": "mask",
        "frame": 1,
        "masks": stored.suggestion["masks"],
    }
    assert suggestions_for(project, [leased["id"]])[leased["id"]] == leased["suggestion"]


def test_each_task_type_lists_the_same_strategies_on_both_sides() -> None:
    for name in task_names():
        assert task_type(name).strategies == STRATEGIES_BY_TASK[name]
        assert task_type(name).default_strategy in STRATEGIES_BY_TASK[name]


@pytest.mark.parametrize(
    ("task", "strategy", "ok"),
    [
        ("segmentation", "seg_entropy", True),
        ("segmentation", "entropy", False),
        ("classification", "seg_entropy", False),
        ("classification", "margin", True),
    ],
)
def test_a_project_takes_only_the_strategies_of_its_task(make_user, task, strategy, ok):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(make_user("root", superuser=True))
    response = client.post(
        "/api/v1/projects/",
        {"name": "p", "task_type": task, "strategy": strategy},
        format="json",
    )
    if ok:
        assert response.status_code == 201, response.content
    else:
        assert response.status_code == 400
        assert "strategy" in response.json()


def test_a_new_segmentation_project_starts_with_a_segmentation_strategy(make_user):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(make_user("root", superuser=True))
    response = client.post(
        "/api/v1/projects/", {"name": "p", "task_type": "segmentation"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["strategy"] == "seg_budget_aware"


def test_the_shadow_random_baseline_is_a_segmenter_on_the_random_picks(seg):  # type: ignore[no-untyped-def]
    project, _ = seg
    project.random_share = 0.2
    project.save(update_fields=["random_share"])
    Item.objects.filter(project=project).update(served_at_random=True)

    run = train(project)

    assert run.status == RunStatus.SUCCEEDED, run.error
    shadow = ModelVersion.objects.get(project=project, status=ModelStatus.SHADOW)
    assert shadow.config["sampling"] == "random" and shadow.config["task"] == "segmentation"
    main_sizes = run.model_version.metrics["split_sizes"]
    assert shadow.metrics["split_sizes"]["train"] == main_sizes["train"]
    assert 0.0 <= shadow.metrics["test"]["dice"] <= 1.0
    assert "shadow random baseline v2" in run.log
