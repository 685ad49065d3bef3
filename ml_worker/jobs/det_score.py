"""Scoring a detection pool: one acquisition score per item by the project's strategy, and the
active detector's boxes for each item as its suggestion (Score.suggestion):

    {"kind": "boxes", "frame": f, "boxes": [{"label": name, "points": [[x0, y0], [x1, y1]],
                                             "score": s}, ...]}

in the frame's own pixels (x = column), every box scoring >= 0.05, best first; an empty list when
the detector sees nothing. The web shows those above the project's threshold.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from annotations.models import Item, Project
from learning.models import ModelVersion
from learning.services.scoring import ItemScore
from ml_worker.detection.checkpoint import SavedDetector, load_detector
from ml_worker.detection.inference import predict_boxes
from ml_worker.detection.pipeline import score_pool, suggestion_boxes
from ml_worker.jobs.data import load_item_images, preprocess_config
from ml_worker.jobs.score import labelled_counts, priorities_from_scores
from ml_worker.jobs.seg_score import SUGGESTION_BATCH, load_cached
from ml_worker.jobs.snapshot import class_names_of

_models: OrderedDict[tuple[int, str], SavedDetector] = OrderedDict()


def loaded_detector(version: ModelVersion) -> SavedDetector:
    saved: SavedDetector = load_cached(_models, version, load_detector)
    return saved


def suggestion_for(boxes: list[dict[str, Any]], frame: int) -> dict[str, Any]:
    return {"kind": "boxes", "frame": frame, "boxes": boxes}


def detection_scores(
    version: ModelVersion, project: Project, item_ids: list[int], strategy_name: str
) -> list[ItemScore]:
    # Series items have no single frame to look at yet; they keep their queue position.
    items = list(
        Item.objects.filter(project=project, pk__in=item_ids, instance__isnull=False)
        .select_related("instance")
        .order_by("pk")
    )
    if not items:
        return []
    saved = loaded_detector(version)
    class_names = saved.class_names or class_names_of(project)
    images = load_item_images(items, preprocess_config(project)).images
    values = np.asarray(
        score_pool(
            saved.model,
            images,
            strategy_name,
            labeled_counts=labelled_counts(version, class_names),
            batch_size=project.batch_size,
            seed=version.pk,
        ),
        dtype=np.float64,
    )
    priorities = priorities_from_scores(values)
    out: list[ItemScore] = []
    for start in range(0, len(items), SUGGESTION_BATCH):
        chunk = items[start : start + SUGGESTION_BATCH]
        predicted = predict_boxes(saved.model, images[start : start + len(chunk)])
        for offset, item in enumerate(chunk):
            i = start + offset
            assert item.instance is not None
            # Without indexed geometry the suggestion is at the model's input size.
            rows = item.instance.rows or project.input_size
            cols = item.instance.columns or project.input_size
            boxes = suggestion_boxes(
                predicted.boxes[offset],
                predicted.scores[offset],
                class_names,
                rows,
                cols,
                int(images.shape[-1]),
            )
            out.append(
                ItemScore(
                    item_id=item.pk,
                    value=float(values[i]),
                    priority=float(priorities[i]),
                    probabilities=[],
                    predicted_class=None,
                    suggestion=suggestion_for(boxes, item.frame),
                )
            )
    return out
