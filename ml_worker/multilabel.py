"""Multi-label classification: one sigmoid output per label, each label a yes/no question.

A multi-label project's item may carry several labels at once, or none ("no finding": the doctor's
class answer with an empty label list), which is a negative for every label. Targets are (N, L)
multi-hot float arrays; the network is the usual `Classifier` with L outputs, read through a
sigmoid instead of a softmax. What differs from single-label lives here (decision 0390):

- the loss: binary cross-entropy with per-label positive weights (negatives / positives in the
  training split, capped), the multi-label analogue of the class-weighted cross-entropy;
- validation and test metrics per label (AUC, precision/recall/F1 at 0.5, support) with the
  macro AUC as the headline "auc" the promotion rule compares;
- calibration: one temperature per label fitted on the validation split.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from ml_worker.calibration import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    brier_score,
    expected_calibration_error,
)

THRESHOLD = 0.5  # a label is suggested (and counted as predicted) at this calibrated probability
MAX_POSITIVE_WEIGHT = 20.0  # a label with 1 positive in 500 must not dominate the loss


def multi_hot(labels: Iterable[str], class_names: Sequence[str]) -> list[float]:
    """The item's ground-truth labels as a 0/1 list in class order; [] ("no finding") is all 0."""
    named = set(labels)
    return [1.0 if name in named else 0.0 for name in class_names]


def sigmoid(logits: np.ndarray, temperature: float | np.ndarray = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / np.asarray(temperature, dtype=np.float64)
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic
    return out


def positive_weights(targets: np.ndarray) -> torch.Tensor:
    """Per-label BCE `pos_weight`: negatives / positives, in [1/cap, cap]; 1 for a label with no
    positive (or no negative) in the training split."""
    y = np.asarray(targets, dtype=np.float64)
    positives = y.sum(axis=0)
    negatives = len(y) - positives
    ratio = np.where((positives > 0) & (negatives > 0), negatives / np.maximum(positives, 1), 1.0)
    capped = np.clip(ratio, 1.0 / MAX_POSITIVE_WEIGHT, MAX_POSITIVE_WEIGHT)
    return torch.tensor(capped, dtype=torch.float32)


def bce_loss(
    logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=weight)


def label_aucs(probabilities: np.ndarray, targets: np.ndarray) -> list[float]:
    """ROC AUC of each label (NaN for a label whose column holds a single value)."""
    y = np.asarray(targets)
    out = []
    for k in range(y.shape[1]):
        column = y[:, k]
        if column.min() == column.max():
            out.append(float("nan"))
        else:
            out.append(float(roc_auc_score(column, probabilities[:, k])))
    return out


def macro_auc(probabilities: np.ndarray, targets: np.ndarray) -> float:
    """Mean AUC over the labels where it is defined; NaN when it is defined for none."""
    defined = [a for a in label_aucs(probabilities, targets) if not math.isnan(a)]
    return float(np.mean(defined)) if defined else float("nan")


def validation_scores(logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, float, float]:
    """(BCE loss, macro AUC, element-wise accuracy at 0.5) of one validation pass."""
    loss = float(F.binary_cross_entropy_with_logits(logits, targets).item())
    probs = torch.sigmoid(logits).numpy()
    y = targets.numpy()
    accuracy = float(((probs >= THRESHOLD) == (y >= 0.5)).mean())
    return loss, macro_auc(probs, y), accuracy


def fit_label_temperatures(logits: np.ndarray, targets: np.ndarray) -> list[float]:
    """One temperature per label minimising that label's validation BCE (L-BFGS over log T,
    clamped like the single-label one); 1.0 for a label without both outcomes in validation."""
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.float64)
    temperatures = []
    for k in range(z.shape[1] if z.ndim == 2 else 0):
        column = y[:, k]
        if len(column) == 0 or float(column.min()) == float(column.max()):
            temperatures.append(1.0)
            continue
        log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")

        def closure(
            k: int = k, log_t: torch.Tensor = log_t, optimizer: torch.optim.LBFGS = optimizer
        ) -> torch.Tensor:
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(z[:, k] / log_t.exp(), y[:, k])
            loss.backward()  # type: ignore[no-untyped-call]
            return loss

        optimizer.step(closure)  # type: ignore[no-untyped-call]
        t = float(log_t.detach().exp().item())
        temperatures.append(
            min(max(t, MIN_TEMPERATURE), MAX_TEMPERATURE) if math.isfinite(t) else 1.0
        )
    return temperatures


