"""The Strategy contract: a name and one method turning pool arrays into acquisition scores.

Scores are "higher = ask a doctor sooner"; the queue serves items in descending score order, so a
strategy that builds a batch (diversity, cold start) encodes its chosen order in the scores.
Strategies are registered by name and built with `get_strategy(name, **options)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np

from learning.strategy_names import STRATEGY_NAMES


@dataclass(frozen=True)
class PoolData:
    """What a strategy sees about the N unlabelled items (all arrays share the item order).

    probabilities: (N, K) calibrated class probabilities (None before any model exists).
    embeddings: (N, D) model (or pixel) features for diversity and typicality.
    mc_probabilities: (T, N, K) MC-dropout samples for BALD.
    labeled_embeddings: (L, D) features of already-labelled items (core-set distances).
    labeled_counts: (K,) how many items of each class doctors have labelled so far (segmentation:
        how many labelled images contain each foreground class).
    pixel_probabilities: (N, K+1, H, W) per-pixel class probabilities (segmentation; channel 0 is
        background).
    pixel_samples: (S, N, K+1, H, W) stochastic or test-time-augmented pixel probabilities.
    box_scores: per image, the (M,) scores of the detector's boxes (detection).
    boxes: per image, the (M, 4) boxes (x0, y0, x1, y1) those scores belong to.
    flipped_boxes, flipped_scores: the same from the left-right flipped image, mirrored back.
    """

    probabilities: np.ndarray | None = None
    embeddings: np.ndarray | None = None
    mc_probabilities: np.ndarray | None = None
    labeled_embeddings: np.ndarray | None = None
    labeled_counts: np.ndarray | None = None
    pixel_probabilities: np.ndarray | None = None
    pixel_samples: np.ndarray | None = None
    box_scores: Sequence[np.ndarray] | None = None
    boxes: Sequence[np.ndarray] | None = None
    flipped_boxes: Sequence[np.ndarray] | None = None
    flipped_scores: Sequence[np.ndarray] | None = None

    @property
    def size(self) -> int:
        for array in (self.probabilities, self.embeddings, self.pixel_probabilities):
            if array is not None:
                return int(array.shape[0])
        for samples in (self.mc_probabilities, self.pixel_samples):
            if samples is not None:
                return int(samples.shape[1])
        if self.box_scores is not None:
            return len(self.box_scores)
        raise ValueError("PoolData holds no arrays")

    def require_probabilities(self, who: str) -> np.ndarray:
        if self.probabilities is None:
            raise ValueError(f"strategy {who!r} needs class probabilities (train a model first)")
        return np.asarray(self.probabilities, dtype=np.float64)


@runtime_checkable
class Strategy(Protocol):
    """A selection strategy: `score` returns one float per pool item, higher = sooner."""

    name: ClassVar[str]

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray: ...


S = TypeVar("S")
_REGISTRY: dict[str, Callable[..., Strategy]] = {}


def register(cls: type[S]) -> type[S]:
    """Class decorator: make a strategy available under its `name`."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} needs a non-empty class attribute `name`")
    if name in _REGISTRY:
        raise ValueError(f"strategy {name!r} is already registered")
    if name not in STRATEGY_NAMES:
        # The web validates projects against learning.strategy_names: a strategy it does not
        # know could never be chosen.
        raise ValueError(f"strategy {name!r} is not listed in learning.strategy_names")
    _REGISTRY[name] = cls  # type: ignore[assignment]
    return cls


def get_strategy(name: str, **options: Any) -> Strategy:
    """Instantiate the strategy registered as `name` with its options (e.g. batch_size)."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {sorted(_REGISTRY)}") from None
    return factory(**options)


def strategy_names() -> list[str]:
    return sorted(_REGISTRY)


def ranking(scores: np.ndarray) -> np.ndarray:
    """Item indices in serving order: descending score, ties by index (stable)."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def scores_from_order(order: np.ndarray, n: int) -> np.ndarray:
    """Scores that reproduce `order` (indices, best first) under `ranking`; unlisted items last."""
    scores = np.full(n, -1.0)
    scores[np.asarray(order, dtype=np.int64)] = np.arange(len(order), 0, -1, dtype=np.float64)
    return scores


def select(strategy: Strategy, pool: PoolData, k: int, seed: int = 0) -> np.ndarray:
    """The first `k` item indices `strategy` would serve."""
    return ranking(strategy.score(pool, np.random.default_rng(seed)))[:k]
