"""Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", 2017), ECE, Brier.

Temperature scaling divides all logits by one scalar T fitted on validation; it changes
confidence, never the ranking, so accuracy and AUC are unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`, numerically stable."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    probabilities: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return probabilities


def fit_temperature(logits: np.ndarray, labels: np.ndarray, max_iter: int = 100) -> float:
    """The T > 0 minimising validation negative log-likelihood of `softmax(logits / T)`.

    Optimised over log T with L-BFGS (float64), clamped to [0.05, 20]. Returns 1.0 when there is
    nothing to fit (no samples).
    """
    if len(logits) == 0:
        return 1.0
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), y)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    t = float(log_t.detach().exp().item())
    if not math.isfinite(t):
        return 1.0
    return min(max(t, MIN_TEMPERATURE), MAX_TEMPERATURE)


def reliability_bins(
    probabilities: np.ndarray, labels: np.ndarray, n_bins: int = 15
) -> list[dict[str, Any]]:
    """Equal-width confidence bins of the top-label prediction: the reliability diagram's data.

    Each bin: lower, upper, count, confidence (mean top probability), accuracy (fraction correct);
    confidence and accuracy are None for empty bins.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bins are (lower, upper]; a confidence of exactly 0 cannot occur for a top-label probability.
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        mask = index == b
        count = int(mask.sum())
        bins.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": count,
                "confidence": float(confidence[mask].mean()) if count else None,
                "accuracy": float(correct[mask].mean()) if count else None,
            }
        )
    return bins


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, n_bins: int = 15
) -> float:
    """ECE: sum over 15 equal-width bins of |accuracy - confidence| weighted by the bin's share."""
    n = len(labels)
    if n == 0:
        return float("nan")
    total = 0.0
    for b in reliability_bins(probabilities, labels, n_bins):
        if b["count"]:
            total += b["count"] / n * abs(b["accuracy"] - b["confidence"])
    return total


def brier_score(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Multi-class Brier score (Brier 1950): mean over samples of sum_k (p_k - [y = k])^2.

    For two classes this is twice the common binary form mean((p_1 - y)^2); range [0, 2].
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if len(p) == 0:
        return float("nan")
    onehot = np.eye(p.shape[1])[np.asarray(labels, dtype=np.int64)]
    return float(((p - onehot) ** 2).sum(axis=1).mean())
