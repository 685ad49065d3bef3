"""Early stopping of the epoch loop shared by segmentation and detection (decision 0358): counted
in optimiser steps as well as epochs, so a small labelled set (few steps per epoch) is not cut
short, while a large one still stops by its patience in epochs."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from ml_worker.epoch_loop import LoopConfig, patience_epochs, run_epochs, warm_schedule


def _run(n_train: int, scores: list[float], **overrides: Any) -> tuple[Any, nn.Module]:
    """Train a real linear model on a real regression loss; the validation score of epoch e is
    scores[e - 1] (the validation curve under test), and the score hook also records which
    weights were validated at each epoch, so the restored weights can be checked."""
    torch.manual_seed(0)
    x = torch.randn(n_train, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0])
    model = nn.Linear(4, 1)
    cfg = LoopConfig(
        **{"max_epochs": 30, "batch_size": 16, "min_samples_per_epoch": 160, "seed": 0,
           "amp": False, "ema_decay": 0.0, **overrides}
    )  # fmt: skip
    validated: list[torch.Tensor] = []

    def batch_loss(index: torch.Tensor) -> torch.Tensor:
        return ((model(x[index]).squeeze(1) - y[index]) ** 2).mean()

    def validate(evaluated: nn.Module) -> tuple[float | None, float | None]:
        validated.append(next(evaluated.parameters()).detach().clone())
        return None, scores[len(validated) - 1]

    outcome = run_epochs(
        model, cfg, n_train, torch.Generator().manual_seed(0), False, batch_loss, validate,
        lambda epoch, *_: epoch, None, None,
    )  # fmt: skip
    best = validated[outcome.best_epoch - 1]
    assert torch.equal(next(model.parameters()).detach(), best)  # the best epoch is restored
    return outcome, model


def test_a_small_labelled_set_is_not_stopped_before_the_minimum_steps() -> None:
    # 40 labels: 160 resampled samples = 10 steps per epoch, 300 in the run. The validation score
    # is flat from the first candidate epoch (12) and improves late (epoch 24), as a small run's
    # does once its one-cycle learning rate has decayed. The epoch rule alone (patience 4 = 40
    # steps) stopped at epoch 16 and kept epoch 12.
    scores = [0.1 * e for e in range(1, 13)] + [1.2] * 11 + [2.0] * 7
    outcome, _ = _run(40, scores)
    assert len(outcome.history) == 30 and not outcome.stopped_early
    assert outcome.best_epoch == 24
    old, _ = _run(40, scores, patience_steps=0, stop_min_steps=0)  # the rule before 0358
    assert old.stopped_early and len(old.history) == 16 and old.best_epoch == 12


def test_a_large_labelled_set_still_stops_by_patience_in_epochs() -> None:
    # 800 labels: 50 steps per epoch, so 4 epochs of patience are 200 steps (> patience_steps)
    # and the first candidate epoch is past stop_min_steps: the run stops as before 0358.
    scores = [0.1 * e for e in range(1, 13)] + [1.2] * 18
    outcome, _ = _run(800, scores)
    assert outcome.stopped_early and len(outcome.history) == 16 and outcome.best_epoch == 12
    old, _ = _run(800, scores, patience_steps=0, stop_min_steps=0)
    assert len(old.history) == len(outcome.history)


def test_patience_in_steps_is_whole_epochs_and_warm_runs_keep_their_rule() -> None:
    cfg = LoopConfig(patience=4, patience_steps=100)
    assert [patience_epochs(cfg, s) for s in (10, 15, 25, 50)] == [10, 7, 4, 4]
    warm = warm_schedule(cfg)
    assert (warm.patience, warm.patience_steps, warm.stop_min_steps) == (1, 0, 0)
    for bad in ({"patience": 0}, {"patience_steps": -1}, {"stop_min_steps": -1}):
        with pytest.raises(ValueError):
            LoopConfig(**bad)  # type: ignore[arg-type]
