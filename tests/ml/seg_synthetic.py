"""Synthetic segmentation data in the standard npz layout (data/segmentation/busbra/README.md):
bright discs and squares of several classes on noise, many objects per image, empty images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage


def synthetic_split(
    n: int,
    size: int,
    classes: int,
    seed: int,
    empty_share: float = 0.25,
    max_objects: int = 3,
    radius: tuple[float, float] = (0.1, 0.2),
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.normal(60, 20, (n, size, size))
    masks = np.zeros((n, size, size), dtype=np.uint8)
    ys, xs = np.mgrid[0:size, 0:size]
    for i in range(n):
        if rng.random() < empty_share:
            continue
        for _ in range(int(rng.integers(1, max_objects + 1))):
            k = int(rng.integers(1, classes + 1))
            r = rng.uniform(size * radius[0], size * radius[1])
            cy, cx = rng.uniform(r + 1, size - r - 1, 2)
            if k % 2:  # odd classes are discs, even classes squares, brighter by class
                shape = (ys - cy) ** 2 + (xs - cx) ** 2 <= r * r
            else:
                shape = (np.abs(ys - cy) <= r) & (np.abs(xs - cx) <= r)
            masks[i][shape] = k
            images[i][shape] = 120 + 50 * k + rng.normal(0, 15, int(shape.sum()))
    instances = np.zeros((n, size, size), dtype=np.uint16)
    for i in range(n):
        instances[i] = ndimage.label(masks[i] > 0)[0]
    return {
        "images": np.clip(images, 0, 255).astype(np.uint8),
        "masks": masks,
        "instances": instances,
        "cases": np.array([f"p{seed}_{i // 2}" for i in range(n)]),
        "ids": np.array([f"img{seed}_{i}" for i in range(n)]),
    }


def write_synthetic_npz(
    path: Path,
    classes: int = 2,
    size: int = 32,
    sizes: tuple[int, int, int] = (60, 24, 24),
    max_objects: int = 3,
    radius: tuple[float, float] = (0.1, 0.2),
) -> Path:
    arrays: dict[str, np.ndarray] = {
        "class_names": np.array([f"kind{k}" for k in range(1, classes + 1)])
    }
    for split, n, seed in zip(("train", "val", "test"), sizes, (1, 2, 3), strict=True):
        split_arrays = synthetic_split(
            n, size, classes, seed, max_objects=max_objects, radius=radius
        )
        for key, value in split_arrays.items():
            arrays[f"{split}_{key}"] = value
    np.savez_compressed(path, **arrays)
    return path
