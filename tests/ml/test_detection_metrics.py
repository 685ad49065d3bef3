"""Detection metrics on hand-made cases: FROC computed by hand here, mAP as pycocotools gives it
(AP by hand with COCO's 101-point interpolation), targets from boxes, points and "no findings"."""

from __future__ import annotations

import numpy as np
import pytest

from ml_worker.detection.boxes import BoxTarget, box_target, boxes_from_instances
from ml_worker.detection.metrics import coco_map, detection_report, froc
from ml_worker.segmentation.rasterize import Shape


def boxes(*rows: list[float]) -> BoxTarget:
    return BoxTarget(np.asarray(rows, np.float32).reshape(-1, 4), np.zeros(len(rows), np.int64))


def case() -> tuple[list[BoxTarget], list[np.ndarray], list[BoxTarget]]:
    truths = [
        boxes([10, 10, 30, 30], [50, 50, 70, 70]),  # a: two lesions, the second never found
        boxes([0, 0, 20, 20]),  # b
        boxes(),  # c: no findings
    ]
    predictions = [
        boxes([10, 10, 30, 30], [80, 0, 95, 10], [12, 12, 32, 32]),  # hit, FP, duplicate = FP
        boxes([0, 0, 20, 16]),  # IoU 0.8: hit
        boxes([40, 40, 60, 60], [0, 0, 5, 5]),  # every box on a negative is a FP
    ]
    scores = [np.array([0.9, 0.6, 0.5]), np.array([0.4]), np.array([0.8, 0.3])]
    return predictions, scores, truths


def test_froc_by_hand() -> None:
    # Ranked: .9 hit, .8 FP, .6 FP, .5 FP, .4 hit, .3 FP; 3 lesions, 3 images.
    # Operating points (FP per image, sensitivity): (0, 1/3) (1/3, 1/3) (2/3, 1/3) (1, 1/3)
    # (1, 2/3) (4/3, 2/3).
    curve = froc(*case())
    assert curve == pytest.approx({"0.5": 1 / 3, "1": 2 / 3, "2": 2 / 3, "4": 2 / 3}, abs=1e-6)
    # Ties move together: two detections at one score are one operating point.
    tied = froc(
        [boxes([10, 10, 30, 30], [80, 80, 90, 90])],
        [np.array([0.5, 0.5])],
        [boxes([10, 10, 30, 30])],
        rates=(0.5, 1),
    )
    assert tied == {"0.5": 0.0, "1": 1.0}


def test_coco_map_is_pycocotools_on_a_hand_made_case() -> None:
    predictions, scores, truths = case()
    result = coco_map(predictions, scores, truths, ["lesion"])
    # All IoU thresholds alike here except the IoU-0.8 hit (a miss above 0.8): at IoU 0.5 the
    # ranked hits/misses are .9 hit, .8 FP, .6 FP, .5 FP, .4 hit -> recall 1/3 at precision 1,
    # 2/3 at 2/5; the 101-point interpolated AP: (34 x 1 + 33 x 0.4) / 101.
    ap50 = (34 * 1.0 + 33 * 0.4) / 101
    assert result["map_50"] == pytest.approx(ap50, abs=1e-6)
    assert result["per_class"]["lesion"] == {
        "ap_50": pytest.approx(ap50, abs=1e-6),
        "ap_50_95": pytest.approx(result["map_50_95"], abs=1e-6),
        "support": 3,
    }
    # IoU thresholds 0.5..0.8 (7 of 10) see both hits; 0.85..0.95 (3) only the exact one.
    assert result["map_50_95"] == pytest.approx((7 * ap50 + 3 * 34 / 101) / 10, abs=1e-6)


def test_the_report_has_the_keys_the_web_reads() -> None:
    report = detection_report(*case(), ["lesion"], item_ids=[11, 12, 13])
    assert {"froc", "froc_mean", "map_50", "map_50_95", "per_class", "n_test_images"} <= set(report)
    assert report["froc_mean"] == pytest.approx((1 / 3 + 3 * 2 / 3) / 4, abs=1e-5)
    assert report["n_test_images"] == 3 and report["n_test_negatives"] == 1
    # Image a at score >= 0.5: one lesion missed, the far box and the duplicate are FPs.
    assert report["worst_test_images"][0] == {"item_id": 11, "froc_or_fn": 1, "false_positives": 2}


def test_targets_from_boxes_points_and_no_findings() -> None:
    shapes = [
        Shape("box", {"label": "mass", "points": [[40, 10], [10, 30]]}),
        Shape("point", {"label": "calc", "points": [[2, 50]]}),
        Shape("box", {"label": "mass", "points": [[0, 0], [5, 5]]}, frame=2),
    ]
    target = box_target(shapes, ["mass", "calc"], rows=60, cols=80, frame=1)
    assert target is not None
    np.testing.assert_allclose(target.boxes, [[10, 10, 40, 30], [0, 42, 10, 58]])
    assert target.labels.tolist() == [0, 1] and (target.rows, target.cols) == (60, 80)
    negative = box_target([Shape("class", {"labels": []})], ["mass"], 60, 80)
    assert negative is not None and len(negative) == 0
    assert box_target([], ["mass"], 60, 80) is None
    with pytest.raises(KeyError):
        box_target([Shape("box", {"label": "cyst", "points": [[0, 0], [4, 4]]})], ["mass"], 9, 9)


def test_boxes_from_instances_take_each_instance_and_its_class() -> None:
    instances = np.zeros((10, 12), np.uint16)
    labels = np.zeros((10, 12), np.uint8)
    instances[2:5, 3:7], labels[2:5, 3:7] = 1, 2
    instances[6:9, 0:2], labels[6:9, 0:2] = 2, 1
    target = boxes_from_instances(instances, labels)
    np.testing.assert_allclose(target.boxes, [[3, 2, 7, 5], [0, 6, 2, 9]])
    assert target.labels.tolist() == [1, 0]
    assert len(boxes_from_instances(np.zeros((4, 4), np.uint16), np.zeros((4, 4)))) == 0
