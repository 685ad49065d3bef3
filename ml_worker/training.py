"""Supervised training of a classifier with validation early stopping, progress and cancellation.

One code path for CPU and GPU: CUDA (with automatic mixed precision) when present, else CPU with
`torch.set_num_threads(2)` by default (one torch job per 2-core worker; oversubscribing threads
roughly triples wall time, stack notes §7).
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# One list of semi-supervised method names for the web (settings) and the worker.
from learning.model_settings import SEMI_METHODS
from ml_worker.augment import AugmentConfig, augment_batch, strong_augment_batch
from ml_worker.calibration import fit_temperature
from ml_worker.ema import WeightAverage
from ml_worker.evaluation import roc_auc
from ml_worker.models import freeze_backbone
from ml_worker.multilabel import bce_loss, positive_weights, validation_scores


class TrainingCancelled(Exception):
    """Raised when `should_stop()` returned True; nothing of the run should be registered."""

    def __init__(self, epoch: int) -> None:
        super().__init__(f"training cancelled during epoch {epoch}")
        self.epoch = epoch


def check_semi_schedule(config: Any) -> None:
    """The fields every semi-supervised config shares (the classifier's SemiConfig, the U-Net's
    SegSemiConfig): ValueError when one is out of range."""
    if not 0.0 < config.threshold < 1.0:
        raise ValueError("threshold must be in (0, 1)")
    if config.weight < 0 or config.ratio < 1 or config.min_steps < 0 or config.max_unlabeled < 1:
        raise ValueError("weight >= 0, ratio >= 1, min_steps >= 0, max_unlabeled >= 1")
    if not 0.0 <= config.warmup < 1.0:
        raise ValueError("warmup is a share of the schedule, in [0, 1)")


@dataclass(frozen=True)
class SemiConfig:
    """Semi-supervised learning from unlabelled pool images (decision 0420).

    - "fixmatch" (Sohn et al. 2020): each step also draws `ratio` x batch unlabelled images; the
      model's own prediction on a weakly augmented view is the target for a strongly augmented
      view (ml_worker.augment.strong_augment_batch), where its confidence is >= `threshold`.
    - "pseudo_label": the weight-averaged model (teacher) labels a weak view; its confidence,
      after a temperature fitted on the validation split at the end of every epoch, gates the
      target at `threshold`; the student learns it on another weak view.

    The unlabelled term has weight `weight`; it is skipped during the first `warmup` share of
    the schedule (the model's guesses are noise before it has seen the labels). The schedule
    takes at least `min_steps` optimiser steps (a few dozen labels alone give too few steps for
    the unlabelled images to matter). Single-label classification only.

    `distribution_alignment` (ReMixMatch, Berthelot et al. 2020; decision 0425; off by default):
    before the threshold, the weak-view (or teacher) probabilities are multiplied by the labelled
    set's class frequencies (Laplace-smoothed) divided by the mean of the model's own predictions
    on the unlabelled draws of the last `alignment_window` steps, and renormalised. Off because
    it measured no better once batch-norm statistics were recomputed on the training batches' mix
    (decision 0426), and an active learner's labelled set is not drawn at the pool's class
    frequencies (uncertainty sampling: 44-50 % pneumonia where the pool has 75 %).
    """

    method: str = "fixmatch"
    threshold: float = 0.95
    weight: float = 1.0
    ratio: int = 2
    warmup: float = 0.0
    min_steps: int = 300
    max_unlabeled: int = 5000  # the training job reads at most this many pool images
    distribution_alignment: bool = False
    alignment_window: int = 128  # steps averaged into the model's predicted class distribution

    def __post_init__(self) -> None:
        if self.method not in SEMI_METHODS:
            raise ValueError(f"semi-supervised method must be one of {SEMI_METHODS}")
        check_semi_schedule(self)
        if self.alignment_window < 1:
            raise ValueError("alignment_window must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    # Before each validation, batch-norm statistics are recomputed on up to this many training
    # images (un-augmented), so the evaluated weights meet their own statistics (decision 0382);
    # 0 keeps the running averages.
    precise_bn_samples: int = 1024
    ema_decay: float = 0.99  # > 0: validate and keep an exponential moving average of the weights
    class_weighted: bool = True
    # Transfer learning (decision 0381): "none", "backbone_epochs" (the backbone frozen for the
    # first `freeze_epochs` epochs, the head learning alone) or "all_but_head" (frozen throughout).
    freeze: str = "none"
    freeze_epochs: int = 0
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    seed: int = 0
    device: str | None = None  # None: "cuda" when available, else "cpu"
    amp: bool = True  # mixed precision, CUDA only
    num_threads: int = 2  # CPU intra-op threads
    stop_check_every: int = 10  # batches between should_stop() checks
    # Semi-supervised learning from unlabelled images (None: supervised only; decision 0420).
    semi: SemiConfig | None = None

    def __post_init__(self) -> None:
        if self.max_epochs < 1 or self.batch_size < 1:
            raise ValueError("max_epochs and batch_size must be >= 1")
        if not 0.0 <= self.early_stop_from <= 1.0:
            raise ValueError("early_stop_from is a share of max_epochs, in [0, 1]")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("ema_decay must be in [0, 1) (0 switches the weight average off)")
        if self.freeze not in ("none", "backbone_epochs", "all_but_head"):
            raise ValueError("freeze must be 'none', 'backbone_epochs' or 'all_but_head'")
        if self.precise_bn_samples < 0:
            raise ValueError("precise_bn_samples must be >= 0")
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
    # Semi-supervised runs: unlabelled images used, and the share of unlabelled draws whose
    # pseudo-label passed the confidence threshold over the whole run.
    unlabeled_count: int = 0
    unlabeled_accepted: float | None = None
    # Each class's share of the accepted pseudo-labels over the whole run (decision 0425): a
    # run drifting to one class shows it here.
    pseudo_label_shares: list[float] | None = None


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
    if y.ndim == 2:  # multi-label: (N, L) multi-hot targets
        return validation_scores(out, y)
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
    unlabeled_images: np.ndarray | None = None,
) -> TrainResult:
    """Train `model` on (N, C, H, W) float32 images in [0, 1] and integer labels, or (N, L)
    multi-hot targets for a multi-label model (ml_worker.multilabel).

    - Class-weighted cross-entropy (inverse frequency) when `config.class_weighted`; multi-label:
      binary cross-entropy with per-label positive weights.
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
    - With `config.semi` and `unlabeled_images` (N, C, H, W), each step adds the semi-supervised
      term over unlabelled images (SemiConfig); without either, the run is supervised only.
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

    multi_label = train_labels.ndim == 2
    target_type = np.float32 if multi_label else np.int64
    x_train = torch.from_numpy(np.ascontiguousarray(train_images, dtype=np.float32))
    y_train = torch.from_numpy(train_labels.astype(target_type))
    has_val = val_images is not None and val_labels is not None and len(val_images) > 0
    x_val = (
        torch.from_numpy(np.ascontiguousarray(val_images, dtype=np.float32)) if has_val else None
    )
    y_val = torch.from_numpy(np.asarray(val_labels).astype(target_type)) if has_val else None

    weight = None
    if cfg.class_weighted:
        weights = (
            positive_weights(train_labels)
            if multi_label
            else class_weights(train_labels, num_classes)
        )
        weight = weights.to(device)
    loss_fn = bce_loss if multi_label else F.cross_entropy
    semi = cfg.semi if unlabeled_images is not None and len(unlabeled_images) > 0 else None
    if semi is not None and multi_label:
        raise ValueError("semi-supervised training is for single-label classification only")
    x_unlabeled = (
        torch.from_numpy(np.ascontiguousarray(unlabeled_images, dtype=np.float32))
        if semi is not None
        else None
    )
    if x_unlabeled is not None and x_unlabeled.shape[1:] != x_train.shape[1:]:
        raise ValueError(
            f"unlabeled_images {tuple(x_unlabeled.shape[1:])} must match train_images "
            f"{tuple(x_train.shape[1:])}"
        )
    min_steps = max(cfg.min_steps, semi.min_steps if semi is not None else 0)
    # Tiny labelled sets are resampled so the schedule still takes `min_steps` optimiser steps.
    samples = max(
        len(x_train),
        cfg.min_samples_per_epoch,
        math.ceil(min_steps / cfg.max_epochs) * cfg.batch_size,
    )
    steps_per_epoch = max(1, math.ceil(samples / cfg.batch_size))
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=cfg.learning_rate,
        total_steps=steps_per_epoch * cfg.max_epochs,
        pct_start=0.15,
        anneal_strategy="cos",
    )
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    average = WeightAverage(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
    first_candidate = math.ceil(cfg.early_stop_from * cfg.max_epochs)
    evaluated = average.model if average is not None else model

    history: list[EpochReport] = []
    best_state: dict[str, torch.Tensor] | None = None
    best_value, best_epoch, waited = math.inf, 0, 0
    stopped_early = False
    batch_counter = 0
    total_steps = steps_per_epoch * cfg.max_epochs
    teacher_temperature = 1.0  # pseudo_label: fitted on val after each epoch
    drawn = accepted = 0
    accepted_per_class = torch.zeros(num_classes, dtype=torch.float64)
    alignment = (
        DistributionAlignment(labelled_prior(train_labels, num_classes), semi.alignment_window)
        if semi is not None and semi.distribution_alignment
        else None
    )
    for epoch in range(1, cfg.max_epochs + 1):
        epoch_start = time.monotonic()
        model.train()
        frozen = _frozen_names(model, cfg, epoch)
        if hasattr(model, "backbone"):
            freeze_backbone(model, bool(frozen))  # type: ignore[arg-type]
        # Whole passes over the data (shuffled), topped up with a random remainder for tiny sets.
        order = torch.cat(
            [torch.randperm(len(x_train), generator=gen) for _ in range(samples // len(x_train))]
            + [torch.randperm(len(x_train), generator=gen)[: samples % len(x_train)]]
        )
        total_loss, seen = 0.0, 0
        for step in range(steps_per_epoch):
            index = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            if len(index) == 0:
                break
            xb = x_train[index].to(device, non_blocking=True)
            yb = y_train[index].to(device, non_blocking=True)
            if cfg.augment is not None:
                xb = augment_batch(xb, cfg.augment, gen)
            if semi is not None and batch_counter >= semi.warmup * total_steps:
                assert x_unlabeled is not None
                pick = torch.randint(len(x_unlabeled), (semi.ratio * len(index),), generator=gen)
                ub = x_unlabeled[pick].to(device, non_blocking=True)
                teacher = average.model if average is not None else model
                with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                    loss, used_per_class = _semi_loss(
                        model,
                        teacher,
                        xb,
                        yb,
                        ub,
                        cfg,
                        semi,
                        gen,
                        weight,
                        teacher_temperature,
                        alignment,
                    )
                drawn += len(ub)
                accepted += int(used_per_class.sum())
                accepted_per_class += used_per_class
            else:
                with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                    loss = loss_fn(model(xb), yb, weight)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            if average is not None:
                average.update(model, frozen)
            total_loss += float(loss.detach()) * len(index)
            seen += len(index)
            batch_counter += 1
            if (
                should_stop is not None
                and batch_counter % cfg.stop_check_every == 0
                and should_stop()
            ):
                raise TrainingCancelled(epoch)
        if cfg.precise_bn_samples > 0 and (has_val or epoch == cfg.max_epochs):
            bn_images = x_train
            if semi is not None:
                assert x_unlabeled is not None
                bn_images = _semi_bn_images(x_train, x_unlabeled, cfg, semi, gen)
            recompute_batchnorm(
                evaluated, bn_images, device, cfg.batch_size, cfg.precise_bn_samples, gen, frozen
            )
        val_loss = val_auc = val_acc = None
        if has_val:
            assert x_val is not None and y_val is not None
            val_loss, val_auc, val_acc = _validate(evaluated, x_val, y_val, device, cfg.batch_size)
            if semi is not None and semi.method == "pseudo_label" and not multi_label:
                teacher_temperature = _val_temperature(evaluated, x_val, y_val, device, cfg)
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
        if should_stop is not None and should_stop():
            raise TrainingCancelled(epoch)
        if not has_val or epoch < first_candidate:
            continue
        value = _monitored(report, cfg.monitor)
        if value < best_value - 1e-4:
            best_value, best_epoch, waited = value, epoch, 0
            best_state = copy.deepcopy(evaluated.state_dict())
        else:
            waited += 1
            if waited >= cfg.patience:
                stopped_early = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(history)
        if average is not None:
            model.load_state_dict(average.model.state_dict())
    model.eval()
    return TrainResult(
        model=model,
        history=history,
        best_epoch=best_epoch,
        device=str(device),
        seconds=time.monotonic() - started,
        stopped_early=stopped_early,
        unlabeled_count=0 if x_unlabeled is None else len(x_unlabeled),
        unlabeled_accepted=None if semi is None or drawn == 0 else accepted / drawn,
        pseudo_label_shares=None if accepted == 0 else (accepted_per_class / accepted).tolist(),
    )


def _semi_loss(
    model: nn.Module,
    teacher: nn.Module,
    xb: torch.Tensor,
    yb: torch.Tensor,
    ub: torch.Tensor,
    cfg: TrainConfig,
    semi: SemiConfig,
    gen: torch.Generator,
    weight: torch.Tensor | None,
    teacher_temperature: float,
    alignment: DistributionAlignment | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Supervised loss on the labelled batch plus `semi.weight` x the masked pseudo-label loss
    on the unlabelled batch `ub`; also how many unlabelled images passed the threshold, per
    pseudo-label class (float64, on the CPU). With
    `alignment`, the target probabilities are distribution-aligned before the threshold."""
    weak = augment_batch(ub, cfg.augment, gen) if cfg.augment is not None else ub
    if semi.method == "fixmatch":
        strong = strong_augment_batch(ub, gen, cfg.augment)
        # One forward over labelled, weak and strong views: batch-norm sees one mixed batch.
        logits = model(torch.cat([xb, weak, strong]))
        labelled, weak_logits, strong_logits = logits.split([len(xb), len(ub), len(ub)])
        probabilities = torch.softmax(weak_logits.detach().float(), dim=1)
        student = strong_logits
    else:
        with torch.no_grad():
            was_training = teacher.training
            teacher.eval()
            teacher_logits = teacher(weak).float() / teacher_temperature
            teacher.train(was_training)
        probabilities = torch.softmax(teacher_logits, dim=1)
        other = augment_batch(ub, cfg.augment, gen) if cfg.augment is not None else ub
        logits = model(torch.cat([xb, other]))
        labelled, student = logits.split([len(xb), len(ub)])
    if alignment is not None:
        probabilities = alignment(probabilities)
    confidence, target = probabilities.max(dim=1)
    mask = (confidence >= semi.threshold).float()
    unlabelled = (F.cross_entropy(student, target, reduction="none") * mask).mean()
    per_class = torch.bincount(target[mask > 0].cpu(), minlength=probabilities.shape[1]).to(
        torch.float64
    )
    return F.cross_entropy(labelled, yb, weight) + semi.weight * unlabelled, per_class


def _semi_bn_images(
    x_train: torch.Tensor,
    x_unlabeled: torch.Tensor,
    cfg: TrainConfig,
    semi: SemiConfig,
    gen: torch.Generator,
) -> torch.Tensor:
    """The images precise batch-norm statistics are recomputed on in a semi-supervised run: the
    mix its training batches had (labelled images, then per labelled image `ratio` weak views
    and, for FixMatch, `ratio` strong views of unlabelled images), `precise_bn_samples` in all.

    The weights learnt under the mixed batches' statistics; recomputed on the labelled images
    alone (decision 0382's default), the statistics shifted and a FixMatch model called 90 % of
    PneumoniaMNIST's test images pneumonia (62.5 % are; decision 0426)."""
    views = 2 if semi.method == "fixmatch" else 1
    share = 1 + views * semi.ratio
    n_labelled = max(1, min(len(x_train), cfg.precise_bn_samples // share))
    labelled = x_train[torch.randperm(len(x_train), generator=gen)[:n_labelled]]
    n_unlabelled = n_labelled * semi.ratio
    pick = torch.randint(len(x_unlabeled), (n_unlabelled,), generator=gen)
    unlabelled = x_unlabeled[pick]
    parts = [labelled]
    parts.append(
        augment_batch(unlabelled, cfg.augment, gen) if cfg.augment is not None else unlabelled
    )
    if semi.method == "fixmatch":
        parts.append(strong_augment_batch(unlabelled, gen, cfg.augment))
    mixed = torch.cat(parts)
    # Shuffled so every batch of the recomputation is mixed as a training batch was: a batch's
    # variance then includes the spread between labelled, weak and strong views.
    return mixed[torch.randperm(len(mixed), generator=gen)]


def labelled_prior(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """The labelled set's class frequencies, Laplace-smoothed `(count + 1) / (n + k)`: a class
    with no label yet keeps a small share instead of being aligned away entirely."""
    counts = np.bincount(labels.astype(np.int64), minlength=num_classes).astype(np.float64)
    return torch.tensor((counts + 1.0) / (counts.sum() + num_classes), dtype=torch.float32)


class DistributionAlignment:
    """ReMixMatch's distribution alignment (Berthelot et al. 2020, section 3.2): `q = p x prior /
    mean_p`, renormalised, where `mean_p` is the mean predicted class distribution over the
    unlabelled draws of the last `window` calls (the current one included). Only the target's
    probabilities are changed; the model and its loss on labelled images are not."""

    def __init__(self, prior: torch.Tensor, window: int) -> None:
        self.prior = prior.float()
        self.history: deque[torch.Tensor] = deque(maxlen=window)

    def model_mean(self) -> torch.Tensor:
        """The model's mean predicted class distribution over the window's unlabelled draws."""
        return torch.stack(list(self.history)).mean(dim=0).clamp_min(1e-6)

    def __call__(self, probabilities: torch.Tensor) -> torch.Tensor:
        # The running mean uses the unaligned predictions: it measures the model's own drift.
        self.history.append(probabilities.detach().float().mean(dim=0).cpu())
        ratio = (self.prior / self.model_mean()).to(probabilities.device)
        aligned = probabilities * ratio
        return aligned / aligned.sum(dim=1, keepdim=True)


def _val_temperature(
    model: nn.Module,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    device: torch.device,
    cfg: TrainConfig,
) -> float:
    """The temperature that calibrates `model` on the validation split (pseudo-label gating)."""
    model.eval()
    with torch.inference_mode():
        logits = torch.cat(
            [
                model(x_val[i : i + cfg.batch_size * 4].to(device)).float().cpu()
                for i in range(0, len(x_val), cfg.batch_size * 4)
            ]
        )
    return fit_temperature(logits.numpy(), y_val.numpy())


@torch.no_grad()
def recompute_batchnorm(
    model: nn.Module,
    images: torch.Tensor,
    device: torch.device,
    batch_size: int,
    max_samples: int,
    gen: torch.Generator,
    frozen: frozenset[str] = frozenset(),
) -> None:
    """Replace every batch-norm layer's running statistics by the exact average over (up to
    `max_samples` of) `images`, as the current weights see them ("precise BN", Wu & Johnson 2021).

    The running averages (momentum 0.1) trail weights that move fast: a small set trains a few
    steps an epoch at a high learning rate, and the weight average lags further, so mid-run an
    evaluated model met statistics of older weights and its validation loss climbed (0.7 -> 4.0
    in the demo) with no real change in what it had learnt. A frozen backbone's layers (`frozen`
    names) keep the source's statistics.
    """
    layers = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm)
        and module.track_running_stats
        and f"{name}.running_mean" not in frozen
    ]
    if not layers or len(images) < 2:
        return
    if len(images) > max_samples:
        images = images[torch.randperm(len(images), generator=gen)[:max_samples]]
    saved = [(module, module.momentum, module.training) for _, module in layers]
    was_training = model.training
    model.eval()
    for _, module in layers:
        module.reset_running_stats()
        module.momentum = None  # cumulative average over the batches below
        module.train()
    try:
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            if len(batch) > 1:  # one image has no batch statistics (and a 1x1 map fails)
                model(batch.to(device))
    finally:
        for module, momentum, training in saved:
            module.momentum = momentum
            module.train(training)
        model.train(was_training)


def _frozen_names(model: nn.Module, cfg: TrainConfig, epoch: int) -> frozenset[str]:
    """The state-dict names held fixed during `epoch` (the backbone's, when frozen)."""
    frozen = cfg.freeze == "all_but_head" or (
        cfg.freeze == "backbone_epochs" and epoch <= cfg.freeze_epochs
    )
    backbone = getattr(model, "backbone", None)
    if not frozen or backbone is None:
        return frozenset()
    return frozenset(f"backbone.{name}" for name in backbone.state_dict())


def _monitored(report: EpochReport, monitor: str) -> float:
    """The early-stopping quantity, as "lower is better"."""
    if monitor == "val_loss":
        return math.inf if report.val_loss is None else report.val_loss
    if monitor == "val_auc":
        return math.inf if report.val_auc is None else -report.val_auc
    raise ValueError(f"unknown monitor {monitor!r}: use 'val_loss' or 'val_auc'")
