"""Batch-aware strategies over embeddings: diversity among top candidates, and cold start.

Top-k by uncertainty hands several doctors near-duplicate images; clustering the top candidates
and serving them round-robin across clusters spreads each batch (active-learning notes §4).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ml_worker.strategies.base import PoolData, get_strategy, ranking, register, scores_from_order
from ml_worker.strategies.clustering import k_center_greedy, kmeans, squared_distances


def round_robin(clusters: np.ndarray, priority: np.ndarray, by_size: bool = False) -> np.ndarray:
    """Positions ordered one per cluster at a time: each cluster's members by descending priority,
    clusters by their best member's priority, or by size when `by_size` (so consecutive picks come
    from different clusters)."""
    groups: list[list[int]] = []
    for c in np.unique(clusters):
        members = np.flatnonzero(clusters == c)
        groups.append(members[np.argsort(-priority[members], kind="stable")].tolist())
    if by_size:
        groups.sort(key=lambda g: -len(g))
    else:
        groups.sort(key=lambda g: -priority[g[0]])
    order: list[int] = []
    depth = 0
    while len(order) < len(clusters):
        for group in groups:
            if depth < len(group):
                order.append(group[depth])
        depth += 1
    return np.asarray(order, dtype=np.int64)


@register
class Diversity:
    """Uncertainty first, then spread: take the `candidates_factor * batch_size` most uncertain
    items (by `base`), cluster their embeddings into `batch_size` groups (k-means) or order them by
    core-set (k-center greedy), and serve them so every run of `batch_size` consecutive items comes
    from distinct groups. Items outside the candidates follow in base-score order."""

    name: ClassVar[str] = "diversity"

    def __init__(
        self,
        base: str = "entropy",
        batch_size: int = 10,
        candidates_factor: int = 5,
        method: str = "kmeans",
    ) -> None:
        if method not in ("kmeans", "coreset"):
            raise ValueError("diversity method must be 'kmeans' or 'coreset'")
        if batch_size < 1 or candidates_factor < 1:
            raise ValueError("batch_size and candidates_factor must be >= 1")
        self.base = get_strategy(base)
        self.batch_size = batch_size
        self.candidates_factor = candidates_factor
        self.method = method

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if pool.embeddings is None:
            raise ValueError("strategy 'diversity' needs embeddings")
        n = pool.size
        base = np.asarray(self.base.score(pool, rng), dtype=np.float64)
        by_base = ranking(base)
        candidates = by_base[: min(n, self.batch_size * self.candidates_factor)]
        emb = np.asarray(pool.embeddings, dtype=np.float64)[candidates]
        if self.method == "kmeans":
            clusters = kmeans(emb, self.batch_size, rng)
            local = round_robin(clusters, base[candidates])
        else:
            start = None
            if pool.labeled_embeddings is not None and len(pool.labeled_embeddings):
                start = squared_distances(
                    emb, np.asarray(pool.labeled_embeddings, dtype=np.float64)
                ).min(axis=1)
            local = k_center_greedy(emb, len(candidates), start, first=0)
        order = np.concatenate([candidates[local], by_base[len(candidates) :]])
        return scores_from_order(order, n)


def typicality(x: np.ndarray, neighbours: int = 20) -> np.ndarray:
    """TypiClust typicality (Hacohen et al. 2022): 1 / mean distance to the k nearest neighbours."""
    n = len(x)
    if n == 1:
        return np.ones(1)
    k = min(neighbours, n - 1)
    result = np.empty(n)
    for start in range(0, n, 1024):
        d = np.sqrt(squared_distances(x[start : start + 1024], x))
        nearest = np.partition(d, k, axis=1)[:, 1 : k + 1]  # column 0 holds the point itself
        result[start : start + 1024] = 1.0 / (nearest.mean(axis=1) + 1e-12)
    return result


@register
class ColdStart:
    """The first batch, before any model: typical and diverse (cluster the embeddings into
    `batch_size` groups, serve each group's most typical item round-robin, largest groups first),
    or plain random when `method="random"` or no embeddings exist."""

    name: ClassVar[str] = "cold_start"

    def __init__(self, batch_size: int = 10, method: str = "typical", neighbours: int = 20) -> None:
        if method not in ("typical", "random"):
            raise ValueError("cold_start method must be 'typical' or 'random'")
        self.batch_size = max(1, batch_size)
        self.method = method
        self.neighbours = neighbours

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        n = pool.size
        if self.method == "random" or pool.embeddings is None:
            return rng.random(n)
        x = np.asarray(pool.embeddings, dtype=np.float64)
        clusters = kmeans(x, self.batch_size, rng)
        typical = np.zeros(n)
        for c in np.unique(clusters):
            members = np.flatnonzero(clusters == c)
            typical[members] = typicality(x[members], self.neighbours)
        return scores_from_order(round_robin(clusters, typical, by_size=True), n)
