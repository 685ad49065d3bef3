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
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from monai.losses import DiceCELoss
from torch import nn

from ml_worker.segmentation.metrics import mean_foreground_dice
from ml_worker.segmentation.transforms import (
    SegAugmentConfig,
    as_mask_batch,
    augment_pairs,
    build_augment,
)
from ml_worker.training import seed_everything, select_device
from ml_worker.training_loop import EarlyStopping, Stepper, epoch_order, one_cycle


@dataclass(frozen=True)
class SegTrainConfig:
    """Hyper-parameters of one segmentation run (stored with the model version)."""

    max_epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 4
    min_samples_per_epoch: int = 160  # tiny labelled sets are resampled up to this per epoch
    early_stop_from: float = 0.4  # share of max_epochs before an epoch may be kept as best
    ema_decay: float = 0.99
    lambda_dice: float = 1.0
    lambda_ce: float = 1.0
    augment: SegAugmentConfig | None = field(default_factory=SegAugmentConfig)
    seed: int = 0
    device: str | None = None
    amp: bool = True
    num_threads: int = 2
    stop_check_every: int = 10

    def __post_init__(self) -> None:
        if self.max_epochs < 1 or self.batch_size < 1:
            raise ValueError("max_epochs and batch_size must be >= 1")
        if not 0.0 <= self.early_stop_from <= 1.0:
            raise ValueError("early_stop_from is a share of max_epochs, in [0, 1]")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("ema_decay must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
) -> SegTrainResult:
    """Train on (N, C, H, W) float32 images in [0, 1] and (N, H, W) integer label maps
    (0 background, k = class k; an all-zero map is a negative).

    AdamW with a one-cycle cosine schedule; the EMA of the weights (when `ema_decay` > 0) is what
    is validated and returned. Early stopping on validation Dice (mean foreground Dice per image)
    from epoch ceil(early_stop_from x max_epochs); the best such epoch is restored. Without a
    validation set all epochs run and the last averaged weights are kept. `should_stop()` is
    polled every `stop_check_every` batches and after each epoch: `TrainingCancelled`.
    """
    cfg = config or SegTrainConfig()
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
    samples = max(len(x_train), cfg.min_samples_per_epoch)
    steps_per_epoch = max(1, math.ceil(samples / cfg.batch_size))
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
    )
    stepper = Stepper(
        model,
        optimizer,
        one_cycle(optimizer, cfg.learning_rate, steps_per_epoch * cfg.max_epochs),
        use_amp=use_amp,
        ema_decay=cfg.ema_decay,
        should_stop=should_stop,
        check_every=cfg.stop_check_every,
    )
    evaluated = stepper.evaluated
    augment = (
        build_augment(cfg.augment, int(x_train.shape[-1]), cfg.seed)
        if cfg.augment is not None
        else None
    )
    stopping = EarlyStopping(cfg.patience, math.ceil(cfg.early_stop_from * cfg.max_epochs))

    history: list[SegEpochReport] = []
    for epoch in range(1, cfg.max_epochs + 1):
        epoch_start = time.monotonic()
        model.train()
        order = epoch_order(len(x_train), samples, gen)
        total_loss, seen = 0.0, 0
        for step in range(steps_per_epoch):
            index = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            if len(index) == 0:
                break
            xb, yb = x_train[index], y_train[index]
            if augment is not None:
                xb, yb = augment_pairs(augment, xb, yb)
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                logits = model(xb)
            loss = loss_fn(logits.float(), yb)
            total_loss += float(loss.detach()) * len(index)
            seen += len(index)
            stepper.step(loss, epoch)
        val_loss = val_dice = None
        if has_val:
            assert x_val is not None and y_val is not None
            logits_val = logits_of(evaluated, x_val, device, cfg.batch_size * 4)
            val_loss = float(loss_fn(logits_val, torch.from_numpy(y_val[:, None])).item())
            val_dice = mean_foreground_dice(y_val, logits_val.argmax(1).numpy(), num_classes)
        seconds = time.monotonic() - epoch_start
        report = SegEpochReport(
            epoch=epoch,
            epochs=cfg.max_epochs,
            train_loss=total_loss / max(seen, 1),
            val_loss=val_loss,
            val_dice=val_dice,
            seconds=seconds,
            eta_s=(time.monotonic() - started) / epoch * (cfg.max_epochs - epoch),
        )
        history.append(report)
        if on_epoch is not None:
            on_epoch(report)
        stepper.poll(epoch)
        # Higher Dice is better: the shared early stopping minimises, so it sees -Dice.
        if stopping.consider(epoch, None if val_dice is None else -val_dice, evaluated):
            break
    best_epoch = stopping.restore(model, stepper, len(history))
    return SegTrainResult(
        model=model,
        history=history,
        best_epoch=best_epoch,
        device=str(device),
        seconds=time.monotonic() - started,
        stopped_early=stopping.stopped_early,
    )
