"""The `semi` arm modifier of bench/active_learning.py: the round's supervised run also learns
from the unlabelled pool (ml_worker.training.SemiConfig, decision 0420), as a project with
semi-supervised training switched on does.

An arm `<strategy>+semi` trains every round with the product's default semi-supervised settings
on up to `max_unlabeled` pool images nobody has labelled yet (a seeded subset when the pool is
larger), never the val or test split.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from ml_worker.training import SemiConfig, TrainConfig

NAME = "semi"
HELP = "semi-supervised training on the unlabelled pool (pseudo-labels, decision 0420)"


def settings() -> SemiConfig:
    """The product's defaults; RADLOOP_BENCH_SEMI_MIN_STEPS shortens the schedule (the tests'
    tiny runs), RADLOOP_BENCH_SEMI_ALIGNMENT=1 switches distribution alignment on (decision
    0425: off in the product); both recorded in the run's inputs."""
    steps = os.environ.get("RADLOOP_BENCH_SEMI_MIN_STEPS")
    config = SemiConfig() if steps is None else SemiConfig(min_steps=int(steps))
    if os.environ.get("RADLOOP_BENCH_SEMI_ALIGNMENT") == "1":
        config = replace(config, distribution_alignment=True)
    return config


def configure(config: TrainConfig) -> TrainConfig:
    """The round's training configuration with semi-supervised learning on."""
    return replace(config, semi=settings())


def unlabeled_images(
    pool_images: np.ndarray, labeled: np.ndarray, seed: int, max_unlabeled: int | None = None
) -> np.ndarray:
    """The pool images not yet labelled, at most `max_unlabeled` (default: SemiConfig's), a
    subset seeded by (seed, labelled count) when there are more."""
    limit = SemiConfig().max_unlabeled if max_unlabeled is None else max_unlabeled
    rest = np.setdiff1d(np.arange(len(pool_images)), labeled)
    if len(rest) > limit:
        rng = np.random.default_rng([seed, len(labeled), 7])
        rest = np.sort(rng.choice(rest, size=limit, replace=False))
    return pool_images[rest]
