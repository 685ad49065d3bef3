"""A budget-aware default: random picks while the labelled set is in the low-budget regime, then
uncertainty mixed with random picks; the switch is made by evidence (decisions 0421, 0428).

Uncertainty sampling loses to random below some budget (Hacohen et al. 2022, "Active Learning on
a Budget"; Chen et al. 2023 on MedMNIST; our runs, docs/learning.md): a model trained on a few
labels is unsure about the wrong images. Where that budget lies depends on the dataset, so a
fixed labels-per-class count (the old rule, decision 0331) is right on one dataset and wrong on
the next. The evidence used instead is the learning curve: while the model still gains a lot
per doubling of the labels, it is in the low-budget regime, where representative (random) picks
are what teach it; once the curve has shown, beyond its own wobble, that it has flattened, the
remaining errors are near the decision boundary and uncertainty is informative. After the
switch every batch still mixes a share of random picks, so on a dataset where uncertainty
misleads the policy stays near random.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from scipy import stats

from ml_worker.strategies.base import PoolData, ranking, register, scores_from_order
from ml_worker.strategies.batch import ColdStart, Diversity
from ml_worker.strategies.segmentation import interleave


def _recent_points(
    labels: Sequence[int], aucs: Sequence[float], span: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """log2(labels) and AUC of the curve's points within its last `span` doublings (labels >=
    the last count / 2**span); None unless the curve reaches back that far and holds at least
    three usable points there (two points give a slope but no measure of its noise)."""
    points = sorted(
        (float(n), float(a))
        for n, a in zip(labels, aucs, strict=True)
        if n > 0 and a is not None and np.isfinite(a)
    )
    if not points or np.log2(points[-1][0] / points[0][0]) < span:
        return None
    recent = [p for p in points if p[0] >= points[-1][0] / 2.0**span]
    if len(recent) < 3:
        return None
    return np.log2([p[0] for p in recent]), np.asarray([p[1] for p in recent])


def curve_slope(labels: Sequence[int], aucs: Sequence[float], span: float = 2.0) -> float | None:
    """Least-squares slope of AUC per doubling of the labels over the curve's last `span`
    doublings (labels ascending or not); None when the curve is too short to say (see
    `_recent_points`)."""
    recent = _recent_points(labels, aucs, span)
    if recent is None:
        return None
    x, y = recent
    return float(np.polyfit(x, y, 1)[0])


def slope_upper_bound(
    labels: Sequence[int], aucs: Sequence[float], span: float = 2.0, confidence: float = 0.9
) -> float | None:
    """The one-sided `confidence` upper bound of `curve_slope` (Student t on the fit's residual
    scatter): how steep the curve may still be, given how much its points wobble. A curve
    measured on a small evaluation split wobbles by several points of AUC from one model to the
    next; its fitted slope alone then says "flat" by chance (decision 0428)."""
    recent = _recent_points(labels, aucs, span)
    if recent is None:
        return None
    x, y = recent
    (slope, intercept) = np.polyfit(x, y, 1)
    residuals = y - (slope * x + intercept)
    dof = len(x) - 2
    standard_error = np.sqrt((residuals @ residuals) / dof / ((x - x.mean()) ** 2).sum())
    return float(slope + stats.t.ppf(confidence, dof) * standard_error)


def evidence_phase(
    labeled_counts: np.ndarray | Sequence[int] | None,
    num_classes: int,
    curve_labels: Sequence[int],
    curve_aucs: Sequence[float],
    *,
    min_per_class: int = 10,
    span: float = 2.0,
    confidence: float = 0.9,
    max_gain_per_doubling: float = 0.01,
) -> str:
    """ "early" or "uncertainty" from the evidence (pure).

    "uncertainty" needs every class labelled at least `min_per_class` times (below that no
    model's uncertainty means much, and the curve's points are noise) and a learning curve that
    has shown it is flat: over its last `span` doublings of the labels, the `confidence` upper
    bound of its AUC gain per doubling is below `max_gain_per_doubling` (decision 0428; 0421
    compared the fitted slope of the last three points, which noise alone pushed under the
    line). Without enough curve, "early".
    """
    if labeled_counts is None:
        raise ValueError("strategy 'budget_aware' needs labeled_counts (labels per class)")
    counts = np.asarray(labeled_counts)
    if len(counts) < num_classes or counts.min() < min_per_class:
        return "early"
    bound = slope_upper_bound(curve_labels, curve_aucs, span, confidence)
    if bound is None or bound >= max_gain_per_doubling:
        return "early"
    return "uncertainty"


@register
class BudgetAware:
    """Before any model, or while `evidence_phase` says "early": the `early` choice (random, or
    typical-and-diverse = `cold_start` over the embeddings). Afterwards: `diversity`'s order
    (the most uncertain candidates by `base`, spread over k-means clusters) with a share
    `explore` of random picks interleaved, as seg_budget_aware does (decision 0351).

    The evidence is the learning curve (`curve_labels`, `curve_aucs`: labels used and AUC of the
    project's earlier models, ascending), given by the scoring job (or the benchmark) as options.
    """

    name: ClassVar[str] = "budget_aware"

    def __init__(
        self,
        min_per_class: int = 10,
        early: str = "random",
        base: str = "entropy",
        batch_size: int = 10,
        candidates_factor: int = 5,
        explore: float = 0.5,
        curve_labels: Sequence[int] = (),
        curve_aucs: Sequence[float] = (),
        span: float = 2.0,
        confidence: float = 0.9,
        max_gain_per_doubling: float = 0.01,
    ) -> None:
        if min_per_class < 0:
            raise ValueError("min_per_class must be >= 0")
        if early not in ("random", "typical"):
            raise ValueError("budget_aware early must be 'random' or 'typical'")
        if not 0.0 <= explore <= 1.0:
            raise ValueError("explore is a share of each batch, in [0, 1]")
        if len(curve_labels) != len(curve_aucs):
            raise ValueError("curve_labels and curve_aucs must have the same length")
        if span < 1.0 or not 0.5 <= confidence < 1.0 or max_gain_per_doubling <= 0:
            raise ValueError("span >= 1, confidence in [0.5, 1) and max_gain_per_doubling > 0")
        self.min_per_class = min_per_class
        self.explore = explore
        self.curve_labels = list(curve_labels)
        self.curve_aucs = list(curve_aucs)
        self.span = span
        self.confidence = confidence
        self.max_gain_per_doubling = max_gain_per_doubling
        self.early = ColdStart(batch_size=batch_size, method=early)
        self.later = Diversity(
            base=base, batch_size=batch_size, candidates_factor=candidates_factor
        )

    def phase(self, pool: PoolData) -> str:
        """Which rule scores this pool: "early" or "uncertainty"."""
        if pool.probabilities is None:
            return "early"
        return evidence_phase(
            pool.labeled_counts,
            pool.probabilities.shape[1],
            self.curve_labels,
            self.curve_aucs,
            min_per_class=self.min_per_class,
            span=self.span,
            confidence=self.confidence,
            max_gain_per_doubling=self.max_gain_per_doubling,
        )

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if self.phase(pool) == "early":
            return self.early.score(pool, rng)
        if self.explore <= 0.0:
            return self.later.score(pool, rng)
        # Drawn first: the same numbers the `random` strategy draws from this generator, so in
        # the benchmark the random share follows the random arm's picks where the pools agree.
        random_order = ranking(rng.random(pool.size))
        if self.explore >= 1.0:
            return scores_from_order(random_order, pool.size)
        informed = ranking(self.later.score(pool, rng))
        return scores_from_order(interleave(informed, random_order, self.explore), pool.size)
