"""A segmentation run after the first fine-tunes the active model (decision 0354): it really
starts from the active weights, says so in the version's config, keeps the promotion rule, falls
back to a run from scratch by rule, and its shadow random baseline warm-starts only from the
previous shadow (decision 0355). Scoring forwards each pool image once when the strategy needs
no extra passes (counted on the model the job scores with)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from annotations.models import Item
from learning.models import ModelStatus, ModelVersion, RunStatus, TrainingRun
from ml_worker.checkpoint import load_checkpoint
from ml_worker.jobs.score import score_with_version
from ml_worker.jobs.seg_score import loaded_segmenter
from ml_worker.jobs.seg_train import WARM_MAX_CHAIN
from ml_worker.jobs.train import run_training
from ml_worker.segmentation.network import build_segmenter
from ml_worker.segmentation.pipeline import score_pool_with_predictions, spec_for
from tests.learning.seg_factories import make_seg_project

pytestmark = pytest.mark.django_db

QUICK = {"max_epochs": 8, "min_samples_per_epoch": 48, "batch_size": 8, "augment": False}


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600


def train(project, **config) -> TrainingRun:  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=project, config=QUICK | config)
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


@pytest.fixture
def seg(make_user):  # type: ignore[no-untyped-def]
    project, _ = make_seg_project(make_user("admin"), n_items=40, n_labelled=30)
    return project


def test_a_second_run_fine_tunes_the_active_model_and_records_it(seg) -> None:  # type: ignore[no-untyped-def]
    first = train(seg).model_version
    assert first.config["warm_start"] == {"from_version": None, "reason": "no earlier model"}
    assert first.metrics["test"]["dice"] > 0.3  # a model worth starting from

    # No learning at all (learning rate 0, one epoch): a warm-started run is the active model
    # again, so its test Dice is the active model's (a run from scratch scores far below it,
    # tests/learning/test_segmentation_loop.py::test_a_worse_segmenter_is_not_promoted_on_dice).
    frozen = train(seg, learning_rate=0.0, warm_epochs=1).model_version
    record = frozen.config["warm_start"]
    assert record["from_version"] == first.pk and record["chain"] == 1
    assert record["checkpoint_sha256"] == first.checkpoint_sha256
    assert frozen.config["training"]["max_epochs"] == 1
    promotion = frozen.metrics["promotion"]
    assert promotion["candidate_value"] == pytest.approx(promotion["active_value"], abs=0.03)

    # A normal warm run: its first epoch's validation Dice is already near the active model's
    # best (a run from scratch starts near 0 after one epoch), and it runs the short schedule.
    best_val = max(h["val_dice"] for h in first.metrics["training"]["history"])
    first.refresh_from_db()
    active = ModelVersion.objects.get(project=seg, status=ModelStatus.ACTIVE)
    warm_run = train(seg)
    warm = warm_run.model_version
    assert warm.config["warm_start"]["from_version"] == active.pk
    history = warm_run.progress["history"]
    assert len(history) <= 2 and warm.config["training"]["max_epochs"] == 2
    assert history[0]["val_dice"] >= best_val - 0.1
    cold = train(seg, warm_start=False)
    assert cold.model_version.config["warm_start"]["reason"] == "turned off for this run"
    assert cold.progress["history"][0]["val_dice"] < history[0]["val_dice"]


def test_a_long_chain_or_a_much_larger_label_set_trains_from_scratch(seg) -> None:  # type: ignore[no-untyped-def]
    first = train(seg).model_version
    ModelVersion.objects.filter(pk=first.pk).update(
        config={**first.config, "warm_start": {"from_version": 0, "chain": WARM_MAX_CHAIN}}
    )
    second = train(seg).model_version
    assert second.config["warm_start"]["from_version"] is None
    assert "in a row" in second.config["warm_start"]["reason"]
    assert second.config["training"]["max_epochs"] == QUICK["max_epochs"]

    # The active model (whichever won) as a short chain that saw 10 of today's 30 labels.
    active = ModelVersion.objects.get(project=seg, status=ModelStatus.ACTIVE)
    ModelVersion.objects.filter(pk=active.pk).update(
        labels_used=10, config={**active.config, "warm_start": {"from_version": None}}
    )
    third = train(seg).model_version
    assert "saw 10 of today's 30 labels" in third.config["warm_start"]["reason"]


def test_the_shadow_baseline_warm_starts_from_the_previous_shadow_only(seg) -> None:  # type: ignore[no-untyped-def]
    seg.random_share = 0.2
    seg.save(update_fields=["random_share"])
    Item.objects.filter(project=seg).update(served_at_random=True)

    train(seg)
    first_shadow = ModelVersion.objects.get(project=seg, status=ModelStatus.SHADOW)
    assert first_shadow.config["warm_start"]["from_version"] is None

    run = train(seg)
    main = run.model_version
    newest_shadow = ModelVersion.objects.filter(project=seg, status=ModelStatus.SHADOW).latest(
        "number"
    )
    assert newest_shadow.pk != first_shadow.pk
    assert main.config["warm_start"]["from_version"] != first_shadow.pk
    assert newest_shadow.config["warm_start"]["from_version"] == first_shadow.pk
    assert newest_shadow.config["training"]["max_epochs"] == main.config["training"]["max_epochs"]


class ForwardCounter:
    """Counts the images that go through a model's forward (a hook on the real model)."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.images = 0
        self.handle = model.register_forward_pre_hook(self._count)

    def _count(self, _module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        self.images += int(args[0].shape[0])


@pytest.mark.parametrize(
    ("strategy", "passes"),
    [("seg_entropy", 1), ("seg_budget_aware", 1), ("seg_diversity", 1), ("seg_disagreement", 2)],
)
def test_scoring_forwards_each_pool_image_once_unless_the_strategy_needs_samples(
    strategy: str, passes: int
) -> None:
    images = np.random.default_rng(0).random((37, 1, 32, 32), dtype=np.float32)
    model = build_segmenter(spec_for(images, 1), seed=0)
    counter = ForwardCounter(model)
    scores, predictions = score_pool_with_predictions(
        model, images, strategy, labeled_counts=np.array([40]), batch_size=5
    )
    assert scores.shape == (37,) and predictions is not None
    assert counter.images == passes * 37


def test_the_scoring_job_forwards_each_pool_image_once_for_suggestions_and_scores(seg) -> None:  # type: ignore[no-untyped-def]
    seg.strategy = "seg_budget_aware"
    seg.save(update_fields=["strategy"])
    version = train(seg, max_epochs=2).model_version
    pool = Item.objects.filter(project=seg, completed=False).count()
    counter = ForwardCounter(loaded_segmenter(version).model)  # the model the job scores with

    outcome = score_with_version(version.pk)

    assert outcome is not None and outcome.scored == pool > 0
    assert counter.images == pool


BN_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def test_a_second_detection_run_fine_tunes_the_active_detector(make_user) -> None:  # type: ignore[no-untyped-def]
    from tests.learning.det_factories import make_det_project

    project, _ = make_det_project(make_user("admin"), n_items=40, n_labelled=34, negatives=4)
    quick = {"max_epochs": 2, "min_samples_per_epoch": 32, "batch_size": 8}
    first = train(project, **quick).model_version
    assert first.config["warm_start"]["from_version"] is None
    # Learning rate 0 from the active weights: every learnt weight of the new detector is the
    # active one's (a fresh RetinaNet's is not). Batch-norm running statistics still move in
    # training mode, so the FROC on a small test split is not compared: one lesion flips it.
    frozen = train(project, **quick, learning_rate=0.0, warm_epochs=1).model_version
    assert frozen.config["warm_start"]["from_version"] == first.pk
    assert frozen.config["training"]["max_epochs"] == 1
    assert frozen.metrics["promotion"]["metric"] == "froc_mean"
    before = load_checkpoint(first.checkpoint_path, first.checkpoint_sha256)["state_dict"]
    after = load_checkpoint(frozen.checkpoint_path, frozen.checkpoint_sha256)["state_dict"]
    learnt = [k for k in before if not k.endswith(BN_STATISTICS)]
    assert learnt and set(before) == set(after)
    # Equal up to float rounding (the run's weight averaging of identical weights).
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in learnt)
    fresh = train(project, **quick, warm_start=False).model_version
    cold = load_checkpoint(fresh.checkpoint_path, fresh.checkpoint_sha256)["state_dict"]
    assert not all(torch.allclose(before[k], cold[k], atol=1e-6) for k in learnt)
