"""Augmentation that moves image and mask together: MONAI dictionary transforms.

Geometry (flip, rotation, scale, translation) resamples the image bilinearly and the mask with
nearest neighbour in one affine step, so a lesion outline stays on its lesion; a zoom-in with a
shift is a random crop resized back to the input size. Intensity changes touch the image only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from monai.data import get_track_meta, set_track_meta
from monai.transforms import (
    Compose,
    RandAdjustContrastd,
    RandAffined,
    RandFlipd,
    RandScaleIntensityd,
    RandShiftIntensityd,
)


@dataclass(frozen=True)
class SegAugmentConfig:
    flip_prob: float = 0.5  # left-right (ultrasound and most 2D views are not handed)
    affine_prob: float = 0.8
    rotate_degrees: float = 15.0
    scale: float = 0.15  # zoom factor drawn from [1 - scale, 1 + scale]: zoom-in = random crop
    translate: float = 0.08  # share of the side
    intensity_prob: float = 0.5
    intensity_scale: float = 0.15
    intensity_shift: float = 0.08
    gamma: tuple[float, float] = (0.8, 1.25)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_augment(config: SegAugmentConfig, size: int, seed: int) -> Compose:
    """A seeded MONAI pipeline over {"image": (C, H, W), "mask": (1, H, W)} tensors."""
    keys = ["image", "mask"]
    shift = config.translate * size
    pipeline = Compose(
        [
            RandFlipd(keys=keys, prob=config.flip_prob, spatial_axis=1),
            RandAffined(
                keys=keys,
                prob=config.affine_prob,
                rotate_range=math.radians(config.rotate_degrees),
                scale_range=(config.scale, config.scale),
                translate_range=(shift, shift),
                mode=("bilinear", "nearest"),
                padding_mode="zeros",
            ),
            RandScaleIntensityd(
                keys="image", factors=config.intensity_scale, prob=config.intensity_prob
            ),
            RandShiftIntensityd(
                keys="image", offsets=config.intensity_shift, prob=config.intensity_prob
            ),
            RandAdjustContrastd(keys="image", gamma=config.gamma, prob=config.intensity_prob),
        ]
    )
    pipeline.set_random_state(seed=seed % (2**32))
    return pipeline


def augment_pairs(
    pipeline: Compose, images: torch.Tensor, masks: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply `pipeline` to each (image, mask) pair of a batch: (B, C, H, W) and (B, 1, H, W).

    MONAI's metadata tracking is off meanwhile: the pairs need no affine history, and wrapping
    every intermediate in a MetaTensor more than doubled the augmentation's time (measured 30 ->
    13 ms per 16-image batch at 64 px); plain tensors also keep the network's forward free of
    MetaTensor dispatch. The same random draws are made either way."""
    tracking = get_track_meta()
    set_track_meta(False)
    try:
        out_x, out_y = [], []
        for image, mask in zip(images, masks, strict=True):
            sample = pipeline({"image": image, "mask": mask.float()})
            x = torch.as_tensor(sample["image"]).float()
            if x.min() < 0 or x.max() > 1:  # gamma on values outside [0, 1] is not defined
                x = x.clamp(0.0, 1.0)
            out_x.append(x)
            out_y.append(torch.as_tensor(sample["mask"]).round().long())
    finally:
        set_track_meta(tracking)
    return torch.stack(out_x), torch.stack(out_y)


def as_mask_batch(labels: np.ndarray) -> torch.Tensor:
    """(N, H, W) integer label maps -> (N, 1, H, W) int64 tensor."""
    return torch.from_numpy(np.asarray(labels, dtype=np.int64)[:, None])
