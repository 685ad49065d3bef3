"""Scoring a segmentation pool: one acquisition score per item by the project's strategy, and the
active model's mask for each item as its suggestion (SEG contract, Score.suggestion).

Scores come from ml_worker.segmentation.pipeline.score_pool (the strategy reads pixel
probabilities, flip/MC samples or embeddings, as it needs). The suggestion is the most likely
class per pixel at the image's own size (probabilities upsampled bilinearly, then argmax), stored
as the "mask" annotation payloads the workspace edits: {"kind": "mask", "frame": f, "masks": [..]},
an empty list when the model sees nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from django.conf import settings

from annotations.models import Item, Project
from learning.models import ModelVersion
from learning.services.scoring import ItemScore
from ml_worker.jobs.data import load_item_images, preprocess_config
from ml_worker.jobs.score import labelled_counts, priorities_from_scores
from ml_worker.jobs.snapshot import class_names_of
from ml_worker.segmentation.checkpoint import SavedSegmenter, load_segmenter
from ml_worker.segmentation.inference import predict_segmentation
from ml_worker.segmentation.pipeline import (
    labels_at_native,
    score_pool_with_predictions,
    suggestion_payloads,
)

SUGGESTION_BATCH = 64  # images predicted at a time for the suggestions: bounds the memory
_models: OrderedDict[tuple[int, str], SavedSegmenter] = OrderedDict()


def load_cached(
    cache: OrderedDict[tuple[int, str], Any],
    version: ModelVersion,
    loader: Callable[[str, str], Any],
) -> Any:
    """Load a version's checkpoint once per worker process (sha256 checked), keep the last two.

    Keyed by the checkpoint's sha256 as well as the row id: a row id can come back for another
    model (SQLite reuses the highest rowid after a delete; a test database is rebuilt), and a
    long-lived worker must never score with the model a reused id used to name."""
    key = (version.pk, version.checkpoint_sha256)
    if key not in cache:
        cache[key] = loader(version.checkpoint_path, version.checkpoint_sha256)
        while len(cache) > 2:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


def loaded_segmenter(version: ModelVersion) -> SavedSegmenter:
    saved: SavedSegmenter = load_cached(_models, version, load_segmenter)
    return saved


def suggestion_for(labels: np.ndarray, class_names: list[str], frame: int) -> dict[str, Any]:
    return {"kind": "mask", "frame": frame, "masks": suggestion_payloads(labels, class_names)}


def segmentation_scores(
    version: ModelVersion, project: Project, item_ids: list[int], strategy_name: str
) -> list[ItemScore]:
    # Series items have no single frame to segment yet; they keep their queue position.
    items = list(
        Item.objects.filter(project=project, pk__in=item_ids, instance__isnull=False)
        .select_related("instance")
        .order_by("pk")
    )
    if not items:
        return []
    saved = loaded_segmenter(version)
    class_names = saved.class_names or class_names_of(project)
    images = load_item_images(items, preprocess_config(project)).images
    raw, predictions = score_pool_with_predictions(
        saved.model,
        images,
        strategy_name,
        temperature=saved.temperature,
        labeled_counts=labelled_counts(version, class_names),
        batch_size=project.batch_size,
        mc_passes=settings.LEARNING_MC_PASSES if strategy_name == "seg_disagreement" else 0,
        seed=version.pk,
    )
    values = np.asarray(raw, dtype=np.float64)
    priorities = priorities_from_scores(values)
    out: list[ItemScore] = []
    for start in range(0, len(items), SUGGESTION_BATCH):
        chunk = items[start : start + SUGGESTION_BATCH]
        # The scoring pass's probabilities when it made them (same model, same temperature).
        probabilities = (
            predictions.probabilities[start : start + len(chunk)]
            if predictions is not None
            else predict_segmentation(
                saved.model, images[start : start + len(chunk)], temperature=saved.temperature
            ).probabilities
        )
        for offset, item in enumerate(chunk):
            i = start + offset
            assert item.instance is not None
            # Without indexed geometry the suggestion is at the model's input size.
            height = item.instance.rows or project.input_size
            width = item.instance.columns or project.input_size
            labels = labels_at_native(probabilities[offset], height, width)
            out.append(
                ItemScore(
                    item_id=item.pk,
                    value=float(values[i]),
                    priority=float(priorities[i]),
                    probabilities=[],
                    predicted_class=None,
                    suggestion=suggestion_for(labels, class_names, item.frame),
                )
            )
    return out
