"""Batch augmentation of [0, 1] image tensors: rotation, flips, scaling, crop, gamma/contrast.

All geometric transforms are folded into one affine grid per batch, so a batch of 64 images costs a
single `grid_sample` instead of a chain of per-image numpy/scipy calls (MONAI's per-image
transforms cost more than a small CNN's training step on 2 cores; see stack notes §7).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of each random transform; a zero/one range switches that transform off.

    Flips are off by default: chest films have a left and a right (the heart), and a horizontal
    flip can create an anatomically impossible image. Projects where flips are harmless enable them.
    """

    rotation_deg: float = 10.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    crop_shift: float = 0.08  # random crop as a translation, fraction of the image side
    flip_horizontal: bool = False
    flip_vertical: bool = False
    gamma_range: tuple[float, float] = (0.8, 1.25)
    contrast_range: tuple[float, float] = (0.85, 1.15)


def _uniform(
    n: int, lo: float, hi: float, gen: torch.Generator, device: torch.device
) -> torch.Tensor:
    return torch.rand(n, generator=gen, device="cpu").to(device) * (hi - lo) + lo


def augment_batch(
    images: torch.Tensor, config: AugmentConfig, gen: torch.Generator
) -> torch.Tensor:
    """Return randomly transformed copies of `images` (N, C, H, W) with values in [0, 1].

    The random draws come from `gen` (a CPU generator), so a seed reproduces the same batch on
    CPU and GPU.
    """
    if images.ndim != 4:
        raise ValueError(f"expected (N, C, H, W), got {tuple(images.shape)}")
    n, device = images.shape[0], images.device
    angle = _uniform(n, -config.rotation_deg, config.rotation_deg, gen, device) * (math.pi / 180)
    scale = _uniform(n, config.scale_range[0], config.scale_range[1], gen, device)
    shift = _uniform(2 * n, -config.crop_shift, config.crop_shift, gen, device).view(n, 2) * 2
    flip_x = torch.ones(n, device=device)
    flip_y = torch.ones(n, device=device)
    if config.flip_horizontal:
        flip_x = torch.where(torch.rand(n, generator=gen).to(device) < 0.5, -1.0, 1.0)
    if config.flip_vertical:
        flip_y = torch.where(torch.rand(n, generator=gen).to(device) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(n, 2, 3, device=device, dtype=images.dtype)
    theta[:, 0, 0] = cos * flip_x
    theta[:, 0, 1] = -sin * flip_y
    theta[:, 1, 0] = sin * flip_x
    theta[:, 1, 1] = cos * flip_y
    theta[:, :, 2] = shift.to(images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    gamma = _uniform(n, config.gamma_range[0], config.gamma_range[1], gen, device).view(n, 1, 1, 1)
    out = out.clamp(0.0, 1.0).pow(gamma.to(out.dtype))
    contrast = _uniform(n, config.contrast_range[0], config.contrast_range[1], gen, device)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * contrast.view(n, 1, 1, 1).to(out.dtype) + mean
    return out.clamp(0.0, 1.0)


# The "strong" view of semi-supervised consistency training (FixMatch's RandAugment + Cutout,
# reduced to what suits a grey film: no flips, no colour): wider affine ranges, harsher
# gamma/contrast, additive noise and one erased square per image.
STRONG_AUGMENT = AugmentConfig(
    rotation_deg=20.0,
    scale_range=(0.8, 1.2),
    crop_shift=0.15,
    gamma_range=(0.6, 1.6),
    contrast_range=(0.6, 1.4),
)


def strong_augment_batch(
    images: torch.Tensor, gen: torch.Generator, base: AugmentConfig | None = None
) -> torch.Tensor:
    """A strongly perturbed copy of `images`: `base` widened to at least STRONG_AUGMENT's ranges
    (a project's flips are kept), Gaussian noise (sd up to 0.05) and a cutout of a random square
    of up to half the side, filled with the image mean."""
    config = STRONG_AUGMENT
    if base is not None:
        config = AugmentConfig(
            rotation_deg=max(base.rotation_deg, STRONG_AUGMENT.rotation_deg),
            scale_range=(
                min(base.scale_range[0], STRONG_AUGMENT.scale_range[0]),
                max(base.scale_range[1], STRONG_AUGMENT.scale_range[1]),
            ),
            crop_shift=max(base.crop_shift, STRONG_AUGMENT.crop_shift),
            flip_horizontal=base.flip_horizontal,
            flip_vertical=base.flip_vertical,
            gamma_range=(
                min(base.gamma_range[0], STRONG_AUGMENT.gamma_range[0]),
                max(base.gamma_range[1], STRONG_AUGMENT.gamma_range[1]),
            ),
            contrast_range=(
                min(base.contrast_range[0], STRONG_AUGMENT.contrast_range[0]),
                max(base.contrast_range[1], STRONG_AUGMENT.contrast_range[1]),
            ),
        )
    out = augment_batch(images, config, gen)
    n, _, h, w = out.shape
    device = out.device
    sigma = _uniform(n, 0.0, 0.05, gen, device).view(n, 1, 1, 1)
    noise = torch.randn(out.shape, generator=gen).to(device)
    out = out + noise * sigma.to(out.dtype)
    side = (_uniform(n, 0.0, 0.5, gen, device) * min(h, w)).long()
    top = (_uniform(n, 0.0, 1.0, gen, device) * (h - side + 1).float()).long()
    left = (_uniform(n, 0.0, 1.0, gen, device) * (w - side + 1).float()).long()
    rows = torch.arange(h, device=device).view(1, h, 1)
    cols = torch.arange(w, device=device).view(1, 1, w)
    hole = (
        (rows >= top.view(n, 1, 1))
        & (rows < (top + side).view(n, 1, 1))
        & (cols >= left.view(n, 1, 1))
        & (cols < (left + side).view(n, 1, 1))
    ).unsqueeze(1)
    mean = out.mean(dim=(1, 2, 3), keepdim=True).expand_as(out)
    out = torch.where(hole, mean, out)
    return out.clamp(0.0, 1.0)
