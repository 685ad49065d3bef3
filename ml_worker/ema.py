"""Exponential moving average of a network's weights (Polyak averaging), for evaluation.

A small CNN trained on a few dozen labels swings between epochs: validation loss jumps while the
ranking barely moves, so early stopping picks an accident and the stored confidence is noisy. The
average of the recent weights is a smoother model (Polyak & Juditsky 1992; Izmailov et al. 2018,
"Averaging Weights Leads to Wider Optima"); batch-norm statistics are averaged the same way.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """Keeps `model`'s averaged copy: after each optimiser step, `update(model)`.

    The decay warms up as min(decay, (1 + t) / (10 + t)) so that a run of a few dozen steps is
    not dominated by its random initialisation (the TensorFlow ExponentialMovingAverage rule).
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError("decay must be in (0, 1)")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, exact: frozenset[str] = frozenset()) -> None:
        """`exact`: names copied rather than averaged (a frozen backbone's: the average of a
        constant is the constant only up to rounding, and frozen must mean unchanged)."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        live = model.state_dict()
        for name, averaged in self.model.state_dict().items():
            value = live[name].detach()
            if name in exact:
                averaged.copy_(value)
            elif averaged.dtype.is_floating_point:
                averaged.mul_(decay).add_(value.to(averaged.dtype), alpha=1.0 - decay)
            else:  # counters such as BatchNorm's num_batches_tracked
                averaged.copy_(value)
