"""Evaluation stored with each model version: the classification report, AUC with a bootstrap CI,
confusion matrix, calibration before/after temperature, and the dashboard's ROC and reliability
data.

Everything returned by `evaluate` is JSON-ready (NaN becomes None).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from ml_worker.calibration import brier_score, expected_calibration_error, reliability_bins, softmax


def roc_auc(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC: binary -> of class 1; multi-class -> macro one-vs-rest over the classes present.

    NaN when fewer than two classes occur in `labels` (AUC is undefined).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    present = np.unique(y)
    if len(present) < 2:
        return float("nan")
    if p.shape[1] == 2:
        return float(roc_auc_score(y, p[:, 1]))
    aucs = [float(roc_auc_score(y == k, p[:, k])) for k in present]
    return float(np.mean(aucs))


def bootstrap_auc_ci(
    probabilities: np.ndarray,
    labels: np.ndarray,
    n_bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap confidence interval of `roc_auc` (resampling test items)."""
    y = np.asarray(labels)
    if len(np.unique(y)) < 2 or n_bootstrap <= 0:
        return None, None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_bootstrap):
        index = rng.integers(0, len(y), len(y))
        if len(np.unique(y[index])) < 2:
            continue
        values.append(roc_auc(probabilities[index], y[index]))
    if not values:
        return None, None
    alpha = (1 - level) / 2
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


def classification_report(
    predicted: np.ndarray, labels: np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """Per-class precision/recall/F1/support, micro, macro and weighted averages (0 where
    undefined). With one label per item, micro precision = recall = F1 = accuracy."""
    k = len(class_names)
    matrix = confusion_matrix(predicted, labels, k)
    per_class: dict[str, dict[str, float]] = {}
    for c, name in enumerate(class_names):
        tp = matrix[c][c]
        predicted_c = sum(matrix[r][c] for r in range(k))
        support = sum(matrix[c])
        precision = tp / predicted_c if predicted_c else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    total = sum(v["support"] for v in per_class.values())
    averages = {}
    for avg in ("macro", "weighted"):
        averages[avg] = {
            m: (
                float(np.mean([v[m] for v in per_class.values()]))
                if avg == "macro"
                else (
                    sum(v[m] * v["support"] for v in per_class.values()) / total if total else 0.0
                )
            )
            for m in ("precision", "recall", "f1")
        }
        averages[avg]["support"] = total
    correct = sum(matrix[c][c] for c in range(k))
    micro = correct / total if total else 0.0
    return {
        "per_class": per_class,
        "micro_avg": {"precision": micro, "recall": micro, "f1": micro, "support": total},
        "macro_avg": averages["macro"],
        "weighted_avg": averages["weighted"],
    }


def confusion_matrix(
    predicted: np.ndarray, labels: np.ndarray, num_classes: int
) -> list[list[int]]:
    """matrix[true][predicted] counts."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(
        matrix, (np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1
    )
    return matrix.tolist()


def roc_points(
    probabilities: np.ndarray, labels: np.ndarray, class_names: Sequence[str], max_points: int = 101
) -> dict[str, dict[str, list[float]]]:
    """ROC curve (one-vs-rest) per positive class for the dashboard, thinned to `max_points`.

    Binary tasks return only the curve of class 1 (the positive class).
    """
    y = np.asarray(labels)
    classes = [1] if len(class_names) == 2 else list(range(len(class_names)))
    curves: dict[str, dict[str, list[float]]] = {}
    for c in classes:
        positives = y == c
        if positives.all() or not positives.any():
            continue
        fpr, tpr, _ = roc_curve(positives, probabilities[:, c])
        if len(fpr) > max_points:
            keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
            fpr, tpr = fpr[keep], tpr[keep]
        curves[class_names[c]] = {"fpr": fpr.round(4).tolist(), "tpr": tpr.round(4).tolist()}
    return curves


def clean_json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.generic):
        return clean_json(value.item())
    return value


def evaluate(
    logits: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    temperature: float = 1.0,
    n_bootstrap: int = 1000,
    n_bins: int = 15,
    seed: int = 0,
) -> dict[str, Any]:
    """All metrics of one model on one labelled split (normally the locked test split).

    `temperature` is the one fitted on validation (`drift_calibration.calibrate_model`); metrics are
    reported before (T = 1) and after it. Keys: n, accuracy, auc, auc_ci [lo, hi], per_class,
    macro_avg, weighted_avg, confusion_matrix, temperature, ece_before, ece_after, brier_before,
    brier_after, roc, reliability {"before", "after"}.
    """
    y = np.asarray(labels, dtype=np.int64)
    if len(y) == 0:
        return {"n": 0}
    raw = softmax(logits)
    scaled = softmax(logits, temperature)
    predicted = raw.argmax(axis=1)
    lo, hi = bootstrap_auc_ci(raw, y, n_bootstrap=n_bootstrap, seed=seed)
    result: dict[str, Any] = {
        "n": len(y),
        "accuracy": float((predicted == y).mean()),
        "auc": roc_auc(raw, y),
        "auc_ci": [lo, hi],
        **classification_report(predicted, y, class_names),
        "confusion_matrix": confusion_matrix(predicted, y, len(class_names)),
        "class_names": list(class_names),
        "temperature": float(temperature),
        "ece_before": expected_calibration_error(raw, y, n_bins),
        "ece_after": expected_calibration_error(scaled, y, n_bins),
        "brier_before": brier_score(raw, y),
        "brier_after": brier_score(scaled, y),
        "roc": roc_points(scaled, y, class_names),
        "reliability": {
            "before": reliability_bins(raw, y, n_bins),
            "after": reliability_bins(scaled, y, n_bins),
        },
    }
    cleaned: dict[str, Any] = clean_json(result)
    return cleaned
