"""A generated segmentation set whose lesions are known: bright ellipses on a noisy background.

Each square image is a smooth, patient-specific background with speckle-like noise; most hold one
lesion (an ellipse of random size, shape, angle and brightness with a soft rim), a share hold
none. The lesion's outline is returned as a polygon in image pixel coordinates (x = column,
y = row, the annotation payload's convention), so tests can store it as a doctor's polygon and
the demo knows where every lesion is. Pure numpy, seeded, cheap: 200 images in well under a
second, so `make run` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASS_NAMES = ("lesion",)
OUTLINE_VERTICES = 32


@dataclass(frozen=True)
class LesionSet:
    images: np.ndarray  # (N, size, size) uint8
    outlines: list[list[list[float]] | None]  # per image: polygon [[x, y], ...] or None
    patient_ids: list[str]
    class_names: tuple[str, ...] = CLASS_NAMES


def _outline(cx: float, cy: float, rx: float, ry: float, angle: float) -> list[list[float]]:
    t = np.linspace(0, 2 * np.pi, OUTLINE_VERTICES, endpoint=False)
    x = cx + rx * np.cos(t) * np.cos(angle) - ry * np.sin(t) * np.sin(angle)
    y = cy + rx * np.cos(t) * np.sin(angle) + ry * np.sin(t) * np.cos(angle)
    return [[round(float(a), 2), round(float(b), 2)] for a, b in zip(x, y, strict=True)]


def generate_lesion_images(
    count: int = 200, size: int = 64, seed: int = 11, empty_share: float = 0.2
) -> LesionSet:
    """`count` images, two per patient; about `empty_share` of them without a lesion."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5  # pixel centres
    images = np.zeros((count, size, size), np.uint8)
    outlines: list[list[list[float]] | None] = []
    for i in range(count):
        gx, gy = rng.uniform(-1, 1, 2)
        picture = rng.uniform(50, 80) + 15 * (gx * (xx / size - 0.5) + gy * (yy / size - 0.5))
        if rng.random() < empty_share:
            outlines.append(None)
        else:
            rx, ry = rng.uniform(0.08, 0.18, 2) * size
            margin = max(rx, ry) + 2
            cx, cy = rng.uniform(margin, size - margin, 2)
            angle = float(rng.uniform(0, np.pi))
            # Distance in the ellipse's own frame: < 1 inside; a soft rim about one pixel wide.
            dx, dy = xx - cx, yy - cy
            u = (dx * np.cos(angle) + dy * np.sin(angle)) / rx
            v = (-dx * np.sin(angle) + dy * np.cos(angle)) / ry
            inside = 1 / (1 + np.exp(np.clip((np.sqrt(u * u + v * v) - 1) * 12, -30, 30)))
            picture = picture + rng.uniform(60, 100) * inside
            outlines.append(_outline(cx, cy, rx, ry, angle))
        picture = picture + rng.normal(0, 14, picture.shape)
        images[i] = np.clip(picture, 0, 255).astype(np.uint8)
    return LesionSet(
        images=images,
        outlines=outlines,
        patient_ids=[f"LESION-{seed}-{i // 2:04d}" for i in range(count)],
    )
