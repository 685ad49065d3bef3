"""Augmentation that moves an image and its boxes together: MONAI's detection dictionary
transforms (monai.apps.detection.transforms.dictionary).

Left-right flip and a zoom in or out about the centre (a zoom-in is a centre crop resized back,
keep_size) move the boxes with the image; boxes pushed out of the frame are clipped, and dropped
when nothing is left. Intensity changes touch the image only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from monai.apps.detection.transforms.dictionary import ClipBoxToImaged, RandFlipBoxd, RandZoomBoxd
from monai.transforms import (
    Compose,
    RandAdjustContrastd,
    RandScaleIntensityd,
    RandShiftIntensityd,
)


@dataclass(frozen=True)
class DetAugmentConfig:
    flip_prob: float = 0.5
    zoom_prob: float = 0.5
    min_zoom: float = 0.8
    max_zoom: float = 1.25
    intensity_prob: float = 0.5
    intensity_scale: float = 0.15
    intensity_shift: float = 0.08
    gamma: tuple[float, float] = (0.8, 1.25)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_augment(config: DetAugmentConfig, seed: int) -> Compose:
    """A seeded pipeline over {"image": (C, H, W), "boxes": (M, 4) MONAI order, "labels": (M,)}."""
    pipeline = Compose(
        [
            RandFlipBoxd(
                image_keys="image",
                box_keys="boxes",
                box_ref_image_keys="image",
                prob=config.flip_prob,
                spatial_axis=1,
            ),
            RandZoomBoxd(
                image_keys="image",
                box_keys="boxes",
                box_ref_image_keys="image",
                prob=config.zoom_prob,
                min_zoom=config.min_zoom,
                max_zoom=config.max_zoom,
                padding_mode="constant",
                keep_size=True,
            ),
            ClipBoxToImaged(
                box_keys="boxes", label_keys="labels", box_ref_image_keys="image", remove_empty=True
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


def augment_sample(
    pipeline: Compose, image: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One (C, H, W) image with its (M, 4) boxes (MONAI order) and (M,) labels, augmented."""
    sample = pipeline({"image": image, "boxes": boxes.float(), "labels": labels})
    x = torch.as_tensor(sample["image"]).float()
    if x.min() < 0 or x.max() > 1:  # gamma on values outside [0, 1] is not defined
        x = x.clamp(0.0, 1.0)
    out_boxes = torch.as_tensor(sample["boxes"]).float().reshape(-1, 4)
    out_labels = torch.as_tensor(sample["labels"]).long().reshape(-1)
    return x, out_boxes, out_labels
