"""Semi-supervised training (decision 0420): on a toy problem whose unlabelled images reveal the
class structure (two moons drawn as a bright spot on a 16-pixel image), three labels per class
and the unlabelled pool beat the same three labels alone by a wide margin, fixed seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml_worker.augment import strong_augment_batch
from ml_worker.inference import predict
from ml_worker.models import ModelSpec, build_model
from ml_worker.training import SemiConfig, TrainConfig, train_classifier

SIDE = 16


def moons_images(n: int, seed: int, noise: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-circles (scikit-learn's two moons), each point drawn as a Gaussian
    spot at its position: no straight line separates the classes, the moons' shape does."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    y = rng.integers(0, 2, n)
    px = np.where(y == 0, np.cos(t), 1 - np.cos(t)) + rng.normal(0, noise, n)
    py = np.where(y == 0, np.sin(t), 0.5 - np.sin(t)) + rng.normal(0, noise, n)
    cx = (px + 1.2) / 3.4 * (SIDE - 1)
    cy = (py + 0.8) / 2.1 * (SIDE - 1)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    spots = np.exp(-((xx - cx[:, None, None]) ** 2 + (yy - cy[:, None, None]) ** 2) / 2.0)
    return spots[:, None].astype(np.float32), y.astype(np.int64)


def accuracy(semi: SemiConfig | None) -> tuple[float, float | None]:
    x, y = moons_images(800, seed=0)
    test_x, test_y = moons_images(400, seed=1)
    labelled = np.concatenate([np.flatnonzero(y == c)[:3] for c in (0, 1)])
    unlabelled = np.setdiff1d(np.arange(len(y)), labelled)
    config = TrainConfig(
        max_epochs=6, min_steps=180, augment=None, num_threads=1, seed=0, semi=semi
    )
    result = train_classifier(
        build_model(ModelSpec(input_size=SIDE), seed=0),
        x[labelled],
        y[labelled],
        None,
        None,
        config,
        unlabeled_images=x[unlabelled] if semi is not None else None,
    )
    probabilities = predict(result.model, test_x, with_embeddings=False).probabilities
    return float((probabilities.argmax(axis=1) == test_y).mean()), result.unlabeled_accepted


def test_unlabelled_images_lift_accuracy_on_two_moons() -> None:
    supervised, none_used = accuracy(None)
    semi, accepted = accuracy(SemiConfig(method="fixmatch", threshold=0.9))
    assert none_used is None
    assert accepted is not None and 0.0 < accepted <= 1.0
    assert semi >= supervised + 0.05, (supervised, semi)
    assert semi >= 0.9, semi


def test_semi_settings_are_validated() -> None:
    for bad in (
        {"method": "mean_teacher"},
        {"threshold": 1.0},
        {"ratio": 0},
        {"weight": -1.0},
        {"warmup": 1.0},
        {"max_unlabeled": 0},
    ):
        with pytest.raises(ValueError):
            SemiConfig(**bad)  # type: ignore[arg-type]


def test_multi_label_runs_refuse_semi_supervision() -> None:
    x, _ = moons_images(20, seed=0)
    targets = np.zeros((20, 3), dtype=np.float32)
    targets[:, 0] = 1
    with pytest.raises(ValueError, match="single-label"):
        train_classifier(
            build_model(ModelSpec(input_size=SIDE, num_classes=3), seed=0),
            x,
            targets,
            None,
            None,
            TrainConfig(max_epochs=1, num_threads=1, semi=SemiConfig()),
            unlabeled_images=x,
        )


def test_strong_view_changes_images_and_stays_in_range() -> None:
    x, _ = moons_images(8, seed=0)
    images = torch.from_numpy(x)
    gen = torch.Generator().manual_seed(0)
    strong = strong_augment_batch(images, gen)
    again = strong_augment_batch(images, torch.Generator().manual_seed(0))
    assert strong.shape == images.shape
    assert float(strong.min()) >= 0.0 and float(strong.max()) <= 1.0
    assert not torch.allclose(strong, images)
    assert torch.equal(strong, again)  # seeded: the same generator gives the same views
