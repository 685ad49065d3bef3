"""Evaluation of a segmentation model version on the locked test split.

- Dice and IoU per class: per image (an image where neither truth nor prediction has the class
  counts as 1.0: a correct negative), their means, and the pooled ("global") value.
- HD95 (MONAI `compute_hausdorff_distance`, percentile 95) in pixels, on images where both truth
  and prediction have the class.
- Lesion-wise sensitivity and precision: connected components (scipy.ndimage.label, 8-connected);
  a true lesion is found when a predicted component overlaps it with IoU >= `match_iou`, and a
  predicted component is correct when it overlaps a true lesion that well.
- Pixel calibration: ECE over the foreground probabilities of every pixel (15 bins), before and
  after a temperature fitted on validation pixels.
- Correction effort: pixels a doctor would change to turn the suggestion into the truth, as a share
  of the truth's lesion pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy import ndimage

_EIGHT = np.ones((3, 3), dtype=bool)


def _overlap(truth: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image (N,): intersection, |truth|, |pred| of bool (N, H, W) arrays."""
    flat_t = truth.reshape(len(truth), -1)
    flat_p = pred.reshape(len(pred), -1)
    return (
        (flat_t & flat_p).sum(axis=1).astype(np.float64),
        flat_t.sum(axis=1).astype(np.float64),
        flat_p.sum(axis=1).astype(np.float64),
    )