def _binary_report(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int((predicted & truth).sum())
    fp = int((predicted & ~truth).sum())
    fn = int((~predicted & truth).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": int(truth.sum())}


def evaluate_multilabel(
    logits: np.ndarray,
    targets: np.ndarray,
    class_names: Sequence[str],
    *,
    temperatures: Sequence[float] | None = None,
    n_bins: int = 15,
) -> dict[str, Any]:
    """A multi-label model's metrics on one split, JSON-ready (NaN becomes None).

    Keys: n, multi_label, auc (macro over labels), per_label {name: auc, precision, recall, f1,
    support, temperature, ece_before, ece_after, brier_before, brier_after}, per_class (the same
    precision/recall/F1/support, for the tables single-label versions show), micro_avg,
    macro_avg, weighted_avg, exact_match, no_finding {n, all_negative_predicted}, accuracy
    (element-wise), class_names."""
    from ml_worker.evaluation import clean_json

    y = np.asarray(targets, dtype=np.float64)
    if len(y) == 0:
        return {"n": 0, "multi_label": True}
    t = np.asarray(temperatures if temperatures is not None else [1.0] * y.shape[1])
    raw, scaled = sigmoid(logits), sigmoid(logits, t)
    predicted = raw >= THRESHOLD
    truth = y >= 0.5
    aucs = label_aucs(raw, y)
    per_label: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(class_names):
        as_two = [np.stack([1 - p[:, k], p[:, k]], axis=1) for p in (raw, scaled)]
        column = truth[:, k].astype(np.int64)
        per_label[name] = {
            "auc": aucs[k],
            **_binary_report(predicted[:, k], truth[:, k]),
            "temperature": float(t[k]),
            "ece_before": expected_calibration_error(as_two[0], column, n_bins),
            "ece_after": expected_calibration_error(as_two[1], column, n_bins),
            "brier_before": brier_score(as_two[0], column) / 2,
            "brier_after": brier_score(as_two[1], column) / 2,
        }
    rows = [per_label[name] for name in class_names]
    total = sum(r["support"] for r in rows)
    micro = _binary_report(predicted.ravel(), truth.ravel())
    empty = ~truth.any(axis=1)
    defined = [a for a in aucs if not math.isnan(a)]
    result = {
        "n": len(y),
        "multi_label": True,
        "class_names": list(class_names),
        "auc": float(np.mean(defined)) if defined else float("nan"),
        "accuracy": float((predicted == truth).mean()),
        "exact_match": float((predicted == truth).all(axis=1).mean()),
        "per_label": per_label,
        "per_class": {
            name: {m: per_label[name][m] for m in ("precision", "recall", "f1", "support")}
            for name in class_names
        },
        "micro_avg": micro,
        "macro_avg": {
            **{m: float(np.mean([r[m] for r in rows])) for m in ("precision", "recall", "f1")},
            "support": total,
        },
        "weighted_avg": {
            **{
                m: (sum(r[m] * r["support"] for r in rows) / total if total else 0.0)
                for m in ("precision", "recall", "f1")
            },
            "support": total,
        },
        "macro_auc": float(np.mean(defined)) if defined else float("nan"),
        "ece_after": float(np.mean([r["ece_after"] for r in rows])),
        "brier_after": float(np.mean([r["brier_after"] for r in rows])),
        "no_finding": {
            "n": int(empty.sum()),
            "all_negative_predicted": int((empty & ~predicted.any(axis=1)).sum()),
        },
    }
    cleaned: dict[str, Any] = clean_json(result)
    return cleaned
