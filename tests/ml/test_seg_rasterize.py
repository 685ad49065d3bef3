"""Rasterization of doctors' segmentation geometry: every stored shape kind (polygon, freehand
outline, brush mask, "no findings") becomes the right pixels of the right class channel, within
+-1 px of the geometry, and exactly what the server's own `annotations.payloads.rasterize` says."""

from __future__ import annotations

import math

import numpy as np
import pytest

from annotations.payloads import ImageGeometry, LabelSchema, rasterize, validate_payload
from ml_worker.segmentation.rasterize import Shape, decode_rle, encode_rle, label_map, one_hot
from ml_worker.task_types import mask_target

CLASSES = ("lesion", "cyst")
SCHEMA = LabelSchema(task_type="segmentation", class_names=CLASSES)


def stored(kind: str, payload: dict, rows: int, cols: int) -> dict:
    """The payload as the server stores it (validated, canonical)."""
    return validate_payload(kind, payload, schema=SCHEMA, image=ImageGeometry(rows, cols))


def test_axis_aligned_polygon_is_exactly_its_rectangle() -> None:
    payload = stored(
        "polygon", {"label": "lesion", "points": [[10, 5], [30, 5], [30, 25], [10, 25]]}, 40, 50
    )
    labels = label_map([Shape("polygon", payload)], 40, 50, CLASSES)
    expected = np.zeros((40, 50), dtype=np.uint8)
    expected[5:25, 10:30] = 1  # rows y in [5, 25), columns x in [10, 30)
    assert np.array_equal(labels, expected)


def test_freehand_circle_outline_area_and_edges_within_one_pixel() -> None:
    cx, cy, r = 32.3, 30.7, 14.0
    angles = np.linspace(0, 2 * math.pi, 240, endpoint=False)
    points = [[cx + r * math.cos(a), cy + r * math.sin(a)] for a in angles]
    payload = stored("polygon", {"label": "cyst", "points": points}, 64, 64)
    labels = label_map([Shape("polygon", payload)], 64, 64, CLASSES)
    inside = labels == 2
    assert set(np.unique(labels)) == {0, 2}
    assert abs(inside.sum() - math.pi * r * r) < 2 * math.pi * r  # area within a 1-px ring
    ys, xs = np.mgrid[0:64, 0:64] + 0.5
    distance = np.hypot(xs - cx, ys - cy)
    assert inside[distance < r - 1].all()  # every pixel more than 1 px inside is filled
    assert not inside[distance > r + 1].any()  # nothing more than 1 px outside


def test_triangle_edges_within_one_pixel() -> None:
    points = [[4.0, 4.0], [60.0, 10.0], [20.0, 56.0]]
    payload = stored("polygon", {"label": "lesion", "points": points}, 64, 64)
    inside = label_map([Shape("polygon", payload)], 64, 64, CLASSES) == 1
    area = 0.5 * abs((60 - 4) * (56 - 4) - (20 - 4) * (10 - 4))
    assert abs(inside.sum() - area) <= 0.5 * (56 + 60 + 60)  # half a pixel per unit of perimeter
    ys, xs = np.mgrid[0:64, 0:64] + 0.5

    def signed(ax: float, ay: float, bx: float, by: float) -> np.ndarray:
        return ((bx - ax) * (ys - ay) - (by - ay) * (xs - ax)) / math.hypot(bx - ax, by - ay)

    d = np.min(
        [signed(*points[i], *points[(i + 1) % 3]) for i in range(3)], axis=0
    )  # > 0 inside (clockwise in image coordinates), distance to the nearest edge
    assert inside[d > 1].all() and not inside[d < -1].any()


def test_brush_mask_round_trips_pixel_exact() -> None:
    rng = np.random.default_rng(3)
    brush = np.zeros((32, 48), dtype=bool)
    for r, c in rng.integers(3, 29, (6, 2)):
        brush[r - 3 : r + 3, c - 2 : c + 4] = True  # overlapping strokes
    brush[0, 0] = True  # a run that starts at the first pixel
    payload = stored("mask", {"label": "cyst", **encode_rle(brush)}, 32, 48)
    assert payload["counts"][0] == 0
    labels = label_map([Shape("mask", payload)], 32, 48, CLASSES)
    assert np.array_equal(labels == 2, brush)
    assert np.array_equal(decode_rle(payload["size"], payload["counts"]), brush)


