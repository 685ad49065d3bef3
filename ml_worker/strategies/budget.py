"""A budget-aware default: representative picks while the labelled set is small, then uncertainty.

Uncertainty sampling loses to random below a few hundred labels (Hacohen et al. 2022, "Active
Learning on a Budget"; Chen et al. 2023 on MedMNIST; our PneumoniaMNIST runs, docs/learning.md):
a model trained on a few dozen labels is unsure about the wrong images, and its top-uncertain
items are outliers of one class. So the choice depends on how many labels each class has.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ml_worker.strategies.base import PoolData, register
from ml_worker.strategies.batch import ColdStart, Diversity


@register
class BudgetAware:
    """Until every class has `min_per_class` labels (or before any model exists): the `early`
    choice, random or typical-and-diverse (`cold_start` over the embeddings). From then on:
    `diversity` (the most uncertain candidates by `base`, spread over k-means clusters).

    Needs `PoolData.labeled_counts` once a model exists: the phase is a property of the labelled
    set, not of the pool.
    """

    name: ClassVar[str] = "budget_aware"

    def __init__(
        self,
        min_per_class: int = 50,
        early: str = "random",
        base: str = "entropy",
        batch_size: int = 10,
        candidates_factor: int = 5,
    ) -> None:
        if min_per_class < 0:
            raise ValueError("min_per_class must be >= 0")
        if early not in ("random", "typical"):
            raise ValueError("budget_aware early must be 'random' or 'typical'")
        self.min_per_class = min_per_class
        self.early = ColdStart(batch_size=batch_size, method=early)
        self.later = Diversity(
            base=base, batch_size=batch_size, candidates_factor=candidates_factor
        )

    def phase(self, pool: PoolData) -> str:
        """Which rule scores this pool: "early" or "uncertainty"."""
        if pool.probabilities is None:
            return "early"
        if pool.labeled_counts is None:
            raise ValueError("strategy 'budget_aware' needs labeled_counts (labels per class)")
        counts = np.asarray(pool.labeled_counts)
        if len(counts) < pool.probabilities.shape[1] or counts.min() < self.min_per_class:
            return "early"
        return "uncertainty"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if self.phase(pool) == "early":
            return self.early.score(pool, rng)
        return self.later.score(pool, rng)
