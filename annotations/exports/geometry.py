"""Annotation geometry → pixels and COCO records.

Coordinates follow the API contract: image pixel coordinates, x = column, y = row, origin at the
top-left corner of the top-left pixel. That is also COCO's convention, so polygons and boxes are
copied as they are, and polygons are rasterised with pycocotools so every label map in every
format agrees with what a COCO reader computes for the same polygon.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

# Shape kinds that paint pixels in label maps (NIfTI, nnU-Net, DICOM SEG, MONAI segmentation).
# Boxes and points are not segmentations; they go to COCO, the manifests and MONAI detection.
REGION_KINDS = ("mask", "polygon")


def decode_row_major_rle(size: Sequence[int], counts: Sequence[int]) -> np.ndarray:
    """The API's mask payload → a (rows, cols) uint8 array of 0/1.

    `counts` are row-major run lengths starting with a run of zeros (API.md, kind "mask")."""
    rows, cols = int(size[0]), int(size[1])
    total = rows * cols
    if sum(int(c) for c in counts) != total:
        raise ValueError(f"mask run lengths sum to {sum(counts)}, expected {rows}x{cols}={total}")
    values = np.zeros(len(counts), dtype=np.uint8)
    values[1::2] = 1
    flat = np.repeat(values, np.asarray(counts, dtype=np.int64))
    return flat.reshape(rows, cols)


def polygon_mask(points: Sequence[Sequence[float]], rows: int, cols: int) -> np.ndarray:
    flat = [float(v) for point in points for v in point[:2]]
    rle = coco_mask.frPyObjects([flat], rows, cols)
    return np.asarray(coco_mask.decode(rle)[:, :, 0], dtype=np.uint8)


def shape_mask(shape: dict[str, Any], rows: int, cols: int) -> np.ndarray | None:
    """The pixels a region shape covers, or None for shapes that cover none (box, point, class)."""
    kind = shape.get("kind")
    if kind == "mask":
        mask = decode_row_major_rle(shape["size"], shape["counts"])
        if mask.shape != (rows, cols):
            raise ValueError(f"mask of size {mask.shape} on an image of {rows}x{cols}")
        return mask
    if kind == "polygon":
        return polygon_mask(shape["points"], rows, cols)
    return None


def class_masks(
    shapes: Sequence[dict[str, Any]], class_index: dict[str, int], rows: int, cols: int
) -> np.ndarray:
    """(rows, cols, n_classes) uint8 0/1: one binary plane per class (overlaps survive)."""
    planes = np.zeros((rows, cols, max(1, len(class_index))), dtype=np.uint8)
    for shape in shapes:
        mask = shape_mask(shape, rows, cols)
        if mask is None or shape.get("label") not in class_index:
            continue
        planes[:, :, class_index[shape["label"]]] |= mask
    return planes


def label_map(
    shapes: Sequence[dict[str, Any]], class_index: dict[str, int], rows: int, cols: int
) -> np.ndarray:
    """(rows, cols) label map: 0 background, class index + 1 elsewhere. Where regions of two
    classes overlap, the class later in the schema wins (documented in docs/exports.md)."""
    planes = class_masks(shapes, class_index, rows, cols)
    out = np.zeros((rows, cols), dtype=np.uint16 if len(class_index) > 254 else np.uint8)
    for index in range(planes.shape[2]):
        out[planes[:, :, index] > 0] = index + 1
    return out


def _bbox_of_points(points: Sequence[Sequence[float]]) -> list[float]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def coco_annotation(shape: dict[str, Any], rows: int, cols: int) -> dict[str, Any] | None:
    """One shape → the geometry part of a COCO annotation (bbox, area, segmentation/keypoints),
    or None for kinds COCO has no place for (image-level classes)."""
    kind = shape.get("kind")
    if kind == "box":
        bbox = _bbox_of_points(shape["points"])
        return {"bbox": bbox, "area": bbox[2] * bbox[3], "iscrowd": 0}
    if kind == "polygon":
        flat = [float(v) for point in shape["points"] for v in point[:2]]
        rle = coco_mask.frPyObjects([flat], rows, cols)
        return {
            "segmentation": [flat],
            "bbox": _bbox_of_points(shape["points"]),
            "area": float(coco_mask.area(rle)[0]),
            "iscrowd": 0,
        }
    if kind == "mask":
        mask = decode_row_major_rle(shape["size"], shape["counts"])
        rle = coco_mask.encode(np.asfortranarray(mask))
        counts = rle["counts"]
        return {
            # Compressed RLE (column-major, as COCO stores masks); iscrowd 0: an object mask.
            "segmentation": {
                "size": [int(rle["size"][0]), int(rle["size"][1])],
                "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
            },
            "bbox": [float(v) for v in coco_mask.toBbox(rle)],
            "area": float(coco_mask.area(rle)),
            "iscrowd": 0,
        }
    if kind == "point":
        x, y = (float(v) for v in shape["points"][0][:2])
        # COCO keypoints: (x, y, v) with v=2 "labelled and visible".
        return {
            "keypoints": [x, y, 2],
            "num_keypoints": 1,
            "bbox": [x, y, 0.0, 0.0],
            "area": 0.0,
            "iscrowd": 0,
        }
    return None
