"""Small real detection projects: BUS-BRA breast ultrasound images (../shared/data/segmentation/
busbra/, the standard npz layout) stored as DICOM Secondary Capture items, the first `n_labelled`
answered with the lesions' boxes (from `{split}_instances`, at the stored image size) as the
doctor's imported box annotations; with `negatives` > 0 that many labelled items are answered
"no findings" on a lesion-free crop (the band above the lesion, stretched) instead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotations.models import Annotation, Item, Project
from ml_worker.detection.boxes import BoxTarget, boxes_from_instances
from tests.cast import make_project
from tests.learning.seg_factories import add_item

BUSBRA = (
    Path(__file__).resolve().parents[2].parent / "shared/data/segmentation/busbra/busbra_128.npz"
)


def busbra_subset(n: int, size: int) -> tuple[np.ndarray, list[BoxTarget], list[str]]:
    """The first n training images of BUS-BRA at `size` px (every 128/size-th pixel), their
    boxes scaled alike, and their patients."""
    if not BUSBRA.exists():
        pytest.skip(f"{BUSBRA} is not here")
    with np.load(BUSBRA) as d:
        images = d["train_images"][:n]
        instances, masks = d["train_instances"][:n], d["train_masks"][:n]
        cases = [str(c) for c in d["train_cases"][:n]]
    step = images.shape[-1] // size
    boxes = [
        boxes_from_instances(i, m).scaled(1 / step, 1 / step)
        for i, m in zip(instances, masks, strict=True)
    ]
    return images[:, ::step, ::step].copy(), boxes, cases


def make_det_project(
    admin,  # type: ignore[no-untyped-def]
    *,
    n_items: int = 40,
    n_labelled: int | None = None,
    size: int = 64,
    negatives: int = 0,
    **fields: object,
) -> tuple[Project, list[BoxTarget]]:
    defaults: dict[str, object] = {
        "name": "Masses",
        "strategy": "det_uncertainty",
        "input_size": size,
        "retrain_every": 1000,
        "batch_size": 4,
    }
    project = make_project(
        task_type="detection", classes=("lesion",), admin=admin, **(defaults | fields)
    )
    images, boxes, cases = busbra_subset(n_items, size)
    n_labelled = n_items if n_labelled is None else n_labelled
    truths = []
    for i in range(n_items):
        pixels, target = images[i], boxes[i]
        if i < negatives:
            pixels, target = _lesion_free(pixels, target), BoxTarget.empty(size, size)
        item = add_item(project, pixels, cases[i], i / n_items)
        truths.append(target)
        if i < n_labelled:
            answer(item, target)
    return project, truths


def _lesion_free(pixels: np.ndarray, target: BoxTarget) -> np.ndarray:
    """The band above the lesions (or below, if that is taller), stretched back to the full
    height: real tissue without a lesion."""
    height = pixels.shape[0]
    top, bottom = int(target.boxes[:, 1].min()), int(np.ceil(target.boxes[:, 3].max()))
    start, stop = (0, top) if top >= height - bottom else (bottom, height)
    rows = start + (np.arange(height) * (stop - start) / height).astype(int)
    return pixels[rows].copy()


def answer(item: Item, target: BoxTarget) -> list[Annotation]:
    """The imported answer: one box annotation per lesion, or "no findings"."""
    if len(target) == 0:
        return [
            Annotation.objects.create(
                item=item, kind="class", source="imported", payload={"labels": []}
            )
        ]
    return [
        Annotation.objects.create(
            item=item,
            kind="box",
            source="imported",
            payload={
                "label": "lesion",
                "points": [[float(x0), float(y0)], [float(x1), float(y1)]],
            },
        )
        for x0, y0, x1, y1 in target.boxes
    ]
