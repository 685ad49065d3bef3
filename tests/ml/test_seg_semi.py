"""Semi-supervised U-Net training (ml_worker.segmentation.semi, decision 0427): the strong view
changes intensities only, CutMix moves targets with their pixels, only confident pixels count,
and a run with unlabelled images reports what it drew."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ml_worker.segmentation.network import build_segmenter
from ml_worker.segmentation.pipeline import spec_for
from ml_worker.segmentation.semi import (
    SegSemiConfig,
    cutmix_boxes,
    masked_dice_ce,
    semi_step_loss,
    strong_view,
)
from ml_worker.segmentation.training import SegTrainConfig, train_segmenter
from tests.ml.seg_synthetic import synthetic_split


def test_the_strong_view_keeps_every_pixel_in_place() -> None:
    gen = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0.3, 0.7, 16 * 16).reshape(1, 1, 16, 16).repeat(4, 1, 1, 1)
    semi = SegSemiConfig(strong_noise=0.0, strong_scale=0.2, strong_shift=0.05)
    strong = strong_view(ramp, semi, gen)
    assert strong.shape == ramp.shape and 0.0 <= float(strong.min()) <= float(strong.max()) <= 1.0
    assert not torch.allclose(strong, ramp)
    for image in strong:  # a monotone map of each image's intensities: no pixel moved
        assert torch.equal(torch.argsort(image.flatten()), torch.argsort(ramp[0].flatten()))


def test_cutmix_boxes_are_drawn_within_the_image() -> None:
    gen = torch.Generator().manual_seed(1)
    boxes = cutmix_boxes(200, 20, 30, SegSemiConfig(cutmix_prob=0.5, cutmix_size=0.5), gen)
    mixed = boxes.flatten(1).any(1)
    assert 70 <= int(mixed.sum()) <= 130
    rows, cols = boxes.any(2).sum(1), boxes.any(1).sum(1)
    assert int(rows.max()) <= 10 and int(cols.max()) <= 15
    assert (boxes.flatten(1).sum(1) == rows * cols).all()  # one rectangle each
    none = cutmix_boxes(10, 8, 8, SegSemiConfig(cutmix_prob=0.0), gen)
    assert not none.any()


class Sure(nn.Module):
    """Logits that say "class 1" where the image is bright, "class 0" elsewhere, with a given
    margin; batch-independent, so evaluation and training mode agree."""

    def __init__(self, margin: float) -> None:
        super().__init__()
        self.margin = margin
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bright = (x[:, :1] > 0.5).float() * 2 - 1
        return torch.cat([-bright, bright], 1) * self.margin * self.scale


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(2)
    xb = torch.rand(4, 1, 8, 8, generator=gen)
    yb = (xb > 0.5).long()
    weak = torch.rand(6, 1, 8, 8, generator=gen)
    return xb, yb, weak


def test_only_confident_pixels_teach() -> None:
    xb, yb, weak = _batch()

    def supervised(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits, masks[:, 0])

    semi = SegSemiConfig(threshold=0.9, strong_noise=0.0, cutmix_prob=0.0)
    unsure = Sure(margin=0.1)  # softmax of +-0.1: 0.55 at best, under the threshold
    gen = torch.Generator().manual_seed(3)
    loss, accepted, drawn = semi_step_loss(unsure, supervised, xb, yb, weak, semi, gen)
    assert accepted == 0 and drawn == weak.numel()
    assert float(loss.detach()) == pytest.approx(float(supervised(unsure(xb), yb)), rel=1e-6)
    sure = Sure(margin=5.0)
    loss, accepted, drawn = semi_step_loss(sure, supervised, xb, yb, weak, semi, gen)
    assert accepted == drawn


def test_the_unlabelled_term_weighs_lesion_pixels_by_dice() -> None:
    target = torch.zeros(2, 8, 8, dtype=torch.long)
    target[:, 2:4, 2:4] = 1  # 8 lesion pixels among 128
    missed = torch.zeros(2, 2, 8, 8)
    missed[:, 0] = 4.0  # everywhere background, confidently
    everywhere = torch.ones(2, 8, 8)
    nowhere = torch.zeros(2, 8, 8)
    assert float(masked_dice_ce(missed, target, nowhere)) == pytest.approx(0.0, abs=1e-4)
    # Missing the lesion costs the whole Dice term, not 8/128 of a cross-entropy.
    assert float(masked_dice_ce(missed, target, everywhere)) > 1.0


def test_a_run_with_unlabelled_images_reports_what_it_drew() -> None:
    split = synthetic_split(40, 32, 1, 5, max_objects=2)
    images = split["images"][:, None].astype(np.float32) / 255
    masks = split["masks"].astype(np.int64)
    spec = spec_for(images[:8], 1, channels=(8, 16, 32), num_res_units=0)
    config = SegTrainConfig(
        max_epochs=2,
        batch_size=4,
        min_samples_per_epoch=8,
        num_threads=1,
        semi=SegSemiConfig(threshold=0.6, min_steps=10),
    )
    result = train_segmenter(
        build_segmenter(spec, seed=0), images[:8], masks[:8], config=config,
        unlabeled_images=images[8:],
    )  # fmt: skip
    assert result.unlabeled_count == 32
    assert result.unlabeled_accepted is not None and 0.0 < result.unlabeled_accepted <= 1.0
    # min_steps: 10 steps over 2 epochs of 4 images = 20 samples per epoch at least.
    assert sum(1 for _ in result.history) == 2
    plain = train_segmenter(build_segmenter(spec, seed=0), images[:8], masks[:8], config=config)
    assert plain.unlabeled_count == 0 and plain.unlabeled_accepted is None
    with pytest.raises(ValueError, match="must match"):
        train_segmenter(
            build_segmenter(spec, seed=0), images[:8], masks[:8], config=config,
            unlabeled_images=np.zeros((4, 1, 16, 16), np.float32),
        )  # fmt: skip
