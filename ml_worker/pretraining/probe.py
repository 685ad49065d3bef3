"""Frozen-encoder measurements: kNN and linear-probe accuracy of embeddings (numpy only).

Used by the pretraining probe (bench/pretrain_probe.py) and the tests that check a pretrained
encoder separates classes better than a random one.
"""

from __future__ import annotations

import numpy as np


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-6
    return (train - mean) / std, (test - mean) / std


def knn_accuracy(
    train: np.ndarray,
    train_labels: np.ndarray,
    test: np.ndarray,
    test_labels: np.ndarray,
    k: int = 20,
) -> float:
    """Majority vote of the k nearest training embeddings (cosine, after standardising)."""
    a, b = _standardise(np.asarray(train, np.float64), np.asarray(test, np.float64))
    a /= np.linalg.norm(a, axis=1, keepdims=True) + 1e-12
    b /= np.linalg.norm(b, axis=1, keepdims=True) + 1e-12
    k = min(k, len(a))
    nearest = np.argsort(-(b @ a.T), axis=1, kind="stable")[:, :k]
    votes = np.asarray(train_labels)[nearest]
    classes = int(max(np.max(train_labels), np.max(test_labels))) + 1
    counts = np.stack([(votes == c).sum(axis=1) for c in range(classes)], axis=1)
    return float((counts.argmax(axis=1) == np.asarray(test_labels)).mean())


def linear_probe(
    train: np.ndarray,
    train_labels: np.ndarray,
    test: np.ndarray,
    test_labels: np.ndarray,
    l2: float = 1e-2,
    steps: int = 300,
) -> tuple[float, float]:
    """Multinomial logistic regression (full-batch gradient descent, L2) on standardised
    embeddings: (accuracy, AUC of class 1 vs the rest, one-vs-rest mean when K > 2)."""
    a, b = _standardise(np.asarray(train, np.float64), np.asarray(test, np.float64))
    y = np.asarray(train_labels, dtype=np.int64)
    classes = int(max(y.max(), np.max(test_labels))) + 1
    onehot = np.eye(classes)[y]
    w = np.zeros((a.shape[1], classes))
    bias = np.zeros(classes)
    for _ in range(steps):
        logits = a @ w + bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = (p - onehot) / len(a)
        w -= 0.5 * (a.T @ grad + l2 * w)
        bias -= 0.5 * grad.sum(axis=0)
    scores = b @ w + bias
    accuracy = float((scores.argmax(axis=1) == np.asarray(test_labels)).mean())
    aucs = [
        _auc(scores[:, c] - scores.mean(axis=1), np.asarray(test_labels) == c)
        for c in range(classes)
    ]
    auc = aucs[1] if classes == 2 else float(np.mean(aucs))
    return accuracy, auc


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half."""
    pos, neg = score[positive], score[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="stable")
    ranks = np.empty(len(order))
    values = np.concatenate([pos, neg])[order]
    i = 0
    while i < len(values):  # average ranks over ties
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
