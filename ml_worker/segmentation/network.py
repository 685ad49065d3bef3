"""The segmentation network: a MONAI 2D U-Net behind a small spec (decision 0340).

`SegSpec` is stored with each model version, so a checkpoint can be rebuilt exactly. The module
normalises its input itself (mean/std of the training pixels), like the classifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from monai.networks.nets import BasicUNet, UNet
from torch import nn

ARCHITECTURES = ("unet", "basic_unet")


@dataclass(frozen=True)
class SegSpec:
    """num_classes counts foreground classes; the network predicts num_classes + 1 channels."""

    num_classes: int = 1
    in_channels: int = 1
    input_size: int = 128
    architecture: str = "unet"  # "unet" (MONAI UNet) or "basic_unet" (MONAI BasicUNet)
    channels: tuple[int, ...] = (16, 32, 64, 128, 256)
    num_res_units: int = 1
    dropout: float = 0.1
    # Batch norm, not MONAI's default instance norm: instance norm rescales each image's features
    # to unit variance, so the speckle of an image without any lesion is stretched until it looks
    # like one (measured: every negative test image got a false blob; decision 0340).
    norm: str = "batch"
    input_mean: float = 0.0
    input_std: float = 1.0

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}")
        if self.num_classes < 1 or self.in_channels < 1 or len(self.channels) < 2:
            raise ValueError("num_classes, in_channels >= 1 and at least two levels")
        if self.input_size % 2 ** (len(self.channels) - 1):
            raise ValueError("input_size must be divisible by 2 ** (levels - 1)")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    @property
    def out_channels(self) -> int:
        return self.num_classes + 1

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegSpec:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "channels" in values:
            values["channels"] = tuple(int(c) for c in values["channels"])
        return cls(**values)


class Segmenter(nn.Module):
    """Input normalisation + U-Net; forward gives (B, num_classes + 1, H, W) logits."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, spec: SegSpec) -> None:
        super().__init__()
        self.spec = spec
        self.register_buffer("mean", torch.tensor(float(spec.input_mean)))
        self.register_buffer("std", torch.tensor(max(float(spec.input_std), 1e-6)))
        self.net: nn.Module
        if spec.architecture == "unet":
            self.net = UNet(
                spatial_dims=2,
                in_channels=spec.in_channels,
                out_channels=spec.out_channels,
                channels=spec.channels,
                strides=(2,) * (len(spec.channels) - 1),
                num_res_units=spec.num_res_units,
                dropout=spec.dropout,
                norm=spec.norm,
            )
        else:
            if len(spec.channels) != 5:
                raise ValueError("basic_unet takes exactly 5 channel levels")
            self.net = BasicUNet(
                spatial_dims=2,
                in_channels=spec.in_channels,
                out_channels=spec.out_channels,
                features=(*spec.channels, spec.channels[0]),
                dropout=spec.dropout,
                norm=spec.norm,
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net((x - self.mean) / self.std)
        return out

    def embed(
        self, x: torch.Tensor, grid: int = 8, logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        """A (B, D) feature per image for diversity: the predicted class probabilities and the
        normalised image, each average-pooled to grid x grid. Architecture-independent (no hook
        into the U-Net's bottleneck) and it describes what diversity should spread: where the
        model sees lesions and what the image looks like there. `logits`, when the caller has
        just computed them for `x` in eval mode, spare a second forward pass."""
        if logits is None:
            logits = self.forward(x)
        probabilities = torch.softmax(logits.float(), dim=1)[:, 1:]
        image = (x - self.mean) / self.std
        pooled = [F.adaptive_avg_pool2d(t, grid).flatten(1) for t in (probabilities, image)]
        return torch.cat(pooled, dim=1)


def build_segmenter(spec: SegSpec, seed: int | None = None) -> Segmenter:
    """A freshly initialised network (seeded when `seed` is given)."""
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return Segmenter(spec)
    return Segmenter(spec)
