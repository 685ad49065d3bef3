"""TypiClust (Hacohen, Dekel & Weinshall, "Active Learning on a Budget", ICML 2022).

At a low budget the most informative images are the typical ones of regions no label covers yet.
Cluster the pool's (self-supervised) embeddings together with the labelled ones into
`labelled + budget` groups with k-means; then, repeatedly, take the group with the fewest labels
(the largest first among equals) and pick its most typical unpicked image: the inverse of the
mean distance to its k = 20 nearest neighbours within the group. Groups smaller than
`min_cluster_size` (outliers, a few odd scans) come last, so an outlier is never an early pick.

A pure function over arrays (`typiclust_order`), and the strategy "typiclust" around it.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ml_worker.strategies.base import PoolData, register, scores_from_order
from ml_worker.strategies.batch import typicality
from ml_worker.strategies.clustering import kmeans, squared_distances


def kmeans_restarts(x: np.ndarray, k: int, rng: np.random.Generator, restarts: int) -> np.ndarray:
    """The k-means assignment with the lowest inertia over `restarts` seeded runs.

    k-means++ seeding draws far points on purpose, so one run can spend a centre on an outlier
    and merge two real groups; the restart with the lowest within-group spread avoids that."""
    best: np.ndarray | None = None
    best_inertia = np.inf
    for _ in range(max(1, restarts)):
        assign = kmeans(x, k, rng)
        inertia = 0.0
        for c in np.unique(assign):
            members = x[assign == c]
            inertia += float(squared_distances(members, members.mean(axis=0)[None]).sum())
        if inertia < best_inertia:
            best, best_inertia = assign, inertia
    assert best is not None
    return best


def _clusters_without_outliers(
    x: np.ndarray, k: int, rng: np.random.Generator, restarts: int, min_size: int
) -> np.ndarray:
    """k-means into k groups, where a group of fewer than `min_size` points is not a region:
    its points are set aside (they join their nearest group afterwards, as its least typical
    members) and the rest is clustered again into k groups, at most 5 times.

    Far outliers pull a centre each under k-means' squared loss; left in, they would take a
    group of the budget's k and merge two real regions into one (a deviation from the paper,
    decision 0411)."""
    kept = np.arange(len(x))
    for attempt in range(5):
        assign = kmeans_restarts(x[kept], k, rng, restarts)
        sizes = np.bincount(assign, minlength=k)
        small = sizes[assign] < min_size
        if not small.any() or (~small).sum() < k * min_size or attempt == 4:
            break  # `assign` is the clustering of x[kept]
        kept = kept[~small]
    centres = np.stack([x[kept][assign == c].mean(axis=0) for c in np.unique(assign)])
    labels = np.unique(assign)
    return labels[squared_distances(x, centres).argmin(axis=1)]


def typiclust_order(
    embeddings: np.ndarray,
    labeled_embeddings: np.ndarray | None,
    budget: int,
    rng: np.random.Generator,
    *,
    neighbours: int = 20,
    min_cluster_size: int = 5,
    restarts: int = 5,
) -> np.ndarray:
    """Every pool index (rows of `embeddings`) in TypiClust's serving order.

    The first `budget` are TypiClust's picks for a batch of that size; the rest continue the same
    rule (least-covered group next), so the queue keeps going typical-and-spread."""
    pool = np.asarray(embeddings, dtype=np.float64)
    n = len(pool)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    labelled = (
        np.zeros((0, pool.shape[1]))
        if labeled_embeddings is None
        else np.asarray(labeled_embeddings, dtype=np.float64).reshape(-1, pool.shape[1])
    )
    x = np.concatenate([labelled, pool])
    k = max(1, min(len(labelled) + max(1, budget), len(x)))
    clusters = _clusters_without_outliers(x, k, rng, restarts, min_cluster_size)
    labelled_clusters, pool_clusters = clusters[: len(labelled)], clusters[len(labelled) :]
    covered = np.bincount(labelled_clusters, minlength=k).astype(np.int64)
    sizes = np.bincount(clusters, minlength=k)
    queues: dict[int, list[int]] = {}
    for c in range(k):
        members = np.flatnonzero(pool_clusters == c)
        if len(members) == 0:
            continue
        # Typicality among the whole group (labelled members too): what is typical of the region.
        group = np.concatenate([labelled[labelled_clusters == c], pool[members]])
        typical = typicality(group, neighbours)[len(group) - len(members) :]
        queues[c] = members[np.argsort(-typical, kind="stable")].tolist()
    order: list[int] = []
    depth = dict.fromkeys(queues, 0)
    while len(order) < n:
        open_ = [c for c in queues if depth[c] < len(queues[c])]
        large = [c for c in open_ if sizes[c] >= min_cluster_size] or open_
        # Fewest labels first, then the largest group, then the lowest index (deterministic).
        chosen = min(large, key=lambda c: (covered[c], -sizes[c], c))
        order.append(queues[chosen][depth[chosen]])
        depth[chosen] += 1
        covered[chosen] += 1
    return np.asarray(order, dtype=np.int64)


@register
class TypiClust:
    """Typical images of the regions labels do not cover yet (TypiClust), for the cold start and
    low budgets; `batch_size` is the budget of one round."""

    name: ClassVar[str] = "typiclust"

    def __init__(
        self, batch_size: int = 10, neighbours: int = 20, min_cluster_size: int = 5
    ) -> None:
        if batch_size < 1 or neighbours < 1 or min_cluster_size < 1:
            raise ValueError("batch_size, neighbours and min_cluster_size must be >= 1")
        self.batch_size = batch_size
        self.neighbours = neighbours
        self.min_cluster_size = min_cluster_size

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if pool.embeddings is None:
            raise ValueError("strategy 'typiclust' needs embeddings")
        order = typiclust_order(
            pool.embeddings,
            pool.labeled_embeddings,
            self.batch_size,
            rng,
            neighbours=self.neighbours,
            min_cluster_size=self.min_cluster_size,
        )
        return scores_from_order(order, pool.size)
