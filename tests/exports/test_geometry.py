"""Annotation geometry to pixels and COCO records agrees with pycocotools."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from annotations.exports.geometry import (
    class_masks,
    coco_annotation,
    decode_row_major_rle,
    label_map,
)


def row_major_rle(mask: np.ndarray) -> list[int]:
    flat = mask.reshape(-1)
    counts, current, run = [], 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return counts


def test_the_api_mask_payload_decodes_row_major_starting_with_zeros() -> None:
    mask = np.zeros((3, 4), dtype=np.uint8)
    mask[0, 1:3] = 1
    mask[2, 3] = 1
    assert row_major_rle(mask) == [1, 2, 8, 1]
    assert np.array_equal(decode_row_major_rle([3, 4], [1, 2, 8, 1]), mask)


def test_run_lengths_that_do_not_cover_the_image_are_refused() -> None:
    with pytest.raises(ValueError, match="sum to"):
        decode_row_major_rle([3, 4], [1, 2])


def test_a_mask_becomes_a_compressed_coco_rle_that_pycocotools_decodes_to_the_same_pixels() -> None:
    rng = np.random.default_rng(1)
    mask = (rng.random((17, 23)) > 0.6).astype(np.uint8)
    shape = {"kind": "mask", "label": "x", "size": [17, 23], "counts": row_major_rle(mask)}
    record = coco_annotation(shape, 17, 23)
    assert record is not None
    assert isinstance(record["segmentation"]["counts"], str)
    rle = dict(record["segmentation"], counts=record["segmentation"]["counts"].encode())
    assert np.array_equal(coco_mask.decode(rle), mask)
    assert record["area"] == mask.sum()


def test_polygons_and_boxes_keep_their_coordinates_in_coco() -> None:
    polygon = {"kind": "polygon", "label": "x", "points": [[1, 1], [5, 1], [5, 4], [1, 4]]}
    record = coco_annotation(polygon, 8, 8)
    assert record == {
        "segmentation": [[1.0, 1.0, 5.0, 1.0, 5.0, 4.0, 1.0, 4.0]],
        "bbox": [1.0, 1.0, 4.0, 3.0],
        "area": 12.0,
        "iscrowd": 0,
    }
    box = {"kind": "box", "label": "x", "points": [[6.5, 2], [2.5, 7]]}
    assert coco_annotation(box, 8, 8) == {"bbox": [2.5, 2.0, 4.0, 5.0], "area": 20.0, "iscrowd": 0}


def test_label_maps_paint_regions_with_class_index_plus_one_and_keep_overlaps_per_plane() -> None:
    classes = {"liver": 0, "lesion": 1}
    shapes = [
        {"kind": "polygon", "label": "liver", "points": [[0, 0], [6, 0], [6, 6], [0, 6]]},
        {"kind": "polygon", "label": "lesion", "points": [[2, 2], [4, 2], [4, 4], [2, 4]]},
        {"kind": "box", "label": "lesion", "points": [[0, 0], [1, 1]]},  # boxes paint nothing
    ]
    planes = class_masks(shapes, classes, 8, 8)
    assert planes[:, :, 0].sum() == 36 and planes[:, :, 1].sum() == 4
    labels = label_map(shapes, classes, 8, 8)
    assert labels[3, 3] == 2 and labels[0, 0] == 1 and labels[7, 7] == 0
