"""The weight average follows the warmed-up EMA rule, for parameters and batch-norm statistics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ml_worker.ema import WeightAverage


def test_first_updates_follow_the_warm_up_then_the_configured_decay() -> None:
    live = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        live.weight.fill_(0.0)
    average = WeightAverage(live, decay=0.5)
    with torch.no_grad():
        live.weight.fill_(1.0)
    average.update(live)  # warm-up decay min(0.5, 2 / 11)
    expected = 9 / 11
    assert average.model.weight.item() == pytest.approx(expected)
    for _ in range(20):  # (1 + t) / (10 + t) passes 0.5 at t = 8: from then on 0.5
        average.update(live)
    assert average.model.weight.item() == pytest.approx(1.0, abs=1e-4)
    assert not average.model.weight.requires_grad


def test_batch_norm_statistics_are_averaged_and_counters_copied() -> None:
    live = nn.BatchNorm1d(2)
    average = WeightAverage(live, decay=0.9)
    live.train()
    live(torch.tensor([[10.0, 0.0], [12.0, 2.0]]))  # running_mean moves to (1.1, 0.1)
    average.update(live)
    decay = 2 / 11
    assert average.model.running_mean.tolist() == pytest.approx(  # type: ignore[union-attr]
        [(1 - decay) * 1.1, (1 - decay) * 0.1]
    )
    assert int(average.model.num_batches_tracked) == 1  # type: ignore[arg-type]


def test_a_decay_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(nn.Linear(1, 1), decay=1.0)
