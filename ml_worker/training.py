"""Supervised training of a classifier with validation early stopping, progress and cancellation.

One code path for CPU and GPU: CUDA (with automatic mixed precision) when present, else CPU with
`torch.set_num_threads(2)` by default (one torch job per 2-core worker; oversubscribing threads
roughly triples wall time, stack notes §7).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml_worker.augment import AugmentConfig, augment_batch
from ml_worker.evaluation import roc_auc
from ml_worker.training_loop import (
    EarlyStopping,
    Stepper,
    TrainingCancelled,
    epoch_order,
    one_cycle,
)

__all__ = ["TrainConfig", "TrainResult", "TrainingCancelled", "train_classifier"]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (stored with the model version)."""

    max_epochs: int = 15
    batch_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 3  # epochs without validation improvement before stopping
    monitor: str = "val_loss"  # "val_loss" (lower is better) or "val_auc" (higher is better)
    min_samples_per_epoch: int = 256  # tiny labelled sets are resampled up to this per epoch
    min_steps: int = 0  # optimiser steps in the whole schedule at least, whatever the set's size
    # Share of max_epochs during which no epoch is kept as "best" and no early stop happens: the
    # learning rate is still high and a small set's validation loss swings (decision 0330).
    early_stop_from: float = 0.5
    ema_decay: float = 0.99  # > 0: validate and keep an exponential moving average of the weights
    class_weighted: bool = True
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    seed: int = 0
    device: str | None = None  # None: "cuda" when available, else "cpu"
    amp: bool = True  # mixed precision, CUDA only
    num_threads: int = 2  # CPU intra-op threads
    stop_check_every: int = 10  # batches between should_stop() checks

    def __post_init__(self) -> None:
        if self.max_epochs < 1 or self.batch_size < 1:
            raise ValueError("max_epochs and batch_size must be >= 1")
        if not 0.0 <= self.early_stop_from <= 1.0:
            raise ValueError("early_stop_from is a share of max_epochs, in [0, 1]")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("ema_decay must be in [0, 1) (0 switches the weight average off)")
        if self.min_steps < 0 or self.min_samples_per_epoch < 0:
            raise ValueError("min_steps and min_samples_per_epoch must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EpochReport:
    """Progress after one epoch, as the run's API shows it."""

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float | None
    val_auc: float | None
    val_accuracy: float | None
    seconds: float
    eta_s: float  # upper bound: remaining epochs at the mean epoch time (early stop may end sooner)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    model: nn.Module  # best weights loaded, eval mode
    history: list[EpochReport]
    best_epoch: int
    device: str
    seconds: float
    stopped_early: bool


def select_device(preferred: str | None = None) -> torch.device:
    """`preferred` if given, else CUDA when available, else CPU."""
    if preferred:
        return torch.device(preferred)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a CPU generator for shuffling and augmentation."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def class_weights(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """Inverse-frequency weights `n / (k * count_c)`; classes absent from `labels` get weight 1."""
    counts = np.bincount(labels.astype(np.int64), minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 1.0)
    return torch.tensor(weights, dtype=torch.float32)


def _validate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device, batch_size: int
) -> tuple[float, float, float]:
    model.eval()
    logits = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size * 4):
            logits.append(model(x[start : start + batch_size * 4].to(device)).float().cpu())
    out = torch.cat(logits)
    loss = float(F.cross_entropy(out, y).item())
    probs = torch.softmax(out, dim=1).numpy()
    accuracy = float((probs.argmax(1) == y.numpy()).mean())
    return loss, roc_auc(probs, y.numpy()), accuracy


def train_classifier(
    model: nn.Module,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    val_images: np.ndarray | None = None,
    val_labels: np.ndarray | None = None,
    config: TrainConfig | None = None,
    *,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train `model` on (N, C, H, W) float32 images in [0, 1] and integer labels.

    - Class-weighted cross-entropy (inverse frequency) when `config.class_weighted`.
    - AdamW with a one-cycle cosine learning rate over `max_epochs`; at least `min_steps`
      optimiser steps in all (tiny sets are resampled).
    - With `ema_decay` > 0, an exponential moving average of the weights is what is validated
      and returned (ml_worker.ema).
    - After each epoch: validation loss/AUC/accuracy, `on_epoch(report)`. From epoch
      ceil(`early_stop_from` x `max_epochs`) on, early stopping on `config.monitor` with
      `patience`; the best of those epochs is restored at the end. Without a validation set,
      all `max_epochs` run and the last (averaged) weights are kept.
    - `should_stop()` is polled every `stop_check_every` batches and at each epoch end; when it
      returns True, `TrainingCancelled` is raised.
    """
    cfg = config or TrainConfig()
    if len(train_images) != len(train_labels) or len(train_images) == 0:
        raise ValueError("train_images and train_labels must be non-empty and the same length")
    if train_images.ndim != 4:
        raise ValueError(f"train_images must be (N, C, H, W), got {train_images.shape}")
    started = time.monotonic()
    device = select_device(cfg.device)
    if device.type == "cpu" and cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    gen = seed_everything(cfg.seed)
    use_amp = cfg.amp and device.type == "cuda"
    spec = getattr(model, "spec", None)
    num_classes = int(spec.num_classes) if spec is not None else int(train_labels.max() + 1)
    model.to(device)

    x_train = torch.from_numpy(np.ascontiguousarray(train_images, dtype=np.float32))
    y_train = torch.from_numpy(train_labels.astype(np.int64))
    has_val = val_images is not None and val_labels is not None and len(val_images) > 0
    x_val = (
        torch.from_numpy(np.ascontiguousarray(val_images, dtype=np.float32)) if has_val else None
    )
    y_val = torch.from_numpy(np.asarray(val_labels).astype(np.int64)) if has_val else None

    weight = class_weights(train_labels, num_classes).to(device) if cfg.class_weighted else None
    # Tiny labelled sets are resampled so the schedule still takes `min_steps` optimiser steps.
    samples = max(
        len(x_train),
        cfg.min_samples_per_epoch,
        math.ceil(cfg.min_steps / cfg.max_epochs) * cfg.batch_size,
    )
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
    stopping = EarlyStopping(cfg.patience, math.ceil(cfg.early_stop_from * cfg.max_epochs))
    evaluated = stepper.evaluated

    history: list[EpochReport] = []
    for epoch in range(1, cfg.max_epochs + 1):
        epoch_start = time.monotonic()
        model.train()
        order = epoch_order(len(x_train), samples, gen)
        total_loss, seen = 0.0, 0
        for step in range(steps_per_epoch):
            index = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            if len(index) == 0:
                break
            xb = x_train[index].to(device, non_blocking=True)
            yb = y_train[index].to(device, non_blocking=True)
            if cfg.augment is not None:
                xb = augment_batch(xb, cfg.augment, gen)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                loss = F.cross_entropy(model(xb), yb, weight=weight)
            total_loss += float(loss.detach()) * len(index)
            seen += len(index)
            stepper.step(loss, epoch)
        val_loss = val_auc = val_acc = None
        if has_val:
            assert x_val is not None and y_val is not None
            val_loss, val_auc, val_acc = _validate(evaluated, x_val, y_val, device, cfg.batch_size)
        seconds = time.monotonic() - epoch_start
        elapsed_mean = (time.monotonic() - started) / epoch
        report = EpochReport(
            epoch=epoch,
            epochs=cfg.max_epochs,
            train_loss=total_loss / max(seen, 1),
            val_loss=val_loss,
            val_auc=None if val_auc is None or math.isnan(val_auc) else val_auc,
            val_accuracy=val_acc,
            seconds=seconds,
            eta_s=elapsed_mean * (cfg.max_epochs - epoch),
        )
        history.append(report)
        if on_epoch is not None:
            on_epoch(report)
        stepper.poll(epoch)
        value = _monitored(report, cfg.monitor) if has_val else None
        if stopping.consider(epoch, value, evaluated):
            break
    best_epoch = stopping.restore(model, stepper, len(history))
    return TrainResult(
        model=model,
        history=history,
        best_epoch=best_epoch,
        device=str(device),
        seconds=time.monotonic() - started,
        stopped_early=stopping.stopped_early,
    )


def _monitored(report: EpochReport, monitor: str) -> float:
    """The early-stopping quantity, as "lower is better"."""
    if monitor == "val_loss":
        return math.inf if report.val_loss is None else report.val_loss
    if monitor == "val_auc":
        return math.inf if report.val_auc is None else -report.val_auc
    raise ValueError(f"unknown monitor {monitor!r}: use 'val_loss' or 'val_auc'")
