"""A generated classification set the learning loop can visibly learn from a few dozen labels.

Each 64x64 image is a chest-radiograph-like picture: a bright mediastinum between two dark lung
fields, patient-specific anatomy, and noise. Class "opacity" adds a soft bright blob inside one
lung; "clear" has none. The structure is visible to a doctor and learnable by the small CNN, and
the noise keeps it from being trivial. Pure numpy, seeded: the same call gives the same images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASS_NAMES = ("clear", "opacity")
SIZE = 64


@dataclass(frozen=True)
class GeneratedSet:
    images: np.ndarray  # (N, 64, 64) uint8
    labels: np.ndarray  # (N,) int, index into CLASS_NAMES
    patient_ids: list[str]
    class_names: tuple[str, ...] = CLASS_NAMES


def _lung_fields(
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """Soft masks of two lungs with this patient's size and position, and their ellipses."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    masks = np.zeros((SIZE, SIZE), np.float32)
    ellipses = []
    for side in (-1, 1):
        cx = SIZE / 2 + side * rng.uniform(11, 14)
        cy = SIZE / 2 + rng.uniform(-2, 3)
        rx, ry = rng.uniform(8, 10), rng.uniform(17, 21)
        distance = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
        masks += 1 / (1 + np.exp(np.clip((distance - 1) * 6, -30, 30)))  # soft edge
        ellipses.append((cx, cy, rx, ry))
    return np.clip(masks, 0, 1), ellipses


def _image(
    rng: np.random.Generator, anatomy: tuple[np.ndarray, list, float], opacity: bool
) -> np.ndarray:
    lungs, ellipses, brightness = anatomy
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    picture = brightness - 85 * lungs + 25 * np.exp(-(((xx - SIZE / 2) / 7) ** 2))
    if opacity:
        cx, cy, rx, ry = ellipses[int(rng.integers(2))]
        angle, reach = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.6)
        bx, by = cx + reach * rx * np.cos(angle), cy + reach * ry * np.sin(angle)
        radius = rng.uniform(3.5, 6.5)
        picture += rng.uniform(55, 80) * np.exp(
            -((xx - bx) ** 2 + (yy - by) ** 2) / (2 * radius**2)
        )
    picture += rng.normal(0, 11, picture.shape)
    return np.clip(picture, 0, 255).astype(np.uint8)


def generate_opacity_images(
    count: int = 400, patients: int = 40, positive_rate: float = 0.4, seed: int = 20251124
) -> GeneratedSet:
    rng = np.random.default_rng(seed)
    per_patient = -(-count // patients)
    images, labels, patient_ids = [], [], []
    for index in range(count):
        patient = index // per_patient
        if index % per_patient == 0:
            lungs, ellipses = _lung_fields(rng)
            anatomy = (lungs, ellipses, float(rng.uniform(150, 185)))
        label = int(rng.random() < positive_rate)
        images.append(_image(rng, anatomy, bool(label)))
        labels.append(label)
        patient_ids.append(f"DEMO-{patient + 1:03d}")
    return GeneratedSet(np.stack(images), np.asarray(labels, dtype=np.int64), patient_ids)
