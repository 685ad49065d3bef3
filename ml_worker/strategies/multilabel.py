"""Uncertainty over several independent labels (a multi-label project's sigmoid outputs).

The single-label strategies read a probability vector that sums to one; a multi-label model gives
one yes/no probability per label instead, so uncertainty is taken per label and averaged:
- ml_entropy: the mean binary entropy over the labels;
- ml_bald: BALD per label from MC-dropout samples, H(mean_t p_t) - mean_t H(p_t) of each label's
  Bernoulli, averaged over the labels.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ml_worker.strategies.base import PoolData, register

_EPS = 1e-12


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Element-wise entropy (nats) of Bernoulli(p)."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    out: np.ndarray = -(q * np.log(q) + (1.0 - q) * np.log(1.0 - q))
    return out


@register
class MeanBinaryEntropy:
    """Mean over labels of each label's binary entropy: items where several labels sit near 0.5
    come first; an item sure of every label (present or absent) comes last."""

    name: ClassVar[str] = "ml_entropy"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(binary_entropy(pool.require_probabilities(self.name)).mean(axis=1))


@register
class LabelBALD:
    """BALD per label (Houlsby et al. 2011), averaged: high where the dropout samples disagree
    about a label, not merely where each sample is unsure of it."""

    name: ClassVar[str] = "ml_bald"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if pool.mc_probabilities is None or pool.mc_probabilities.shape[0] < 2:
            raise ValueError(
                "strategy 'ml_bald' needs at least 2 MC-dropout samples (mc_passes >= 2)"
            )
        samples = np.asarray(pool.mc_probabilities, dtype=np.float64)  # (T, N, L) sigmoid
        per_label = binary_entropy(samples.mean(axis=0)) - binary_entropy(samples).mean(axis=0)
        return np.asarray(per_label.mean(axis=1))
