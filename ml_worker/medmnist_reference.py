"""MedMNIST v2's ResNet-18 (28) training protocol, reproduced as a same-source reference arm.

A published MedMNIST figure only exists for MedMNIST's own files; on any other MedMNIST-format
file (BUS-BRA's, decision 0384) the fair yardstick for the product's default recipe is the paper's
protocol trained on *the same file's splits*. This module is that protocol, as Yang et al.
(Scientific Data 10:41, 2023) describe it and as their `experiments/MedMNIST2D` code runs it for
ResNet-18 at 28 px (decision 0386):

- the CIFAR-style ResNet-18 ("adapted from kuangliu/pytorch-cifar"): 3x3 stride-1 first
  convolution, no max-pool, four stages of two basic blocks (64-128-256-512), bias-free 1x1
  projection shortcuts, global average pool, linear head; built here from MONAI's ResNet, the one
  `ml_worker.models` already uses, with those options;
- inputs normalised as `transforms.Normalize(mean=.5, std=.5)` on [0, 1] images, no augmentation;
- Adam (lr 1e-3, no weight decay), batch 128 shuffled, plain cross-entropy (no class weights),
  learning rate x0.1 at 50 % and 75 % of the epochs (MultiStepLR, epochs 50 and 75 of 100);
- validation AUC after every epoch, the epoch with the best one selected.

One deliberate difference: the published script keeps `best_model = model` (a reference, not a
copy), so the weights it saves and tests are in fact the last epoch's. `train_reference` keeps a
real copy of the best epoch (what the paper says) *and* returns the last epoch's weights, so a
bench can report both. Never imports Django; the product's own training is `ml_worker.training`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from monai.networks.nets.resnet import ResNet, resnet18
from torch import nn

from ml_worker.evaluation import roc_auc
from ml_worker.training import select_device


@dataclass(frozen=True)
class ReferenceProtocol:
    """MedMNIST v2's 2D training settings; `epochs` may be shortened (milestones scale with it)."""

    epochs: int = 100
    batch_size: int = 128
    learning_rate: float = 1e-3
    milestones: tuple[float, float] = (0.5, 0.75)  # shares of `epochs` where lr is multiplied
    gamma: float = 0.1
    seed: int = 0
    num_threads: int = 1
    device: str | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")

    def milestone_epochs(self) -> list[int]:
        """Epoch counts after which the learning rate drops. The published script passes
        `0.5 * num_epochs` as floats to MultiStepLR, which only fire when they equal an integer
        epoch; rounding keeps a shortened schedule's drops (100 epochs: 50 and 75, as published)."""
        return sorted({max(1, round(share * self.epochs)) for share in self.milestones})


def build_reference_resnet18(in_channels: int, num_classes: int, seed: int | None = None) -> ResNet:
    """MedMNIST's ResNet-18 for 28 px inputs: 28 -> 28 -> 14 -> 7 -> 4 px through the stages.

    MONAI's ResNet with a 3x3 stride-1 stem, `no_max_pool`, bias-free shortcut projections and its
    own linear head (`num_classes` outputs) is the kuangliu/MedMNIST network layer for layer;
    initialisation is MONAI's (Kaiming-normal convolutions), not PyTorch's default uniform one.
    """

    def build() -> ResNet:
        return resnet18(
            spatial_dims=2,
            n_input_channels=in_channels,
            conv1_t_size=3,
            conv1_t_stride=1,
            no_max_pool=True,
            bias_downsample=False,
            num_classes=num_classes,
        )

    if seed is None:
        return build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def medmnist_normalise(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] images to [-1, 1], as the published `Normalize(mean=[.5], std=[.5])`."""
    return (images - 0.5) / 0.5


@dataclass
class ReferenceResult:
    model: nn.Module  # the best-validation-AUC epoch's weights, eval mode
    last_model: nn.Module  # the last epoch's weights (what the published script actually tests)
    best_epoch: int
    best_val_auc: float
    val_aucs: list[float]
    seconds: float


@torch.no_grad()
def reference_probs(
    model: nn.Module, images: np.ndarray, batch_size: int = 512, device: str | None = None
) -> np.ndarray:
    """Softmax probabilities (N, K) for [0, 1] images (N, C, H, W), the model in eval mode."""
    dev = select_device(device)
    model.eval().to(dev)
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    out = [
        torch.softmax(model(medmnist_normalise(x[i : i + batch_size]).to(dev)).float(), 1).cpu()
        for i in range(0, len(x), batch_size)
    ]
    return torch.cat(out).numpy()


def train_reference(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    protocol: ReferenceProtocol | None = None,
    *,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> ReferenceResult:
    """Train the reference ResNet-18 on [0, 1] images (N, C, H, W) and integer labels.

    `on_epoch(epoch, val_auc, seconds)` after each epoch (a bench prints progress with it).
    """
    p = protocol or ReferenceProtocol()
    if train_images.ndim != 4 or len(train_images) != len(train_labels):
        raise ValueError("train_images must be (N, C, H, W) with one label per image")
    started = time.monotonic()
    device = select_device(p.device)
    if device.type == "cpu" and p.num_threads > 0:
        torch.set_num_threads(p.num_threads)
    num_classes = int(max(train_labels.max(), val_labels.max()) + 1)
    model = build_reference_resnet18(train_images.shape[1], max(num_classes, 2), seed=p.seed)
    model.to(device)
    gen = torch.Generator().manual_seed(p.seed)
    x = torch.from_numpy(np.ascontiguousarray(train_images, dtype=np.float32))
    y = torch.from_numpy(train_labels.astype(np.int64))
    optimizer = torch.optim.Adam(model.parameters(), lr=p.learning_rate)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=p.milestone_epochs(), gamma=p.gamma
    )
    best_auc, best_epoch, best_state = -math.inf, 0, None
    val_aucs: list[float] = []
    for epoch in range(1, p.epochs + 1):
        epoch_start = time.monotonic()
        model.train()
        order = torch.randperm(len(x), generator=gen)
        # DataLoader(shuffle=True) without drop_last: the last, smaller batch is trained too.
        for start in range(0, len(x), p.batch_size):
            index = order[start : start + p.batch_size]
            xb = medmnist_normalise(x[index]).to(device)
            loss = F.cross_entropy(model(xb), y[index].to(device))
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
        scheduler.step()
        auc = roc_auc(reference_probs(model, val_images, device=p.device), val_labels)
        val_aucs.append(auc)
        # Strictly greater, as published: the first epoch of a tie is kept.
        if auc > best_auc:
            best_auc, best_epoch = auc, epoch
            best_state = copy.deepcopy(model.state_dict())
        if on_epoch is not None:
            on_epoch(epoch, auc, time.monotonic() - epoch_start)
    last_model = model
    best_model = copy.deepcopy(model)
    if best_state is not None:
        best_model.load_state_dict(best_state)
    return ReferenceResult(
        model=best_model.eval(),
        last_model=last_model.eval(),
        best_epoch=best_epoch,
        best_val_auc=best_auc,
        val_aucs=val_aucs,
        seconds=time.monotonic() - started,
    )
