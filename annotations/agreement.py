"""Inter-reader agreement: Cohen's and Fleiss' kappa, Dice and IoU, bootstrap intervals.

Pure Python + numpy (no Django), so every number here is checked against hand-computed
examples and scikit-learn in tests/annotations/test_agreement_numbers.py. The database side
(which readers answered what) lives in annotations.services.agreement_report.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from annotations.payloads import rasterize

# Two shape answers "agree" when their mean Dice reaches this; below it the item goes to review.
SHAPE_AGREEMENT_THRESHOLD = 0.5
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240917
T = TypeVar("T")


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two raters over the same items: (p_o - p_e) / (1 - p_e).

    Returns 1.0 when both raters used a single identical category throughout (p_e = 1: perfect
    agreement that chance also predicts; scikit-learn returns nan there)."""
    if len(a) != len(b):
        raise ValueError("both raters must rate the same items")
    n = len(a)
    if n == 0:
        return math.nan
    observed = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[c] * count_b[c] for c in count_a) / (n * n)
    if expected == 1.0:
        return 1.0
    return (observed - expected) / (1 - expected)


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Fleiss' kappa; `ratings[i]` holds the categories the n raters gave item i (n constant)."""
    if not ratings:
        return math.nan
    n = len(ratings[0])
    if n < 2 or any(len(r) != n for r in ratings):
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of ratings per item")
    categories = sorted({c for r in ratings for c in r}, key=repr)
    counts = np.array([[Counter(r)[c] for c in categories] for r in ratings], dtype=float)
    items = counts.shape[0]
    p_j = counts.sum(axis=0) / (items * n)
    p_i = ((counts * counts).sum(axis=1) - n) / (n * (n - 1))
    p_bar = p_i.mean()
    p_e = float((p_j * p_j).sum())
    if p_e == 1.0:
        return 1.0
    return float((p_bar - p_e) / (1 - p_e))


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """2|A∩B| / (|A|+|B|); 1.0 when both are empty (both readers marked nothing)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return 1.0
    return 2.0 * int(np.logical_and(a, b).sum()) / total


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """|A and B| / |A or B|; 1.0 when both are empty."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    union = int(np.logical_or(a, b).sum())
    if union == 0:
        return 1.0
    return int(np.logical_and(a, b).sum()) / union


def box_iou(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    """IoU of two boxes given as two opposite corners each, in continuous coordinates."""
    ax0, ax1 = sorted((a[0][0], a[1][0]))
    ay0, ay1 = sorted((a[0][1], a[1][1]))
    bx0, bx1 = sorted((b[0][0], b[1][0]))
    by0, by1 = sorted((b[0][1], b[1][1]))
    w = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    h = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = w * h
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 1.0


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float | None
    high: float | None
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "estimate": _round(self.estimate),
            "ci95": None if self.low is None else [_round(self.low), _round(self.high)],
            "n": self.n,
        }


def _round(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(float(value), 4)


def bootstrap(
    statistic: Callable[[list[T]], float],
    units: Sequence[T],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    min_units: int = 10,
) -> Interval:
    """Percentile bootstrap (95%) resampling whole items, the unit readers disagree on.

    Below `min_units` items an interval would be noise, so none is reported."""
    estimate = statistic(list(units))
    n = len(units)
    if n < min_units:
        return Interval(estimate, None, None, n)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        sample = [units[i] for i in rng.integers(0, n, size=n)]
        value = statistic(sample)
        if not math.isnan(value):
            values.append(value)
    if not values:
        return Interval(estimate, None, None, n)
    low, high = np.percentile(values, [2.5, 97.5])
    return Interval(estimate, float(low), float(high), n)


# Comparing whole answers (one reader's annotations on one item) ---------------------------


@dataclass
class Answer:
    """What one reader (or a review) said about one item."""

    author_id: int | None
    labels: frozenset[str]
    shapes: list[dict[str, Any]] = field(default_factory=list)  # payload + "kind" + "frame"
    annotation_ids: list[int] = field(default_factory=list)


def region_masks(
    shapes: Sequence[Mapping[str, Any]], rows: int, cols: int
) -> dict[tuple[int, str], np.ndarray]:
    """Union of the region shapes (box, polygon, mask) per (frame, label)."""
    out: dict[tuple[int, str], np.ndarray] = {}
    for shape in shapes:
        pixels = rasterize(str(shape.get("kind")), shape, rows, cols)
        if pixels is None or pixels.shape != (rows, cols):
            continue
        key = (int(shape.get("frame", 1)), str(shape.get("label", "")))
        out[key] = out[key] | pixels if key in out else pixels
    return out


def answer_overlap(
    a: Answer, b: Answer, rows: int | None, cols: int | None
) -> tuple[float, float] | None:
    """Mean (Dice, IoU) over every (frame, label) either answer paints; None without regions."""
    if not rows or not cols:
        return None
    masks_a = region_masks(a.shapes, rows, cols)
    masks_b = region_masks(b.shapes, rows, cols)
    keys = set(masks_a) | set(masks_b)
    if not keys:
        return None
    empty = np.zeros((rows, cols), dtype=bool)
    dices = [dice(masks_a.get(k, empty), masks_b.get(k, empty)) for k in keys]
    ious = [iou(masks_a.get(k, empty), masks_b.get(k, empty)) for k in keys]
    return float(np.mean(dices)), float(np.mean(ious))


def answer_similarity(a: Answer, b: Answer, rows: int | None, cols: int | None) -> float:
    """1.0 for identical answers, 0.0 for unrelated ones: Dice of painted regions where there
    are any, else the Jaccard index of the label sets (1.0 when both are empty)."""
    overlap = answer_overlap(a, b, rows, cols)
    if overlap is not None:
        return overlap[0]
    union = a.labels | b.labels
    return 1.0 if not union else len(a.labels & b.labels) / len(union)


def answers_disagree(
    answers: Sequence[Answer], *, task_type: str, rows: int | None, cols: int | None
) -> bool:
    if len(answers) < 2:
        return False
    if task_type == "classification":
        return len({a.labels for a in answers}) > 1
    return any(
        answer_similarity(x, y, rows, cols) < SHAPE_AGREEMENT_THRESHOLD
        for i, x in enumerate(answers)
        for y in answers[i + 1 :]
    )


def majority_labels(answers: Sequence[Answer], *, multi_label: bool) -> list[str] | None:
    """Labels more than half the readers chose; None when a single-label vote has no majority."""
    votes: Counter[str] = Counter()
    for answer in answers:
        votes.update(answer.labels)
    half = len(answers) / 2
    if multi_label:
        return sorted(label for label, count in votes.items() if count > half)
    winners = [label for label, count in votes.items() if count > half]
    return winners if len(winners) == 1 else None


def medoid_answer(answers: Sequence[Answer], rows: int | None, cols: int | None) -> Answer | None:
    """The reader's answer closest on average to the others, if it agrees with them enough."""
    if not answers:
        return None
    if len(answers) == 1:
        return answers[0]
    best: tuple[float, int] | None = None
    for i, answer in enumerate(answers):
        others = [answer_similarity(answer, o, rows, cols) for j, o in enumerate(answers) if j != i]
        score = float(np.mean(others))
        if best is None or score > best[0]:
            best = (score, i)
    assert best is not None
    return answers[best[1]] if best[0] >= SHAPE_AGREEMENT_THRESHOLD else None
