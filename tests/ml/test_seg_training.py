"""U-Net training on masks, evaluation metrics, inference and the task registry seam."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml_worker.segmentation.inference import predict_segmentation
from ml_worker.segmentation.metrics import (
    correction_effort,
    dice_per_image,
    fit_pixel_temperature,
    hd95_per_image,
    iou_per_image,
    lesion_counts,
    pixel_ece,
    segmentation_report,
    softmax_pixels,
)
from ml_worker.segmentation.network import SegSpec, build_segmenter
from ml_worker.segmentation.pipeline import score_pool, spec_for, suggestion_payloads
from ml_worker.segmentation.rasterize import Shape, label_map
from ml_worker.segmentation.training import SegTrainConfig, train_segmenter
from ml_worker.task_types import task_names, task_type
from ml_worker.training import TrainingCancelled
from tests.ml.seg_synthetic import synthetic_split


def arrays(n: int, seed: int, classes: int = 1, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    split = synthetic_split(n, size, classes, seed, max_objects=2)
    return split["images"][:, None].astype(np.float32) / 255, split["masks"].astype(np.int64)


TINY = dict(channels=(8, 16, 32), num_res_units=0)


def tiny_config(**overrides: object) -> SegTrainConfig:
    values: dict = dict(
        max_epochs=8, batch_size=8, min_samples_per_epoch=64, num_threads=1, learning_rate=1e-2
    )
    values.update(overrides)
    return SegTrainConfig(**values)


def test_training_learns_masks_and_the_suggestion_is_stored_geometry() -> None:
    train_x, train_y = arrays(64, 1)
    val_x, val_y = arrays(16, 2)
    test_x, test_y = arrays(24, 3)
    assert (train_y.reshape(64, -1).max(1) == 0).any()  # negatives stay in the training set
    spec = spec_for(train_x, 1, **TINY)
    reports = []
    result = train_segmenter(
        build_segmenter(spec, seed=0),
        train_x,
        train_y,
        val_x,
        val_y,
        tiny_config(),
        on_epoch=reports.append,
    )
    assert [r.epoch for r in reports] == list(range(1, len(reports) + 1))
    assert all(r.val_dice is not None for r in reports) and result.best_epoch >= 4
    temperature, report = task_type("segmentation").evaluate(
        result.model, val_x, val_y, test_x, test_y, ["lesion"]
    )
    assert report["dice"] > 0.85, report["dice"]
    assert 0 < temperature < 20 and report["pixel_ece"] <= report["pixel_ece_before"] + 0.01
    predictions = predict_segmentation(result.model, test_x[:4], flip_tta=True, mc_passes=2)
    assert predictions.samples is not None and predictions.samples.shape[:2] == (4, 4)
    # The suggestion is stored as mask payloads that rasterize back to the predicted map.
    for labels in predictions.masks:
        payloads = suggestion_payloads(labels, ["lesion"])
        shapes = [Shape("mask", p) for p in payloads]
        assert np.array_equal(label_map(shapes, 32, 32, ["lesion"]), labels)


def test_same_seed_same_model_and_cancellation() -> None:
    train_x, train_y = arrays(24, 4)
    spec = spec_for(train_x, 1, **TINY)
    config = tiny_config(max_epochs=2, augment=None)
    a = train_segmenter(build_segmenter(spec, seed=3), train_x, train_y, config=config)
    b = train_segmenter(build_segmenter(spec, seed=3), train_x, train_y, config=config)
    for (name, pa), pb in zip(
        a.model.state_dict().items(), b.model.state_dict().values(), strict=True
    ):
        assert torch.equal(pa, pb), name
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(TrainingCancelled):
        train_segmenter(
            build_segmenter(spec, seed=0),
            train_x,
            train_y,
            config=tiny_config(stop_check_every=1),
            should_stop=stop,
        )


def test_several_classes_and_bad_input() -> None:
    train_x, train_y = arrays(16, 5, classes=3)
    spec = spec_for(train_x, 3, **TINY)
    result = train_segmenter(
        build_segmenter(spec, seed=0), train_x, train_y, config=tiny_config(max_epochs=1)
    )
    assert result.model(torch.from_numpy(train_x[:2])).shape == (2, 4, 32, 32)
    with pytest.raises(ValueError, match="the model has 1"):
        train_segmenter(build_segmenter(spec_for(train_x, 1, **TINY)), train_x, train_y)
    with pytest.raises(ValueError, match="same height and width"):
        train_segmenter(build_segmenter(spec), train_x, train_y[:, :16, :16])
    with pytest.raises(ValueError, match="divisible"):
        SegSpec(input_size=36, channels=(8, 16, 32, 64))
    assert SegSpec.from_dict(spec.to_dict()) == spec


def test_metrics_on_hand_made_masks() -> None:
    truth = np.zeros((3, 20, 20), dtype=bool)
    pred = np.zeros_like(truth)
    truth[0, 2:12, 2:12] = True  # 100 px
    pred[0, 2:12, 7:17] = True  # 100 px, overlap 50
    truth[1, 5:8, 5:8] = True
    truth[1, 14:17, 14:17] = True  # two lesions, one found
    pred[1, 5:8, 5:8] = True
    pred[1, 0:2, 18:20] = True  # a false positive component
    # image 2: both empty
    assert dice_per_image(truth, pred).tolist() == pytest.approx([0.5, 2 * 9 / (18 + 13), 1.0])
    assert iou_per_image(truth, pred)[0] == pytest.approx(50 / 150)
    assert lesion_counts(truth, pred, 0.1) == (2, 3, 2, 3)
    hd = hd95_per_image(truth, pred)
    assert hd[0] == pytest.approx(5.0, abs=1.01) and np.isnan(hd[2])
    assert correction_effort(truth, pred)[0] == pytest.approx(1.0)  # 50 to add + 50 to erase
    assert correction_effort(truth, truth).tolist() == [0.0, 0.0, 0.0]
    # Calibration: a map that says 0.9 where it is right 90 % of the time has ECE ~ 0.
    rng = np.random.default_rng(0)
    labels = (rng.random((4, 1, 50, 50)) < 0.1).astype(np.int64)[:, 0]
    probs = np.stack([np.full((4, 50, 50), 0.9), np.full((4, 50, 50), 0.1)], axis=1)
    assert pixel_ece(probs, labels) < 0.02
    assert (
        pixel_ece(np.stack([np.full((4, 50, 50), 0.99), np.full((4, 50, 50), 0.01)], 1), labels)
        > 0.07
    )
    logits = np.log(probs) * 4  # over-confident logits: the fitted temperature undoes the 4x
    assert fit_pixel_temperature(logits, labels) == pytest.approx(4.0, rel=0.05)
    report = segmentation_report(labels, softmax_pixels(logits, 4.0), ["lesion"])
    assert set(report["per_class"]["lesion"]) >= {"dice", "iou", "hd95", "lesion_sensitivity"}


def test_registry_seam_and_pool_scoring() -> None:
    assert task_names() == ["classification", "detection", "segmentation"]
    seg = task_type("segmentation")
    assert seg.promotion_metric == "dice" and seg.suggestion_kind == "mask"
    assert task_type("classification").promotion_metric == "auc"
    assert (
        task_type("classification").targets(
            [Shape("class", {"labels": ["b"]})], ["a", "b"], 8, 8, 1
        )
        == 1
    )
    with pytest.raises(ValueError, match="no learning loop"):
        task_type("keypoints")
    train_x, _ = arrays(16, 6)
    model = seg.build_network(spec_for(train_x, 1, **TINY).to_dict(), 0)
    for name in seg.strategies:
        scores = score_pool(
            model, train_x, name, labeled_counts=np.array([40]), batch_size=4, seed=1
        )
        assert scores.shape == (16,) and np.isfinite(scores).all(), name
    cold = score_pool(None, train_x, "cold_start", batch_size=4)
    assert cold.shape == (16,)


def test_checkpoint_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ml_worker.checkpoint import save_model
    from ml_worker.models import ModelSpec, build_model
    from ml_worker.segmentation.checkpoint import load_segmenter, save_segmenter

    x, _ = arrays(4, 7)
    model = build_segmenter(spec_for(x, 2, **TINY), seed=1).eval()
    sha = save_segmenter(tmp_path / "m.pt", model, temperature=1.7, class_names=["a", "b"])
    saved = load_segmenter(tmp_path / "m.pt", sha)
    assert saved.spec == model.spec and saved.temperature == 1.7 and saved.class_names == ["a", "b"]
    with torch.no_grad():
        assert torch.equal(saved.model(torch.from_numpy(x)), model(torch.from_numpy(x)))
    save_model(tmp_path / "c.pt", build_model(ModelSpec(num_classes=2)))
    with pytest.raises(ValueError, match="not a segmentation checkpoint"):
        load_segmenter(tmp_path / "c.pt")
