"""Doctors' segmentation geometry -> label maps in image pixel coordinates.

The stored shapes (annotations/payloads.py, docs/api.md "Annotation payloads") are:
- "polygon": `points` [[x, y], ...], >= 3 vertices, implicitly closed. Freehand outlines are
  stored as polygons with many vertices.
- "mask": row-major run-length `counts` over `size` [rows, cols], starting with a run of zeros.
  Brush strokes and eraser edits are stored as masks.
- "class" with `labels: []`: the doctor's "no findings": the image is a negative (empty mask).

x = column, y = row, origin at the top-left corner of the top-left pixel. A pixel belongs to a
polygon when its centre (x + 0.5, y + 0.5) lies inside (even-odd rule), exactly as the server's
`annotations.payloads.rasterize` decides (tests compare the two). The worker keeps its own copy
of these few lines so ml_worker never imports the web side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Shape:
    """One stored annotation as the rasterizer needs it (kind, canonical payload, 1-based frame)."""

    kind: str
    payload: Mapping[str, Any]
    frame: int = 1


def decode_rle(size: Sequence[int], counts: Sequence[int]) -> np.ndarray:
    """{"size": [rows, cols], "counts": [...]} -> (rows, cols) bool, zeros first, row-major."""
    rows, cols = int(size[0]), int(size[1])
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, np.asarray(counts, dtype=np.int64))
    if flat.size != rows * cols:
        raise ValueError(f"run lengths sum to {flat.size}, not {rows}x{cols}")
    return flat.reshape(rows, cols)


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """(rows, cols) bool-ish -> {"size", "counts"} in the API's canonical run-length form."""
    flat = np.asarray(mask, dtype=bool).ravel()
    if flat.size == 0:
        return {"size": [int(s) for s in mask.shape], "counts": [0]}
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], changes, [flat.size]))).tolist()
    if flat[0]:
        runs = [0, *runs]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": [int(r) for r in runs]}


def polygon_pixels(points: Sequence[Sequence[float]], rows: int, cols: int) -> np.ndarray:
    """(rows, cols) bool: pixels whose centre lies inside the closed polygon (even-odd rule)."""
    xs = np.arange(cols, dtype=np.float64) + 0.5
    ys = (np.arange(rows, dtype=np.float64) + 0.5)[:, None]
    inside = np.zeros((rows, cols), dtype=bool)
    vertices = [(float(p[0]), float(p[1])) for p in points]
    for (xa, ya), (xb, yb) in zip(vertices, [*vertices[1:], vertices[0]], strict=True):
        if ya == yb:
            continue
        crosses = (ya > ys) != (yb > ys)
        x_at = xa + (ys - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (xs[None, :] < x_at)
    return inside


def shape_pixels(shape: Shape, rows: int, cols: int) -> np.ndarray | None:
    """The pixels one region covers, or None for shapes that cover none ("class", "point")."""
    if shape.kind == "mask":
        mask = decode_rle(shape.payload["size"], shape.payload["counts"])
        if mask.shape != (rows, cols):
            raise ValueError(f"mask is {mask.shape[0]}x{mask.shape[1]}, image is {rows}x{cols}")
        return mask
    if shape.kind == "polygon":
        return polygon_pixels(shape.payload["points"], rows, cols)
    return None


def label_map(
    shapes: Iterable[Shape], rows: int, cols: int, class_names: Sequence[str], frame: int = 1
) -> np.ndarray:
    """(rows, cols) uint8 label map of one frame: 0 background, k = class_names[k - 1].

    Shapes are painted in the order given (the doctor's drawing order), so where two classes
    overlap the later shape wins, as it does on screen. Shapes of other frames are skipped; a
    frame with no region (or only a "no findings" class answer) is all background: a negative.
    """
    if len(class_names) > 254:
        raise ValueError("at most 254 classes fit a uint8 label map")
    index = {name: k + 1 for k, name in enumerate(class_names)}
    out = np.zeros((rows, cols), dtype=np.uint8)
    for shape in shapes:
        if shape.frame != frame:
            continue
        pixels = shape_pixels(shape, rows, cols)
        if pixels is None:
            continue
        label = shape.payload.get("label")
        if label not in index:
            raise ValueError(f"{label!r} is not one of the classes {list(class_names)}")
        out[pixels] = index[str(label)]
    return out


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(..., H, W) label map -> (..., num_classes + 1, H, W) float32, channel 0 = background."""
    eye = np.eye(num_classes + 1, dtype=np.float32)
    return np.moveaxis(eye[np.asarray(labels, dtype=np.int64)], -1, -3)
