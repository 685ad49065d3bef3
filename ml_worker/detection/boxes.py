"""Doctors' boxes and points -> detection targets, and the conversions between pixel spaces.

Stored payloads (annotations/payloads.py): "box" {"label", "points": [[x0, y0], [x1, y1]]} and
"point" {"label", "points": [[x, y]]} in the image's own pixels, x = column, y = row; a frame
answered "no findings" ({"kind": "class", "labels": []}) is a negative: no boxes at all.

Targets are kept as (M, 4) float arrays (x0, y0, x1, y1) in native pixels; the network's input is
the whole frame stretched to a square (ml_worker.preprocess.resize), so scaling each axis maps a
box there and back. Inside the MONAI detector boxes are (row0, col0, row1, col1): `to_monai` and
`from_monai` swap the axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ml_worker.segmentation.rasterize import Shape

POINT_BOX_SIDE = 16.0  # a point marks a small lesion: a box of this side (native pixels) around it


@dataclass(frozen=True)
class BoxTarget:
    """One image's boxes: (M, 4) float32 (x0, y0, x1, y1) and (M,) int64 class indices."""

    boxes: np.ndarray
    labels: np.ndarray
    rows: int = 0  # the image the boxes are in (0: unknown)
    cols: int = 0

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def empty(cls, rows: int = 0, cols: int = 0) -> BoxTarget:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), rows, cols)

    def scaled(self, sx: float, sy: float) -> BoxTarget:
        """The boxes with x scaled by sx and y by sy (the image size too)."""
        factor = np.array([sx, sy, sx, sy], dtype=np.float32)
        return BoxTarget(
            (self.boxes * factor).astype(np.float32),
            self.labels,
            round(self.rows * sy),
            round(self.cols * sx),
        )


def box_target(
    shapes: Sequence[Shape],
    class_names: Sequence[str],
    rows: int,
    cols: int,
    frame: int = 1,
    point_side: float = POINT_BOX_SIDE,
) -> BoxTarget | None:
    """One frame's boxes (points as `point_side` boxes), clipped to the image; None when the
    frame has no answer at all. A box whose label is not a project class raises KeyError."""
    answered = [s for s in shapes if s.frame == frame and s.kind in ("class", "box", "point")]
    if not answered:
        return None
    index = {name: i for i, name in enumerate(class_names)}
    boxes, labels = [], []
    for shape in answered:
        if shape.kind == "class":
            continue
        label = str(shape.payload.get("label", ""))
        if label not in index:
            raise KeyError(f"label {label!r} is not a class of the project")
        points = np.asarray(shape.payload["points"], dtype=np.float64)
        if shape.kind == "point":
            (x, y), half = points[0], point_side / 2
            box = [x - half, y - half, x + half, y + half]
        else:
            box = [*points.min(axis=0), *points.max(axis=0)]
        x0, y0, x1, y1 = np.clip(box, 0, [cols, rows, cols, rows])
        if x1 > x0 and y1 > y0:
            boxes.append([x0, y0, x1, y1])
            labels.append(index[label])
    if not boxes:
        return BoxTarget.empty(rows, cols)
    return BoxTarget(np.asarray(boxes, np.float32), np.asarray(labels, np.int64), rows, cols)


def boxes_from_instances(instances: np.ndarray, labels: np.ndarray) -> BoxTarget:
    """The standard npz layout: one (H, W) instance-id map (0 background) and its label map ->
    each instance's enclosing box (pixel edges, x = column) and its class (label - 1)."""
    boxes, classes = [], []
    for instance in np.unique(instances):
        if instance == 0:
            continue
        rr, cc = np.nonzero(instances == instance)
        values = labels[rr, cc]
        values = values[values > 0]
        klass = int(np.bincount(values).argmax()) - 1 if len(values) else 0
        boxes.append([cc.min(), rr.min(), cc.max() + 1, rr.max() + 1])
        classes.append(klass)
    rows, cols = instances.shape
    if not boxes:
        return BoxTarget.empty(rows, cols)
    return BoxTarget(np.asarray(boxes, np.float32), np.asarray(classes, np.int64), rows, cols)


def to_monai(boxes: np.ndarray) -> np.ndarray:
    """(M, 4) (x0, y0, x1, y1) -> MONAI's (row0, col0, row1, col1)."""
    return np.asarray(boxes)[:, [1, 0, 3, 2]]


def from_monai(boxes: np.ndarray) -> np.ndarray:
    """MONAI's (row0, col0, row1, col1) -> (x0, y0, x1, y1)."""
    return np.asarray(boxes)[:, [1, 0, 3, 2]]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(M, 4) x (K, 4) -> (M, K) intersection over union of (x0, y0, x1, y1) boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.asarray(np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0))
