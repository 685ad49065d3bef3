"""Per-item uncertainty strategies: random, least confidence, margin, entropy, MC-dropout BALD.

For two classes least confidence, margin and entropy give the same ranking (all are monotone in
|p - 0.5|); they differ from three classes on.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ml_worker.strategies.base import PoolData, register

_EPS = 1e-12


def entropy_of(probabilities: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy (nats) along `axis`."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), _EPS, 1.0)
    return np.asarray(-(p * np.log(p)).sum(axis=axis))


@register
class RandomStrategy:
    """Uniform random order: the baseline every other strategy must beat."""

    name: ClassVar[str] = "random"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        return rng.random(pool.size)


@register
class LeastConfidence:
    """1 - max_k p_k: the model's least sure top prediction first."""

    name: ClassVar[str] = "least_confidence"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(1.0 - pool.require_probabilities(self.name).max(axis=1))


@register
class Margin:
    """1 - (p_first - p_second): the smallest gap between the two likeliest classes first."""

    name: ClassVar[str] = "margin"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        p = np.sort(pool.require_probabilities(self.name), axis=1)
        return np.asarray(1.0 - (p[:, -1] - p[:, -2]))


@register
class Entropy:
    """Predictive entropy -sum p log p."""

    name: ClassVar[str] = "entropy"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        return entropy_of(pool.require_probabilities(self.name))


@register
class BALD:
    """Mutual information between prediction and weights (Houlsby et al. 2011), from MC dropout:
    H(mean_t p_t) - mean_t H(p_t). High when the dropout samples disagree with each other,
    not merely when each of them is unsure."""

    name: ClassVar[str] = "bald"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if pool.mc_probabilities is None or pool.mc_probabilities.shape[0] < 2:
            raise ValueError("strategy 'bald' needs at least 2 MC-dropout samples (mc_passes >= 2)")
        samples = np.asarray(pool.mc_probabilities, dtype=np.float64)  # (T, N, K)
        return np.asarray(entropy_of(samples.mean(axis=0)) - entropy_of(samples).mean(axis=0))
