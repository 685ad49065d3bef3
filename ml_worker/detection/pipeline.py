"""What the jobs call for a detection model version: spec from data, evaluation on the locked
test split, pool scoring by a named strategy, and the box suggestions. Arrays in, arrays and
JSON-ready dicts out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ml_worker.detection.anchors import anchor_aspects, anchor_sides
from ml_worker.detection.boxes import BoxTarget
from ml_worker.detection.inference import predict_boxes
from ml_worker.detection.metrics import detection_report
from ml_worker.detection.network import RETURNED_LAYERS, Detector, DetSpec
from ml_worker.embeddings import pca_embeddings
from ml_worker.strategies import PoolData, get_strategy

BATCH_STRATEGIES = ("det_diversity", "det_budget_aware", "cold_start")
SUGGESTION_FLOOR = 0.05  # boxes below this score are never suggested (the web filters higher)


def spec_for(
    images: np.ndarray,
    num_classes: int,
    boxes: Sequence[BoxTarget] | None = None,
    **overrides: Any,
) -> DetSpec:
    """The default spec fitted to (N, C, S, S) training images (their intensity statistics).
    With their `boxes` (in input pixels) the anchor sides and aspects are fitted to those boxes
    too: an option, not the default, since on BUS-BRA it measured no better than the fixed
    squares (decision 0362). `overrides` win."""
    fitted: dict[str, Any] = {}
    if boxes is not None:
        arrays = [b.boxes for b in boxes]
        fitted["base_anchor_sides"] = anchor_sides(arrays, levels=len(RETURNED_LAYERS))
        fitted["anchor_aspects"] = anchor_aspects(arrays)
    return replace(
        DetSpec(),
        num_classes=num_classes,
        in_channels=int(images.shape[1]),
        input_size=int(images.shape[-1]),
        input_mean=float(images.mean()),
        input_std=float(images.std()) or 1.0,
        **{**fitted, **overrides},
    )


def evaluate_model(
    model: Detector,
    val_images: np.ndarray | None,
    val_boxes: Sequence[BoxTarget] | None,
    test_images: np.ndarray,
    test_boxes: Sequence[BoxTarget],
    class_names: Sequence[str],
    *,
    item_ids: Sequence[int] | None = None,
    device: str | None = None,
) -> tuple[float, dict[str, Any]]:
    """(1.0, metrics on test): box scores are not recalibrated (the temperature slot of the
    shared interface stays 1); the validation split served early stopping already."""
    predicted = predict_boxes(model, test_images, device=device)
    return 1.0, detection_report(
        predicted.boxes, predicted.scores, test_boxes, class_names, item_ids=item_ids
    )


def score_pool(
    model: Detector | None,
    images: np.ndarray,
    strategy: str,
    *,
    labeled_counts: np.ndarray | None = None,
    batch_size: int = 10,
    seed: int = 0,
    device: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """One acquisition score per pool image (higher = ask sooner) with the named strategy;
    computes only what it reads (flipped boxes for disagreement, embeddings for the batch
    strategies: the model's, or PCA of the pixels before any model exists)."""
    rng = np.random.default_rng(seed)
    kwargs: dict[str, Any] = dict(options or {})
    if strategy in BATCH_STRATEGIES:
        kwargs.setdefault("batch_size", batch_size)
    chosen = get_strategy(strategy, **kwargs)
    if model is None or strategy in ("random", "cold_start"):
        embeddings = pca_embeddings(images, dim=32, seed=seed) if strategy != "random" else None
        return chosen.score(
            PoolData(embeddings=embeddings, probabilities=np.zeros((len(images), 1))), rng
        )
    predicted = predict_boxes(
        model,
        images,
        flip_tta=strategy == "det_flip_disagreement",
        with_embeddings=strategy in BATCH_STRATEGIES,
        device=device,
    )
    flipped = predicted.flipped
    pool = PoolData(
        embeddings=predicted.embeddings,
        labeled_counts=labeled_counts,
        box_scores=predicted.scores,
        boxes=[b.boxes for b in predicted.boxes],
        flipped_boxes=[b.boxes for b in flipped.boxes] if flipped else None,
        flipped_scores=flipped.scores if flipped else None,
    )
    return chosen.score(pool, rng)


def suggestion_boxes(
    boxes: BoxTarget,
    scores: np.ndarray,
    class_names: Sequence[str],
    rows: int,
    cols: int,
    input_size: int,
    floor: float = SUGGESTION_FLOOR,
) -> list[dict[str, Any]]:
    """Boxes in input pixels -> the stored suggestion's boxes in the frame's own pixels
    ({"label", "points": [[x0, y0], [x1, y1]], "score"}), score >= floor, best first."""
    native = boxes.scaled(cols / input_size, rows / input_size)
    out = []
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        if scores[i] < floor:
            continue
        x0, y0, x1, y1 = (float(v) for v in np.clip(native.boxes[i], 0, [cols, rows, cols, rows]))
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            continue
        out.append(
            {
                "label": class_names[int(native.labels[i])],
                "points": [[round(x0, 2), round(y0, 2)], [round(x1, 2), round(y1, 2)]],
                "score": round(float(scores[i]), 4),
            }
        )
    return out
