"""Temperature fitted on clean + perturbed validation images (decision 0333)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ml_worker.augment import AugmentConfig
from ml_worker.calibration import expected_calibration_error, fit_temperature, softmax
from ml_worker.drift_calibration import (
    CLEAN_ONLY,
    DriftCalibration,
    calibrate_model,
    drift_logits,
    fit_drift_temperature,
    scaled_augmentation,
)

SIDE = 16


def blob_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images of one bright blob; the label depends on which side of the centre the blob lies,
    noisily (closer to the centre, less certain). Returns images, labels, blob x positions."""
    rng = np.random.default_rng(seed)
    cx = rng.uniform(4.0, 12.0, n)
    cy = rng.uniform(5.0, 11.0, n)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    blobs = np.exp(
        -((xx[None] - cx[:, None, None]) ** 2 + (yy[None] - cy[:, None, None]) ** 2) / 4.0
    )
    images = (0.1 + 0.8 * blobs)[:, None].astype(np.float32)
    labels = (rng.random(n) < 1 / (1 + np.exp(-2.0 * (cx - (SIDE - 1) / 2)))).astype(np.int64)
    return images, labels, cx


def centroid_logits(images: np.ndarray) -> np.ndarray:
    """A model that knows the rule: logit = 2 x (blob's x centroid - centre), exact on clean
    images; a rotated or shifted image moves the centroid and the model follows it."""
    weights = np.clip(
        images[:, 0].astype(np.float64) - np.median(images[:, 0], axis=(1, 2))[:, None, None],
        0,
        None,
    )
    xs = np.arange(SIDE, dtype=np.float64)[None, None, :]
    cx = (weights * xs).sum(axis=(1, 2)) / np.maximum(weights.sum(axis=(1, 2)), 1e-9)
    margin = 2.0 * (cx - (SIDE - 1) / 2)
    return np.stack([np.zeros_like(margin), margin], axis=1)


def test_scaled_augmentation_stretches_ranges_around_the_identity() -> None:
    base = AugmentConfig(flip_vertical=True)
    assert scaled_augmentation(base, 1.0) == base
    double = scaled_augmentation(base, 2.0)
    assert double.rotation_deg == pytest.approx(2 * base.rotation_deg)
    assert double.crop_shift == pytest.approx(2 * base.crop_shift)
    assert double.gamma_range == pytest.approx((0.8**2, 1.25**2))
    assert double.scale_range == pytest.approx((0.81, 1.21))
    assert double.flip_vertical and not double.flip_horizontal
    none = scaled_augmentation(base, 0.0)
    assert none.rotation_deg == 0 and none.gamma_range == (1.0, 1.0)
    assert none.contrast_range == (1.0, 1.0) and none.scale_range == (1.0, 1.0)


def test_drift_logits_are_clean_rows_then_perturbed_copies_in_bounded_chunks() -> None:
    images, _, _ = blob_images(50, seed=0)
    seen_sizes: list[int] = []

    def logits_of(x: np.ndarray) -> np.ndarray:
        seen_sizes.append(len(x))
        return centroid_logits(x)

    calibration = DriftCalibration(strengths=(1.0, 2.0), copies=3, seed=7, chunk=16)
    logits = drift_logits(logits_of, images, None, calibration)
    assert logits.shape == (50 * (1 + 2 * 3), 2)
    np.testing.assert_array_equal(logits[:50], centroid_logits(images))
    assert max(seen_sizes[1:]) <= 16  # perturbed images never all in memory at once
    # Perturbed copies differ from the clean images; the same seed reproduces them exactly.
    assert not np.allclose(logits[50:100], logits[:50])
    np.testing.assert_array_equal(logits, drift_logits(centroid_logits, images, None, calibration))
    assert drift_logits(centroid_logits, images, None, CLEAN_ONLY).shape == (50, 2)


def test_drift_temperature_keeps_a_model_calibrated_on_drifted_images() -> None:
    """Clean validation says the model is calibrated (T near 1); on rotated/shifted images its
    blob position is off and it is over-confident. The drift-fitted T is larger and gives a lower
    ECE on drifted images it never saw, while staying calibrated on clean ones."""
    val_x, val_y, _ = blob_images(1500, seed=1)
    test_x, test_y, _ = blob_images(1500, seed=2)
    clean_t = fit_temperature(centroid_logits(val_x), val_y)
    drift_t = fit_drift_temperature(centroid_logits, val_x, val_y, AugmentConfig())
    assert 0.8 < clean_t < 1.25
    assert drift_t > clean_t * 1.1

    drifted = drift_logits(
        centroid_logits, test_x, None, DriftCalibration(strengths=(2.0,), copies=1, seed=99)
    )[len(test_x) :]
    ece_clean_t = expected_calibration_error(softmax(drifted, clean_t), test_y)
    ece_drift_t = expected_calibration_error(softmax(drifted, drift_t), test_y)
    assert ece_drift_t < ece_clean_t
    clean_test = centroid_logits(test_x)
    assert expected_calibration_error(softmax(clean_test, drift_t), test_y) < 0.06


class CentroidModel(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(centroid_logits(x.numpy())).float()


def test_calibrate_model_runs_a_torch_module_and_needs_two_labels() -> None:
    val_x, val_y, _ = blob_images(300, seed=3)
    model = CentroidModel()
    expected = fit_drift_temperature(centroid_logits, val_x, val_y, AugmentConfig())
    assert calibrate_model(model, val_x, val_y, AugmentConfig()) == pytest.approx(
        expected, rel=1e-3
    )
    assert calibrate_model(model, val_x[:1], val_y[:1], AugmentConfig()) == 1.0
