"""Temperature scaling that holds under drift: fit T on clean and perturbed validation images.

A temperature fitted on clean validation images alone is right for images like those and can be
badly wrong for the next scanner, protocol or patient mix: when the validation images are easy the
fitted T is below 1 (it sharpens), and the sharpened model is over-confident on harder images.
Tomani et al. ("Post-hoc Uncertainty Calibration for Domain Drift Scenarios", CVPR 2021) fit the
temperature on the validation set together with perturbed copies of it at several strengths, so
one T serves the whole range from clean to drifted inputs. Here the perturbations are the
training augmentations (rotation, scale, shift, gamma, contrast) at 1x and 2x their ranges
(decision 0333). The labels of a perturbed copy are the original's.

Decision 0423: the clean images and the perturbed copies carry half of the fit's likelihood each
(before, every row counted once, so the copies' count set drift's weight to 8/9), and T is the
MAP estimate under a prior on log T centred on 1 with the evidence of the clean images only, so
a validation split of a few images cannot sharpen the model twentyfold.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch

from ml_worker.augment import AugmentConfig, augment_batch
from ml_worker.calibration import PRIOR_LOG_T_SD, fit_temperature


@dataclass(frozen=True)
class DriftCalibration:
    """Which perturbed copies of the validation set join the clean one when T is fitted."""

    strengths: tuple[float, ...] = (1.0, 2.0)  # multiples of the augmentation ranges; () = clean
    copies: int = 4  # perturbed copies of every validation image per strength
    seed: int = 0
    chunk: int = 1024  # images perturbed and predicted at a time (bounded memory)
    # Share of the fit's likelihood the perturbed copies carry together, the clean images the
    # rest (decision 0423). Before, every row counted once, so 8 copies per image gave drift 8/9
    # of the weight: the number of copies (chosen to sample the perturbations well) decided how
    # much the fit believed in drift. On BUS-BRA, where the perturbations take the small model to
    # chance accuracy, that flattened it to under-confidence (test ECE 0.087 against 0.058).
    drift_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.copies < 0 or any(s < 0 or not math.isfinite(s) for s in self.strengths):
            raise ValueError("copies and strengths must be >= 0")
        if self.chunk < 1:
            raise ValueError("chunk must be >= 1")
        if not 0.0 <= self.drift_weight < 1.0:
            raise ValueError("drift_weight is a share, in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        fields = asdict(self) | {"strengths": list(self.strengths)}  # as stored in JSON
        return {
            "method": "MAP temperature on clean + perturbed validation (prior sd of log T "
            f"{PRIOR_LOG_T_SD})",
            **fields,
        }


# Guo et al.'s original (clean validation only), for comparison and for tests.
CLEAN_ONLY = DriftCalibration(strengths=(), copies=0)
DRIFT_CALIBRATION = DriftCalibration()  # what training runs use (decision 0333)


def scaled_augmentation(config: AugmentConfig, strength: float) -> AugmentConfig:
    """`config` with every range stretched `strength` times around the identity transform.

    Additive ranges (rotation, shift) scale linearly; multiplicative ones (scale, gamma, contrast)
    in log space, so 2x of (0.8, 1.25) is (0.64, 1.5625). Flips are kept as they are: a flip the
    project forbids stays forbidden at any strength.
    """

    def stretch(bounds: tuple[float, float]) -> tuple[float, float]:
        lo, hi = bounds
        return (lo**strength, hi**strength)

    return replace(
        config,
        rotation_deg=config.rotation_deg * strength,
        crop_shift=config.crop_shift * strength,
        scale_range=stretch(config.scale_range),
        gamma_range=stretch(config.gamma_range),
        contrast_range=stretch(config.contrast_range),
    )


def drift_logits(
    logits_of: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    augment: AugmentConfig | None,
    calibration: DriftCalibration,
) -> np.ndarray:
    """Logits of the clean images, then of each strength's perturbed copies, in that order.

    `logits_of` maps (n, C, H, W) float32 images in [0, 1] to (n, K) logits. Images are perturbed
    `calibration.chunk` at a time, so memory stays bounded whatever the validation set's size.
    Row i of copy j of strength s is a perturbation of `images[i]`: the labels are
    `np.tile(labels, 1 + len(strengths) * copies)`.
    """
    base = augment if augment is not None else AugmentConfig()
    gen = torch.Generator()
    gen.manual_seed(calibration.seed)
    parts = [logits_of(images)]
    for strength in calibration.strengths:
        config = scaled_augmentation(base, strength)
        for _ in range(calibration.copies):
            for start in range(0, len(images), calibration.chunk):
                chunk = torch.from_numpy(
                    np.ascontiguousarray(images[start : start + calibration.chunk], np.float32)
                )
                parts.append(logits_of(augment_batch(chunk, config, gen).numpy()))
    return np.concatenate(parts)


def drift_temperature(
    logits: np.ndarray, labels: np.ndarray, calibration: DriftCalibration | None = None
) -> float:
    """The temperature from `drift_logits`' rows (clean, then every perturbed copy, in order) and
    the clean images' labels (decision 0423): the MAP temperature under a prior on log T centred
    on 1, the clean rows carrying `1 - drift_weight` of the likelihood and the copies
    `drift_weight`, with the evidence of the clean images only (a perturbed copy repeats its
    original's label, it is not a new patient), so a small validation split leans on the prior
    instead of sharpening the model on a few easy images."""
    calibration = calibration or DriftCalibration()
    y = np.asarray(labels)
    n = len(y)
    if n == 0:
        return 1.0
    repeats = len(logits) // n
    weights = np.full(len(logits), 1.0 / n)
    if repeats > 1:
        weights[:n] *= 1.0 - calibration.drift_weight
        weights[n:] *= calibration.drift_weight / (repeats - 1)
    return fit_temperature(
        logits, np.tile(y, repeats), evidence=n, prior_sd=PRIOR_LOG_T_SD, weights=weights
    )


def fit_drift_temperature(
    logits_of: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    labels: np.ndarray,
    augment: AugmentConfig | None,
    calibration: DriftCalibration | None = None,
) -> float:
    """The temperature over clean and perturbed validation images together (`drift_temperature`)."""
    calibration = calibration or DriftCalibration()
    logits = drift_logits(logits_of, images, augment, calibration)
    return drift_temperature(logits, labels, calibration)


def calibrate_model(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    augment: AugmentConfig | None,
    calibration: DriftCalibration | None = None,
) -> float:
    """The model version's temperature: 1.0 with fewer than two validation images (nothing to
    fit), else `fit_drift_temperature` over the model's logits."""
    from ml_worker.inference import predict

    if len(labels) < 2:
        return 1.0
    return fit_drift_temperature(
        lambda x: predict(model, x, with_embeddings=False).logits,
        images,
        labels,
        augment,
        calibration,
    )
