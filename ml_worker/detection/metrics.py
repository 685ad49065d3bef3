"""Detection metrics stored with each version: FROC, COCO mAP (pycocotools), per-class AP.

FROC (free-response ROC): all detections of all test images ranked by score; in each image a
detection is a hit when its IoU with a not-yet-hit box of the same class is >= `iou` (greedy in
score order), otherwise a false positive (a second detection of the same lesion too). For each
score threshold: sensitivity = hits / boxes, false positives per image = false positives / images
(images without any box count: every detection there is a false positive). Sensitivity at a rate
r is the best sensitivity of the thresholds with at most r false positives per image. The hit
criterion is IoU >= 0.3 by default (decision 0360); `froc_iou50` gives the stricter view.

mAP@0.5 and mAP@0.5:0.95 come from pycocotools' COCOeval (a maintained implementation), with
images without boxes included so their detections count.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from ml_worker.detection.boxes import BoxTarget, box_iou

FROC_RATES = (0.5, 1.0, 2.0, 4.0)
HIT_IOU = 0.3


def _rate_key(rate: float) -> str:
    return str(int(rate)) if float(rate).is_integer() else str(rate)


def match_detections(
    predictions: Sequence[BoxTarget],
    scores: Sequence[np.ndarray],
    truths: Sequence[BoxTarget],
    iou: float = HIT_IOU,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(scores, is_hit) over all detections, and each image's count of missed boxes."""
    all_scores, hits, missed = [], [], []
    for pred, score, truth in zip(predictions, scores, truths, strict=True):
        order = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")
        taken = np.zeros(len(truth), dtype=bool)
        overlaps = box_iou(pred.boxes, truth.boxes) if len(truth) and len(pred) else None
        for i in order:
            hit = False
            if overlaps is not None:
                candidates = (~taken) & (truth.labels == pred.labels[i]) & (overlaps[i] >= iou)
                if candidates.any():
                    j = int(np.argmax(np.where(candidates, overlaps[i], -1.0)))
                    taken[j], hit = True, True
            all_scores.append(float(score[i]))
            hits.append(hit)
        missed.append(int((~taken).sum()))
    return np.asarray(all_scores, dtype=np.float64), np.asarray(hits, dtype=bool), missed


def froc(
    predictions: Sequence[BoxTarget],
    scores: Sequence[np.ndarray],
    truths: Sequence[BoxTarget],
    rates: Sequence[float] = FROC_RATES,
    iou: float = HIT_IOU,
) -> dict[str, float]:
    """{"0.5": sensitivity, "1": ..., ...}: sensitivity at each false-positive rate per image."""
    n_boxes = sum(len(t) for t in truths)
    n_images = len(truths)
    values, hits, _ = match_detections(predictions, scores, truths, iou)
    out = {_rate_key(r): 0.0 for r in rates}
    if n_boxes == 0 or n_images == 0 or len(values) == 0:
        return out
    order = np.argsort(-values, kind="stable")
    values, hits = values[order], hits[order]
    tp, fp = np.cumsum(hits), np.cumsum(~hits)
    # Only the last detection of a run of equal scores is an operating point (ties go together).
    last = np.r_[values[1:] != values[:-1], True]
    sensitivity = np.r_[0.0, tp[last] / n_boxes]
    fp_rate = np.r_[0.0, fp[last] / n_images]
    for rate in rates:
        allowed = fp_rate <= rate + 1e-12
        out[_rate_key(rate)] = round(float(sensitivity[allowed].max()), 6)
    return out


