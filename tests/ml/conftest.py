"""Tiny synthetic image sets for the pure ML tests (fixed seeds, CPU, a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest


def bright_square_images(n: int, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noise images; class 1 carries a bright square at a random place. (N, 1, S, S) in [0, 1]."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.0, 0.4, (n, 1, size, size)).astype(np.float32)
    labels = (np.arange(n) % 2).astype(np.int64)
    rng.shuffle(labels)
    for i in np.flatnonzero(labels == 1):
        r, c = rng.integers(2, size - 7, 2)
        images[i, 0, r : r + 5, c : c + 5] = rng.uniform(0.8, 1.0)
    return images, labels


@pytest.fixture
def squares() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    train_x, train_y = bright_square_images(96, seed=0)
    test_x, test_y = bright_square_images(64, seed=1)
    return train_x, train_y, test_x, test_y
