"""What the jobs call for a segmentation model version: spec from data, evaluation on the locked
test split (temperature fitted on validation pixels), pool scoring by a named strategy, and the
suggestion payloads. Arrays in, arrays and JSON-ready dicts out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from torch import nn

from ml_worker.embeddings import pca_embeddings
from ml_worker.segmentation.inference import SegPredictions, predict_segmentation
from ml_worker.segmentation.metrics import (
    fit_pixel_temperature,
    pixel_ece,
    segmentation_report,
    softmax_pixels,
)
from ml_worker.segmentation.network import SegSpec
from ml_worker.segmentation.rasterize import encode_rle
from ml_worker.strategies import PoolData, get_strategy

BATCH_STRATEGIES = ("seg_diversity", "seg_budget_aware", "cold_start")


def spec_for(images: np.ndarray, num_classes: int, **overrides: Any) -> SegSpec:
    """The default spec fitted to (N, C, H, W) training images."""
    return replace(
        SegSpec(),
        num_classes=num_classes,
        in_channels=int(images.shape[1]),
        input_size=int(images.shape[-1]),
        input_mean=float(images.mean()),
        input_std=float(images.std()) or 1.0,
        **overrides,
    )


def evaluate_model(
    model: nn.Module,
    val_images: np.ndarray | None,
    val_masks: np.ndarray | None,
    test_images: np.ndarray,
    test_masks: np.ndarray,
    class_names: Sequence[str],
    *,
    device: str | None = None,
) -> tuple[float, dict[str, Any]]:
    """(temperature, metrics): the temperature is fitted on validation pixels (1.0 without a
    validation set); metrics (ml_worker.segmentation.metrics.segmentation_report) are on test."""
    temperature = 1.0
    if val_images is not None and val_masks is not None and len(val_images):
        val = predict_segmentation(model, val_images, device=device)
        temperature = fit_pixel_temperature(val.logits, val_masks)
    test = predict_segmentation(model, test_images, device=device)
    before = pixel_ece(softmax_pixels(test.logits), test_masks)
    report = segmentation_report(
        test_masks,
        softmax_pixels(test.logits, temperature),
        class_names,
        temperature=temperature,
        ece_before=before,
    )
    return temperature, report


def score_pool(
    model: nn.Module | None, images: np.ndarray, strategy: str, **options: Any
) -> np.ndarray:
    """One acquisition score per pool image (higher = ask sooner) with the named strategy: the
    scores of `score_pool_with_predictions` (same keyword arguments)."""
    return score_pool_with_predictions(model, images, strategy, **options)[0]


def score_pool_with_predictions(
    model: nn.Module | None,
    images: np.ndarray,
    strategy: str,
    *,
    temperature: float = 1.0,
    labeled_counts: np.ndarray | None = None,
    batch_size: int = 10,
    mc_passes: int = 0,
    seed: int = 0,
    device: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, SegPredictions | None]:
    """Scores with the named strategy, and the model's predictions over the pool when it made
    them (None for the model-free strategies): the suggestions reuse them instead of a second
    forward pass.

    Computes only what the strategy reads: pixel probabilities, flip/MC samples for
    seg_disagreement, embeddings for the batch strategies (the model's, or PCA of the pixels
    before any model exists)."""
    rng = np.random.default_rng(seed)
    kwargs: dict[str, Any] = dict(options or {})
    if strategy in BATCH_STRATEGIES:
        kwargs.setdefault("batch_size", batch_size)
    chosen = get_strategy(strategy, **kwargs)
    if model is None or strategy in ("random", "cold_start"):
        embeddings = pca_embeddings(images, dim=32, seed=seed) if strategy != "random" else None
        pool0 = PoolData(embeddings=embeddings, probabilities=np.zeros((len(images), 1)))
        return chosen.score(pool0, rng), None
    disagreement = strategy == "seg_disagreement"
    predictions = predict_segmentation(
        model,
        images,
        temperature=temperature,
        flip_tta=disagreement,
        mc_passes=mc_passes if disagreement else 0,
        seed=seed,
        with_embeddings=strategy in BATCH_STRATEGIES,
        device=device,
    )
    pool = PoolData(
        embeddings=predictions.embeddings,
        labeled_counts=labeled_counts,
        pixel_probabilities=predictions.probabilities,
        pixel_samples=predictions.samples,
    )
    return chosen.score(pool, rng), predictions


def suggestion_payloads(labels: np.ndarray, class_names: Sequence[str]) -> list[dict[str, Any]]:
    """A predicted (H, W) label map as the stored "mask" payloads, one per present class; an
    empty list when the model sees nothing (the suggestion is "no findings")."""
    out = []
    for k, name in enumerate(class_names, start=1):
        region = labels == k
        if region.any():
            out.append({"label": name, **encode_rle(region)})
    return out


def labels_to_input(labels: np.ndarray, size: int) -> np.ndarray:
    """A native (rows, cols) label map -> (size, size), the geometry of
    `ml_worker.preprocess.resize` (the whole frame stretched to the square): each output pixel
    takes the label under its centre."""
    rows, cols = labels.shape
    r = np.minimum(((np.arange(size) + 0.5) * rows / size).astype(np.int64), rows - 1)
    c = np.minimum(((np.arange(size) + 0.5) * cols / size).astype(np.int64), cols - 1)
    return np.ascontiguousarray(labels[r][:, c])


def labels_at_native(probabilities: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(K+1, s, s) model probabilities -> (rows, cols) uint8 label map in the frame's own pixels
    (bilinear probabilities, then the most likely class): what a suggestion is stored as."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(probabilities, dtype=np.float32))[None]
    up = F.interpolate(t, size=(rows, cols), mode="bilinear", align_corners=False)[0]
    return np.asarray(up.argmax(dim=0).numpy().astype(np.uint8))