def coco_map(
    predictions: Sequence[BoxTarget],
    scores: Sequence[np.ndarray],
    truths: Sequence[BoxTarget],
    class_names: Sequence[str],
) -> dict[str, Any]:
    """{"map_50", "map_50_95", "per_class": {name: {"ap_50", "ap_50_95", "support"}}} by
    pycocotools (boxes in pixels, x = column). A class without any test box has AP None."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    detections: list[dict[str, Any]] = []
    for image_id, (pred, score, truth) in enumerate(zip(predictions, scores, truths, strict=True)):
        images.append({"id": image_id})
        for box, label in zip(truth.boxes, truth.labels, strict=True):
            x0, y0, x1, y1 = (float(v) for v in box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(label),
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                }
            )
        for box, label, s in zip(pred.boxes, pred.labels, score, strict=True):
            x0, y0, x1, y1 = (float(v) for v in box)
            detections.append(
                {
                    "image_id": image_id,
                    "category_id": int(label),
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "score": float(s),
                }
            )
    support = {k: sum(int((t.labels == k).sum()) for t in truths) for k in range(len(class_names))}
    per_class: dict[str, dict[str, Any]] = {
        name: {"ap_50": None, "ap_50_95": None, "support": support[k]}
        for k, name in enumerate(class_names)
    }
    result: dict[str, Any] = {"map_50": 0.0, "map_50_95": 0.0, "per_class": per_class}
    if not annotations:
        result["map_50"] = result["map_50_95"] = None
        return result
    if not detections:
        for k, name in enumerate(class_names):
            if support[k]:
                per_class[name].update(ap_50=0.0, ap_50_95=0.0)
        return result
    with contextlib.redirect_stdout(io.StringIO()):  # COCOeval prints its tables
        gt = COCO()
        gt.dataset = {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": k, "name": n} for k, n in enumerate(class_names)],
        }
        gt.createIndex()
        dt = gt.loadRes(detections)
        evaluator = COCOeval(gt, dt, iouType="bbox")
        evaluator.params.maxDets = [1, 10, 100]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    result["map_50_95"] = round(max(float(evaluator.stats[0]), 0.0), 6)
    result["map_50"] = round(max(float(evaluator.stats[1]), 0.0), 6)
    # precision: (iou thresholds, recall points, classes, area ranges, max dets); -1 = no boxes.
    precision = evaluator.eval["precision"][:, :, :, 0, -1]
    for k, name in enumerate(class_names):
        if support[k] == 0:
            continue
        p = precision[:, :, k]
        per_class[name]["ap_50"] = round(float(np.mean(np.maximum(p[0], 0))), 6)
        per_class[name]["ap_50_95"] = round(float(np.mean(np.maximum(p, 0))), 6)
    return result


def detection_report(
    predictions: Sequence[BoxTarget],
    scores: Sequence[np.ndarray],
    truths: Sequence[BoxTarget],
    class_names: Sequence[str],
    item_ids: Sequence[int] | None = None,
    worst: int = 5,
) -> dict[str, Any]:
    """The metrics a version stores (keys fixed: the web reads them, docs/learning.md)."""
    curve = froc(predictions, scores, truths)
    report: dict[str, Any] = {
        "froc": curve,
        "froc_mean": round(float(np.mean(list(curve.values()))), 6),
        "froc_iou": HIT_IOU,
        "froc_iou50": froc(predictions, scores, truths, iou=0.5),
        **coco_map(predictions, scores, truths, class_names),
        "n_test_images": len(truths),
        "n_test_boxes": sum(len(t) for t in truths),
        "n_test_negatives": sum(1 for t in truths if len(t) == 0),
    }
    report["worst_test_images"] = _worst_images(predictions, scores, truths, item_ids, worst)
    return report


def _worst_images(
    predictions: Sequence[BoxTarget],
    scores: Sequence[np.ndarray],
    truths: Sequence[BoxTarget],
    item_ids: Sequence[int] | None,
    worst: int,
) -> list[dict[str, Any]]:
    """The images with the most missed boxes among the detections scoring >= 0.5, then the
    most confident false positive: what a doctor should look at first."""
    rows = []
    for i, (pred, score, truth) in enumerate(zip(predictions, scores, truths, strict=True)):
        score = np.asarray(score, dtype=np.float64)
        keep = score >= 0.5
        kept = BoxTarget(pred.boxes[keep], pred.labels[keep])
        _, hits, missed = match_detections([kept], [score[keep]], [truth])
        false_positives = int((~hits).sum())
        key = {"item_id": int(item_ids[i])} if item_ids is not None else {"index": i}
        rows.append({**key, "froc_or_fn": missed[0], "false_positives": false_positives})
    rows.sort(key=lambda r: (-r["froc_or_fn"], -r["false_positives"]))
    return [r for r in rows if r["froc_or_fn"] or r["false_positives"]][:worst]
