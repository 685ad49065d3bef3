"""Supervised training of the U-Net on label maps, with the classifier's run life: validation
early stopping, weight averaging, progress per epoch, cancellation, CPU or CUDA (mixed precision).

Loss: MONAI DiceCELoss (soft Dice over the foreground channels, pooled over the batch, plus pixel
cross-entropy). Batch pooling keeps the Dice term defined on negatives (empty masks), which stay
in the training set: the cross-entropy teaches "no lesion here" and the pooled Dice still rewards
the lesions of the other images of the batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from monai.losses import DiceCELoss
from torch import nn

from ml_worker.epoch_loop import LoopConfig, run_epochs
from ml_worker.segmentation.metrics import mean_foreground_dice
from ml_worker.segmentation.semi import SegSemiConfig, semi_step_loss
from ml_worker.segmentation.transforms import (
    SegAugmentConfig,
    as_mask_batch,
    augment_pairs,
    build_augment,
)
from ml_worker.training import seed_everything, select_device


@dataclass(frozen=True)
class SegTrainConfig(LoopConfig):
    """Hyper-parameters of one segmentation run (stored with the model version)."""

    lambda_dice: float = 1.0
    lambda_ce: float = 1.0
    augment: SegAugmentConfig | None = field(default_factory=SegAugmentConfig)
    # Semi-supervised learning from unlabelled images (None: supervised only; decision 0427).
    semi: SegSemiConfig | None = None


@dataclass(frozen=True)
class SegEpochReport:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float | None
    val_dice: float | None
    seconds: float
    eta_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SegTrainResult:
    model: nn.Module  # best weights loaded, eval mode
    history: list[SegEpochReport]
    best_epoch: int
    device: str
    seconds: float
    stopped_early: bool
    unlabeled_count: int = 0  # unlabelled images the run drew from (0: supervised only)
    unlabeled_accepted: float | None = None  # share of their pixels above the threshold


def dice_ce_loss(config: SegTrainConfig) -> DiceCELoss:
    """The training loss over (B, K+1, H, W) logits and (B, 1, H, W) integer masks."""
    return DiceCELoss(
        include_background=False,
        to_onehot_y=True,
        softmax=True,
        batch=True,
        lambda_dice=config.lambda_dice,
        lambda_ce=config.lambda_ce,
    )


def logits_of(
    model: nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 64
) -> torch.Tensor:
    """(N, K+1, H, W) float32 CPU logits in eval mode, batched."""
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            out.append(model(images[start : start + batch_size].to(device)).float().cpu())
    return torch.cat(out)


def train_segmenter(
    model: nn.Module,
    train_images: np.ndarray,
    train_masks: np.ndarray,
    val_images: np.ndarray | None = None,
    val_masks: np.ndarray | None = None,
    config: SegTrainConfig | None = None,
    *,
    on_epoch: Callable[[SegEpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    unlabeled_images: np.ndarray | None = None,
) -> SegTrainResult:
    """Train on (N, C, H, W) float32 images in [0, 1] and (N, H, W) integer label maps
    (0 background, k = class k; an all-zero map is a negative).

    AdamW with a one-cycle cosine schedule; the EMA of the weights (when `ema_decay` > 0) is what
    is validated and returned. Early stopping on validation Dice (mean foreground Dice per image)
    from epoch ceil(early_stop_from x max_epochs); the best such epoch is restored. Without a
    validation set all epochs run and the last averaged weights are kept. `should_stop()` is
    polled every `stop_check_every` batches and after each epoch: `TrainingCancelled`.
    With `config.semi` and `unlabeled_images` (M, C, H, W), each step adds the unlabelled term
    (ml_worker.segmentation.semi); without either, the run is supervised only.
    """
    cfg = config or SegTrainConfig()
    semi = cfg.semi if unlabeled_images is not None and len(unlabeled_images) > 0 else None
    if semi is not None:
        # A few labelled images give a short schedule: at least `min_steps` optimiser steps,
        # so that the unlabelled images have steps to matter in.
        per_epoch = math.ceil(semi.min_steps / cfg.max_epochs) * cfg.batch_size
        cfg = replace(cfg, min_samples_per_epoch=max(cfg.min_samples_per_epoch, per_epoch))
    if len(train_images) != len(train_masks) or len(train_images) == 0:
        raise ValueError("train_images and train_masks must be non-empty and the same length")
    if train_images.ndim != 4 or train_masks.ndim != 3:
        raise ValueError("images are (N, C, H, W) and masks (N, H, W)")
    if train_images.shape[-2:] != train_masks.shape[-2:]:
        raise ValueError("images and masks must have the same height and width")
    started = time.monotonic()
    device = select_device(cfg.device)
    if device.type == "cpu" and cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    gen = seed_everything(cfg.seed)
    use_amp = cfg.amp and device.type == "cuda"
    spec = getattr(model, "spec", None)
    num_classes = int(spec.num_classes) if spec is not None else int(train_masks.max())
    if int(train_masks.max()) > num_classes:
        raise ValueError(f"masks hold class {int(train_masks.max())}; the model has {num_classes}")
    model.to(device)

    x_train = torch.from_numpy(np.ascontiguousarray(train_images, dtype=np.float32))
    y_train = as_mask_batch(train_masks)
    has_val = val_images is not None and val_masks is not None and len(val_images) > 0
    x_val = (
        torch.from_numpy(np.ascontiguousarray(val_images, dtype=np.float32)) if has_val else None
    )
    y_val = np.asarray(val_masks, dtype=np.int64) if has_val else None

    loss_fn = dice_ce_loss(cfg)
    augment = (
        build_augment(cfg.augment, int(x_train.shape[-1]), cfg.seed)
        if cfg.augment is not None
        else None
    )
    x_unlabeled = None
    if semi is not None:
        assert unlabeled_images is not None
        x_unlabeled = torch.from_numpy(np.ascontiguousarray(unlabeled_images, dtype=np.float32))
        if x_unlabeled.shape[1:] != x_train.shape[1:]:
            raise ValueError(
                f"unlabeled_images {tuple(x_unlabeled.shape[1:])} must match train_images "
                f"{tuple(x_train.shape[1:])}"
            )
    pixels = {"accepted": 0, "drawn": 0, "steps": 0}
    steps_per_epoch = math.ceil(max(len(x_train), cfg.min_samples_per_epoch) / cfg.batch_size)
    semi_from = 0 if semi is None else semi.warmup * steps_per_epoch * cfg.max_epochs

    def batch_loss(index: torch.Tensor) -> torch.Tensor:
        xb, yb = x_train[index], y_train[index]
        if augment is not None:
            xb, yb = augment_pairs(augment, xb, yb)
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        pixels["steps"] += 1
        if semi is not None and x_unlabeled is not None and pixels["steps"] > semi_from:
            pick = torch.randint(len(x_unlabeled), (semi.ratio * len(index),), generator=gen)
            weak = x_unlabeled[pick]
            if augment is not None:  # the labelled images' augmentation: geometry included
                weak, _ = augment_pairs(augment, weak, torch.zeros_like(weak[:, :1]).long())
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                loss, accepted, drawn = semi_step_loss(
                    model, loss_fn, xb, yb, weak.to(device, non_blocking=True), semi, gen
                )
            pixels["accepted"] += accepted
            pixels["drawn"] += drawn
            return loss
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            logits = model(xb)
        supervised: torch.Tensor = loss_fn(logits.float(), yb)
        return supervised

    def validate(evaluated: nn.Module) -> tuple[float | None, float | None]:
        assert x_val is not None and y_val is not None
        logits_val = logits_of(evaluated, x_val, device, cfg.batch_size * 4)
        val_loss = float(loss_fn(logits_val, torch.from_numpy(y_val[:, None])).item())
        return val_loss, mean_foreground_dice(y_val, logits_val.argmax(1).numpy(), num_classes)

    def report(epoch: int, loss: float, val_loss: float | None, dice: float | None,
               seconds: float, eta: float) -> SegEpochReport:  # fmt: skip
        return SegEpochReport(epoch, cfg.max_epochs, loss, val_loss, dice, seconds, eta)

    outcome = run_epochs(
        model, cfg, len(x_train), gen, use_amp, batch_loss, validate if has_val else None,
        report, on_epoch, should_stop,
    )  # fmt: skip
    return SegTrainResult(
        model=model,
        history=outcome.history,
        best_epoch=outcome.best_epoch,
        device=str(device),
        seconds=time.monotonic() - started,
        stopped_early=outcome.stopped_early,
        unlabeled_count=0 if x_unlabeled is None else len(x_unlabeled),
        unlabeled_accepted=(pixels["accepted"] / pixels["drawn"]) if pixels["drawn"] else None,
    )
