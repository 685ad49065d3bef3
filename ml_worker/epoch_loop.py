"""The supervised epoch loop shared by the segmentation and detection trainers: resampled epochs
over the labelled images, AdamW with a one-cycle cosine schedule, mixed precision on CUDA, an EMA
of the weights (what is validated and returned), cancellation polled every few batches and after
each epoch, and early stopping on a validation score from epoch ceil(early_stop_from x
max_epochs), the best such epoch restored. Without validation all epochs run and the last
averaged weights are kept. The trainer gives the batch loss and the validation.

Early stopping counts optimiser steps as well as epochs (decision 0358): an epoch of a small
labelled set is only max(n, min_samples_per_epoch) / batch_size steps, so "patience epochs without
improvement" alone stopped an 80-label run after 40 steps of a one-cycle schedule whose learning
rate was still high. A run may stop only once it has taken `stop_min_steps` steps, and its patience
is at least `patience_steps` steps (whole epochs); on a large set both are below the epoch rule, so
it stops as before."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeVar

import torch
from torch import nn

from ml_worker.ema import WeightAverage
from ml_worker.training import TrainingCancelled


@dataclass(frozen=True)
class LoopConfig:
    """What the epoch loop reads; each trainer's config extends it (stored with the version)."""

    max_epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 4  # epochs without validation improvement before stopping ...
    patience_steps: int = 100  # ... and at least this many optimiser steps (decision 0358)
    stop_min_steps: int = 300  # no early stop before this many optimiser steps (decision 0358)
    min_samples_per_epoch: int = 160  # tiny labelled sets are resampled up to this per epoch
    early_stop_from: float = 0.4  # share of max_epochs before an epoch may be kept as best
    ema_decay: float = 0.99
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
        if self.patience < 1 or self.patience_steps < 0 or self.stop_min_steps < 0:
            raise ValueError("patience must be >= 1, patience_steps and stop_min_steps >= 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


C = TypeVar("C", bound=LoopConfig)
WARM_EPOCHS = 2  # epochs of a warm-started run (decision 0354)
WARM_LR_FACTOR = 0.3  # its peak learning rate, as a share of the recipe's


def warm_schedule(cfg: C, epochs: int = WARM_EPOCHS, lr_factor: float = WARM_LR_FACTOR) -> C:
    """The short fine-tuning schedule of a run that starts from the active model's weights
    (decision 0354): at most `epochs` epochs, a lower peak learning rate (the one-cycle warm-up
    and cosine decay still apply), every epoch a candidate for early stopping and one epoch of
    patience: the starting weights are already a good model, so the first epoch may be best."""
    if epochs < 1:
        raise ValueError("a warm-started run needs at least one epoch")
    return replace(
        cfg,
        max_epochs=min(cfg.max_epochs, epochs),
        learning_rate=cfg.learning_rate * lr_factor,
        early_stop_from=0.0,
        patience=min(cfg.patience, 1),
        patience_steps=0,
        stop_min_steps=0,
    )


@dataclass
class LoopOutcome:
    history: list[Any]  # the trainer's epoch reports
    best_epoch: int
    stopped_early: bool


def patience_epochs(cfg: LoopConfig, steps_per_epoch: int) -> int:
    """Epochs without improvement before a stop: `patience`, or more where those epochs hold
    fewer than `patience_steps` optimiser steps (decision 0358)."""
    return max(cfg.patience, math.ceil(cfg.patience_steps / max(1, steps_per_epoch)))


def run_epochs(
    model: nn.Module,
    cfg: LoopConfig,
    n_train: int,
    gen: torch.Generator,
    use_amp: bool,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],  # train-set indices -> scalar loss
    validate: Callable[[nn.Module], tuple[float | None, float | None]] | None,  # (loss, score)
    report: Callable[[int, float, float | None, float | None, float, float], Any],
    on_epoch: Callable[[Any], None] | None,
    should_stop: Callable[[], bool] | None,
) -> LoopOutcome:
    """`report(epoch, train_loss, val_loss, val_score, seconds, eta_s)` builds an epoch report."""
    started = time.monotonic()
    samples = max(n_train, cfg.min_samples_per_epoch)
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
    evaluated = average.model if average is not None else model
    first_candidate = math.ceil(cfg.early_stop_from * cfg.max_epochs)
    patience = patience_epochs(cfg, steps_per_epoch)

    history: list[Any] = []
    best_state: dict[str, torch.Tensor] | None = None
    best_value, best_epoch, waited = -math.inf, 0, 0
    stopped_early = False
    batch_counter = 0
    for epoch in range(1, cfg.max_epochs + 1):
        epoch_start = time.monotonic()
        model.train()
        order = torch.cat(
            [torch.randperm(n_train, generator=gen) for _ in range(samples // n_train)]
            + [torch.randperm(n_train, generator=gen)[: samples % n_train]]
        )
        total_loss, seen = 0.0, 0
        for step in range(steps_per_epoch):
            index = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            if len(index) == 0:
                break
            loss = batch_loss(index)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            if average is not None:
                average.update(model)
            total_loss += float(loss.detach()) * len(index)
            seen += len(index)
            batch_counter += 1
            if (
                should_stop is not None
                and batch_counter % cfg.stop_check_every == 0
                and should_stop()
            ):
                raise TrainingCancelled(epoch)
        val_loss, val_score = validate(evaluated) if validate is not None else (None, None)
        entry = report(
            epoch,
            total_loss / max(seen, 1),
            val_loss,
            val_score,
            time.monotonic() - epoch_start,
            (time.monotonic() - started) / epoch * (cfg.max_epochs - epoch),
        )
        history.append(entry)
        if on_epoch is not None:
            on_epoch(entry)
        if should_stop is not None and should_stop():
            raise TrainingCancelled(epoch)
        if val_score is None or epoch < first_candidate:
            continue
        if val_score > best_value + 1e-4:
            best_value, best_epoch, waited = val_score, epoch, 0
            best_state = copy.deepcopy(evaluated.state_dict())
        else:
            waited += 1
            stoppable = batch_counter >= cfg.stop_min_steps and epoch < cfg.max_epochs
            if waited >= patience and stoppable:
                stopped_early = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(history)
        if average is not None:
            model.load_state_dict(average.model.state_dict())
    model.eval()
    return LoopOutcome(history, best_epoch, stopped_early)
