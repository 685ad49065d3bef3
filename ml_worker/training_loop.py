"""The loop mechanics every trainer shares (classifier: ml_worker.training, U-Net:
ml_worker.segmentation.training): the epoch's sample order, the one-cycle schedule, the optimiser
step with weight averaging, cancellation polling and early stopping with best-epoch restore.

What differs per task (loss, augmentation, validation metric) stays in the trainers; this module
holds what must behave the same in both, so a fix to early stopping or cancellation reaches both
(decision 0350).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

from ml_worker.ema import WeightAverage


class TrainingCancelled(Exception):
    """Raised when `should_stop()` returned True; nothing of the run should be registered."""

    def __init__(self, epoch: int) -> None:
        super().__init__(f"training cancelled during epoch {epoch}")
        self.epoch = epoch


def epoch_order(n: int, samples: int, gen: torch.Generator) -> torch.Tensor:
    """`samples` indices into n items: whole shuffled passes over the data, topped up with a
    random remainder (tiny labelled sets are resampled up to the epoch's size)."""
    return torch.cat(
        [torch.randperm(n, generator=gen) for _ in range(samples // n)]
        + [torch.randperm(n, generator=gen)[: samples % n]]
    )


def one_cycle(
    optimizer: torch.optim.Optimizer, learning_rate: float, total_steps: int
) -> torch.optim.lr_scheduler.OneCycleLR:
    """Warm-up over the first 15 % of the steps, cosine decay after."""
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=learning_rate,
        total_steps=total_steps,
        pct_start=0.15,
        anneal_strategy="cos",
    )


class Stepper:
    """One optimiser step: scaled backward (mixed precision on CUDA), scheduler, weight average;
    and the cancellation poll every `check_every` steps and at each epoch end."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        *,
        use_amp: bool,
        ema_decay: float,
        should_stop: Callable[[], bool] | None,
        check_every: int,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
        self.average = WeightAverage(model, ema_decay) if ema_decay > 0 else None
        self.should_stop = should_stop
        self.check_every = check_every
        self.steps = 0

    @property
    def evaluated(self) -> nn.Module:
        """What validation sees and what is returned: the averaged weights, when averaging."""
        return self.average.model if self.average is not None else self.model

    def step(self, loss: torch.Tensor, epoch: int) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.average is not None:
            self.average.update(self.model)
        self.steps += 1
        if self.steps % self.check_every == 0:
            self.poll(epoch)

    def poll(self, epoch: int) -> None:
        if self.should_stop is not None and self.should_stop():
            raise TrainingCancelled(epoch)


class EarlyStopping:
    """Keeps the best epoch's weights by a lower-is-better `value`, from epoch `first_candidate`
    on; `consider` says when `patience` epochs in a row brought no gain of more than 1e-4."""

    def __init__(self, patience: int, first_candidate: int) -> None:
        self.patience = patience
        self.first_candidate = first_candidate
        self.best_value = math.inf
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.waited = 0
        self.stopped_early = False

    def consider(self, epoch: int, value: float | None, evaluated: nn.Module) -> bool:
        """Record the epoch; True when training should stop now."""
        if value is None or epoch < self.first_candidate:
            return False
        if value < self.best_value - 1e-4:
            self.best_value, self.best_epoch, self.waited = value, epoch, 0
            self.best_state = copy.deepcopy(evaluated.state_dict())
            return False
        self.waited += 1
        self.stopped_early = self.waited >= self.patience
        return self.stopped_early

    def restore(self, model: nn.Module, stepper: Stepper, epochs_run: int) -> int:
        """Load the best epoch's weights (or, without one, the last averaged weights) into
        `model`, put it in eval mode; return the epoch whose weights it holds."""
        best_epoch = self.best_epoch
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
        else:
            best_epoch = epochs_run
            if stepper.average is not None:
                model.load_state_dict(stepper.average.model.state_dict())
        model.eval()
        return best_epoch