def dice_per_image(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(N,) Dice of bool (N, H, W) masks; 1.0 where both are empty."""
    inter, t, p = _overlap(truth, pred)
    total = t + p
    return np.where(total > 0, 2 * inter / np.maximum(total, 1), 1.0)


def iou_per_image(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    inter, t, p = _overlap(truth, pred)
    union = t + p - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def mean_foreground_dice(truth_labels: np.ndarray, pred_labels: np.ndarray, classes: int) -> float:
    """Mean over classes 1..classes of the mean per-image Dice: the promotion metric `dice`."""
    values = [
        float(dice_per_image(truth_labels == k, pred_labels == k).mean())
        for k in range(1, classes + 1)
    ]
    return float(np.mean(values))


def hd95_per_image(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(N,) 95th-percentile Hausdorff distance in pixels; NaN where truth or prediction is empty."""
    from monai.metrics import compute_hausdorff_distance

    out = np.full(len(truth), np.nan)
    both = np.flatnonzero(truth.reshape(len(truth), -1).any(1) & pred.reshape(len(pred), -1).any(1))
    if len(both) == 0:
        return out
    t = torch.from_numpy(truth[both][:, None].astype(np.float32))
    p = torch.from_numpy(pred[both][:, None].astype(np.float32))
    distances = compute_hausdorff_distance(p, t, include_background=True, percentile=95)
    out[both] = distances.reshape(-1).numpy()
    return out


def lesion_counts(
    truth: np.ndarray, pred: np.ndarray, match_iou: float
) -> tuple[int, int, int, int]:
    """(found true lesions, all true lesions, correct predicted lesions, all predicted lesions)
    over bool (N, H, W) masks, by connected components."""
    found = total_true = correct = total_pred = 0
    for t_mask, p_mask in zip(truth, pred, strict=True):
        t_lab, n_t = ndimage.label(t_mask, structure=_EIGHT)
        p_lab, n_p = ndimage.label(p_mask, structure=_EIGHT)
        total_true += int(n_t)
        total_pred += int(n_p)
        if n_t == 0 or n_p == 0:
            continue
        # Contingency table of component ids: inter[i, j] = pixels of true i in predicted j.
        pairs = t_lab.ravel().astype(np.int64) * (n_p + 1) + p_lab.ravel()
        inter = np.bincount(pairs, minlength=(n_t + 1) * (n_p + 1)).reshape(n_t + 1, n_p + 1)
        area_t = inter.sum(axis=1)[1:, None]
        area_p = inter.sum(axis=0)[None, 1:]
        core = inter[1:, 1:]
        iou = core / np.maximum(area_t + area_p - core, 1)
        match = iou >= match_iou
        found += int(match.any(axis=1).sum())
        correct += int(match.any(axis=0).sum())
    return found, total_true, correct, total_pred


def pixel_ece(probabilities: np.ndarray, truth: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the per-pixel class probabilities (N, K+1, H, W) against the
    label map (N, H, W): top-label confidence vs accuracy in `bins` equal-width bins."""
    p = np.asarray(probabilities, dtype=np.float32)
    confidence = p.max(axis=1).ravel()
    correct = (p.argmax(axis=1) == truth).ravel()
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(which, minlength=bins).astype(np.float64)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    acc_sum = np.bincount(which, weights=correct.astype(np.float64), minlength=bins)
    used = counts > 0
    gap = np.abs(acc_sum[used] - conf_sum[used]) / counts[used]
    return float((gap * counts[used]).sum() / counts.sum())


def softmax_pixels(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float32) / np.float32(temperature)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def fit_pixel_temperature(
    logits: np.ndarray, truth: np.ndarray, max_pixels: int = 200_000, seed: int = 0
) -> float:
    """One temperature for all pixels, minimising the NLL of a seeded pixel sample (LBFGS on
    log T). Cheap: a few hundred thousand pixels suffice for one parameter."""
    k = logits.shape[1]
    z = np.moveaxis(np.asarray(logits, dtype=np.float32), 1, -1).reshape(-1, k)
    y = np.asarray(truth, dtype=np.int64).ravel()
    if len(y) > max_pixels:
        pick = np.random.default_rng(seed).choice(len(y), size=max_pixels, replace=False)
        z, y = z[pick], y[pick]
    zt, yt = torch.from_numpy(z), torch.from_numpy(y)
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(zt / log_t.exp(), yt)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    t = float(log_t.exp().item())
    return t if math.isfinite(t) and 0.05 <= t <= 20 else 1.0


def correction_effort(truth: np.ndarray, suggestion: np.ndarray) -> np.ndarray:
    """(N,) pixels to add plus pixels to erase, over the truth's foreground pixels (bool masks);
    for an image with no truth foreground, the erased pixels over the image size."""
    inter, t, p = _overlap(truth, suggestion)
    changes = (t - inter) + (p - inter)
    size = truth[0].size if len(truth) else 1
    return np.where(t > 0, changes / np.maximum(t, 1), changes / size)


def segmentation_report(
    truth: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    *,
    match_iou: float = 0.1,
    temperature: float | None = None,
    ece_before: float | None = None,
) -> dict[str, Any]:
    """The metrics dict stored with a model version. `truth`: (N, H, W) label map; `probabilities`
    (N, K+1, H, W) after temperature. Top-level `dice` (mean foreground Dice per image, averaged
    over classes) is the promotion metric."""
    pred = np.asarray(probabilities).argmax(axis=1)
    per_class: dict[str, Any] = {}
    per_image = np.zeros(len(truth))
    for k, name in enumerate(class_names, start=1):
        t, p = truth == k, pred == k
        dice = dice_per_image(t, p)
        iou = iou_per_image(t, p)
        inter, ts, ps = _overlap(t, p)
        hd = hd95_per_image(t, p)
        found, n_true, correct, n_pred = lesion_counts(t, p, match_iou)
        per_image += dice
        per_class[name] = {
            "dice": float(dice.mean()),
            "iou": float(iou.mean()),
            "dice_global": float(2 * inter.sum() / max(ts.sum() + ps.sum(), 1)),
            "iou_global": float(inter.sum() / max(ts.sum() + ps.sum() - inter.sum(), 1)),
            "hd95": None if np.isnan(hd).all() else float(np.nanmean(hd)),
            "lesion_sensitivity": None if n_true == 0 else found / n_true,
            "lesion_precision": None if n_pred == 0 else correct / n_pred,
            "lesions_true": n_true,
            "lesions_predicted": n_pred,
            "images_with_class": int((ts > 0).sum()),
        }
    per_image /= max(len(class_names), 1)
    lesion = (truth > 0).reshape(len(truth), -1).any(axis=1)
    # Effort on images with a lesion: the fraction of its pixels a doctor changes to accept it.
    effort = correction_effort(truth[lesion] > 0, pred[lesion] > 0)
    report: dict[str, Any] = {
        "dice": float(np.mean([c["dice"] for c in per_class.values()])),
        "iou": float(np.mean([c["iou"] for c in per_class.values()])),
        "per_class": per_class,
        "dice_per_image": [float(v) for v in per_image],
        "worst_images": [int(i) for i in np.argsort(per_image, kind="stable")[:10]],
        "pixel_ece": pixel_ece(probabilities, truth),
        "correction_effort_median": float(np.median(effort)) if len(effort) else None,
        "n_images": len(truth),
    }
    if ece_before is not None:
        report["pixel_ece_before"] = ece_before
    if temperature is not None:
        report["temperature"] = temperature
    return report
