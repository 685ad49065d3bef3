"""Anchors fitted to the training boxes (decision 0362): the quantile rules on hand-made box sets
(one large wide lesion per image, many small objects, none at all, broken boxes), the spec's
round trip and the detector they build, old checkpoints' specs rebuilding the old squares; the
early-stopping score that counts placement at IoU 0.5."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ml_worker.detection.anchors import (
    DEFAULT_ASPECTS,
    DEFAULT_SIDES,
    MIN_SIDE,
    anchor_aspects,
    anchor_shapes,
    anchor_sides,
)
from ml_worker.detection.boxes import BoxTarget
from ml_worker.detection.network import DetSpec, build_detector
from ml_worker.detection.pipeline import spec_for


def wide_lesions(n: int = 200) -> list[np.ndarray]:
    """One box per image, sides 12..80 px (sqrt of the area), height/width 0.4 .. 0.9."""
    rng = np.random.default_rng(0)
    out = []
    for side, aspect in zip(np.geomspace(12, 80, n), rng.uniform(0.4, 0.9, n), strict=True):
        h, w = side * math.sqrt(aspect), side / math.sqrt(aspect)
        out.append(np.array([[10, 10, 10 + w, 10 + h]], np.float32))
    return out


def test_sides_cover_the_box_sizes_across_the_pyramid() -> None:
    sides = anchor_sides(wide_lesions(), levels=3, n_sides=3)
    assert len(sides) == 3 and list(sides) == sorted(sides)
    # The 2nd percentile of 12..80 (geometric) is ~12.5: the smallest anchor starts there ...
    assert 12 <= sides[0] <= 14
    # ... and the largest anchor of the coarsest level (x4) reaches the 98th percentile (~77),
    # the finest sides spaced at least 2^(2/3) apart in total.
    assert sides[-1] * 4 >= 74
    assert sides[-1] / sides[0] >= 2 ** (2 / 3) - 0.05


def test_small_objects_get_small_anchors_never_below_the_floor() -> None:
    rng = np.random.default_rng(1)
    small = [
        np.column_stack([xy := rng.uniform(0, 50, (8, 2)), xy + rng.uniform(2, 7, (8, 2))])
        for _ in range(30)
    ] + [np.zeros((0, 4), np.float32)] * 10  # images without objects add nothing
    sides = anchor_sides(small)
    assert sides[0] == MIN_SIDE and all(s >= MIN_SIDE for s in sides)
    assert sides[-1] <= 8  # a two-thirds octave above the floor, not the square default 24


def test_aspects_follow_wide_boxes_and_merge_for_square_ones() -> None:
    aspects = anchor_aspects(wide_lesions())
    assert len(aspects) == 3 and all(0.4 <= a <= 0.9 for a in aspects)
    squares = [np.array([[0, 0, s, s]], np.float32) for s in range(10, 60)]
    assert anchor_aspects(squares) == (1.0,)


def test_no_usable_box_keeps_the_fixed_squares() -> None:
    broken = np.array([[5, 5, 5, 9], [0, 0, np.nan, 4], [9, 9, 3, 3]], np.float32)
    assert anchor_sides([]) == DEFAULT_SIDES and anchor_aspects([]) == DEFAULT_ASPECTS
    assert anchor_sides(broken) == DEFAULT_SIDES and anchor_aspects(broken) == DEFAULT_ASPECTS


def test_shapes_keep_the_area_of_each_side() -> None:
    shapes = anchor_shapes((16,), (0.25, 1.0, 4.0))
    assert shapes == [(8, 32), (16, 16), (32, 8)]  # (height, width)


def test_the_fitted_spec_builds_a_detector_and_round_trips() -> None:
    boxes = [BoxTarget(b, np.zeros(len(b), np.int64)) for b in wide_lesions()]
    images = np.random.default_rng(2).random((4, 1, 64, 64), dtype=np.float32)
    spec = spec_for(images, 1, boxes)
    assert spec.base_anchor_sides == anchor_sides([b.boxes for b in boxes])
    assert spec.anchor_aspects == anchor_aspects([b.boxes for b in boxes])
    assert DetSpec.from_dict(spec.to_dict()) == spec
    model = build_detector(spec, seed=0)
    assert model.num_anchors_per_loc == len(spec.base_anchor_sides) * len(spec.anchor_aspects)
    # An older checkpoint's spec (no aspects stored) rebuilds decision 0360's squares.
    old = {k: v for k, v in spec.to_dict().items() if k not in ("anchor_aspects", "box_loss")}
    assert DetSpec.from_dict({**old, "base_anchor_sides": [10, 16, 24]}).anchor_aspects == (1.0,)


@pytest.mark.parametrize("box_loss", ["smooth_l1", "giou"])
def test_both_box_losses_train_on_a_lesion_and_a_negative(box_loss: str) -> None:
    torch.set_num_threads(1)
    spec = DetSpec(input_size=64, anchor_aspects=(0.6, 1.0), box_loss=box_loss)
    model = build_detector(spec, seed=0).train()
    targets = [
        {"boxes": torch.tensor([[10.0, 12.0, 30.0, 44.0]]), "labels": torch.tensor([0])},
        {"boxes": torch.zeros((0, 4)), "labels": torch.zeros(0, dtype=torch.long)},
    ]
    losses = model(torch.rand(2, 1, 64, 64), targets)
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    with pytest.raises(ValueError):
        DetSpec(box_loss="l2")


def test_early_stopping_score_counts_placement_at_iou_one_half(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A box found but placed at IoU 0.4 scores 1 at IoU 0.3 and 0 at IoU 0.5: the validation
    score is their mean (decision 0362), so better placement still raises a saturated score."""
    from ml_worker.detection import training
    from ml_worker.detection.inference import Detections

    truth = BoxTarget(np.array([[0, 0, 10, 10]], np.float32), np.zeros(1, np.int64))
    found = BoxTarget(np.array([[0, 0, 10, 4]], np.float32), np.zeros(1, np.int64))  # IoU 0.4
    monkeypatch.setattr(
        training, "predict_boxes", lambda *a, **k: Detections([found], [np.array([0.9])])
    )
    score = training.validation_froc(None, np.zeros((1, 1, 32, 32), np.float32), [truth], "cpu")  # type: ignore[arg-type]
    assert score == pytest.approx(0.5)