def test_matches_the_servers_rasterizer_on_random_polygons_and_masks() -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        rows, cols = (int(v) for v in rng.integers(8, 40, 2))
        k = int(rng.integers(3, 12))
        points = [[float(rng.uniform(0, cols)), float(rng.uniform(0, rows))] for _ in range(k)]
        try:
            payload = stored("polygon", {"label": "lesion", "points": points}, rows, cols)
        except ValueError:
            continue  # a degenerate (zero-area) draw
        ours = label_map([Shape("polygon", payload)], rows, cols, CLASSES) == 1
        assert np.array_equal(ours, rasterize("polygon", payload, rows, cols))
        blob = rng.random((rows, cols)) > 0.7
        if blob.any():
            mask = stored("mask", {"label": "lesion", **encode_rle(blob)}, rows, cols)
            ours = label_map([Shape("mask", mask)], rows, cols, CLASSES) == 1
            assert np.array_equal(ours, rasterize("mask", mask, rows, cols))


def test_classes_frames_overlap_and_negatives() -> None:
    square = stored(
        "polygon", {"label": "lesion", "points": [[0, 0], [10, 0], [10, 10], [0, 10]]}, 20, 20
    )
    patch = np.zeros((20, 20), dtype=bool)
    patch[5:15, 5:15] = True
    cyst = stored("mask", {"label": "cyst", **encode_rle(patch)}, 20, 20)
    shapes = [Shape("polygon", square, frame=1), Shape("mask", cyst, frame=1)]
    labels = label_map(shapes, 20, 20, CLASSES)
    assert labels[2, 2] == 1 and labels[7, 7] == 2 and labels[12, 12] == 2  # later shape on top
    assert labels[18, 18] == 0
    channels = one_hot(labels, len(CLASSES))
    assert channels.shape == (3, 20, 20) and np.array_equal(channels.sum(axis=0), np.ones((20, 20)))
    assert channels[1].sum() == 100 - 25 and channels[2].sum() == 100
    # Multi-frame: a frame's label map only holds that frame's shapes.
    assert not label_map([Shape("mask", cyst, frame=2)], 20, 20, CLASSES, frame=1).any()
    assert (label_map([Shape("mask", cyst, frame=2)], 20, 20, CLASSES, frame=2) == 2).sum() == 100
    # "No findings" is a negative (an all-background target), not a missing label.
    nothing = stored("class", {"labels": []}, 20, 20)
    negative = mask_target([Shape("class", nothing)], CLASSES, 20, 20, 1)
    assert negative is not None and not negative.any()
    assert mask_target([], CLASSES, 20, 20, 1) is None


def test_unknown_class_and_wrong_size_are_refused() -> None:
    with pytest.raises(ValueError, match="not one of the classes"):
        label_map(
            [Shape("polygon", {"label": "x", "points": [[0, 0], [4, 0], [0, 4]]})], 8, 8, CLASSES
        )
    mask = {"label": "lesion", **encode_rle(np.ones((4, 4), bool))}
    with pytest.raises(ValueError, match="image is 8x8"):
        label_map([Shape("mask", mask)], 8, 8, CLASSES)


def test_label_maps_follow_the_image_resize_and_back() -> None:
    from ml_worker.preprocess import resize
    from ml_worker.segmentation.pipeline import labels_at_native, labels_to_input

    # A 300 x 200 frame with a lesion rectangle: the 64-px model input of the mask lies where the
    # resized image's bright pixels lie, and the suggestion mapped back covers the lesion +-1 px
    # per 64-px pixel (the resize factor).
    native = np.zeros((300, 200), dtype=np.uint8)
    native[60:180, 40:120] = 1
    small = labels_to_input(native, 64)
    image = resize(native.astype(np.float32), 64)
    assert np.array_equal(small == 1, image > 0.5)
    probabilities = np.stack([1.0 - (small == 1), (small == 1).astype(np.float64)])
    back = labels_at_native(probabilities, 300, 200)
    assert back.shape == (300, 200)
    ys, xs = np.nonzero(back)
    assert abs(ys.min() - 60) <= 5 and abs(ys.max() - 179) <= 5  # 300 / 64 = 4.7 px per pixel
    assert abs(xs.min() - 40) <= 4 and abs(xs.max() - 119) <= 4  # 200 / 64 = 3.1 px per pixel
    assert abs(int(back.sum()) - 120 * 80) < 0.06 * 120 * 80
