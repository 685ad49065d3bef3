"""Small seeded numpy clustering helpers (k-means++, k-center greedy) for the batch strategies."""

from __future__ import annotations

import numpy as np


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) squared Euclidean distances, clipped at 0."""
    a2 = (a * a).sum(axis=1)[:, None]
    b2 = (b * b).sum(axis=1)[None, :]
    distances: np.ndarray = np.maximum(a2 + b2 - 2.0 * a @ b.T, 0.0)
    return distances


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 30) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; returns a cluster index per row (k <= len(x))."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    k = max(1, min(k, n))
    centers = [x[int(rng.integers(n))]]
    closest = squared_distances(x, centers[0][None])[:, 0]
    for _ in range(1, k):
        total = closest.sum()
        # With fewer distinct points than k, total is 0: reuse a random point.
        index = int(rng.integers(n)) if total <= 0 else int(rng.choice(n, p=closest / total))
        centers.append(x[index])
        closest = np.minimum(closest, squared_distances(x, x[index][None])[:, 0])
    c = np.stack(centers)
    assign = np.zeros(n, dtype=np.int64)
    for step in range(iterations):
        new_assign = squared_distances(x, c).argmin(axis=1)
        if step > 0 and np.array_equal(new_assign, assign):
            break
        assign = new_assign
        for j in range(k):
            members = x[assign == j]
            if len(members):
                c[j] = members.mean(axis=0)
    return assign


def k_center_greedy(
    x: np.ndarray, count: int, start_distances: np.ndarray | None, first: int
) -> np.ndarray:
    """Core-set order (Sener & Savarese 2018): repeatedly take the point farthest from those chosen.

    `start_distances` are squared distances to already-labelled points (None: start at `first`).
    """
    x = np.asarray(x, dtype=np.float64)
    count = min(count, len(x))
    if start_distances is None:
        order = [first]
        nearest = squared_distances(x, x[first][None])[:, 0]
    else:
        order = []
        nearest = np.asarray(start_distances, dtype=np.float64).copy()
    while len(order) < count:
        nearest_masked = nearest.copy()
        nearest_masked[order] = -1.0
        pick = int(nearest_masked.argmax())
        order.append(pick)
        nearest = np.minimum(nearest, squared_distances(x, x[pick][None])[:, 0])
    return np.asarray(order, dtype=np.int64)
