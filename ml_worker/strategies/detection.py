"""Detection strategies: which image should a doctor box next?

Each scores one image from the detector's boxes and their sigmoid scores (PoolData.box_scores,
boxes, and for disagreement the flipped image's boxes mirrored back). Pure functions over arrays.

- det_uncertainty: the image's most uncertain finding: max over its boxes of the binary entropy of
  the score (in bits, 1 at 0.5), or 1 - max score when nothing is confident (an image where the
  detector finds nothing is where it misses lesions; decision 0360).
- det_expected_error: 1 - the F1 the detector expects its own shown boxes to reach
  (`expected_f1`, decision 0430; seg_expected_dice's rule over boxes).
- det_flip_disagreement: boxes of the image and of its left-right flip matched greedily by IoU;
  a matched pair disagrees by (1 - IoU) x max score + |score difference|, a box without a partner
  by its score; the image scores its largest disagreement.
- det_diversity: det_uncertainty candidates spread over k-means clusters of image embeddings.
- det_uncertainty_mixed: det_uncertainty's order interleaved with a random order from the first
  model on, a share `explore` of every batch random (decision 0364).
- det_budget_aware: random until every class is boxed in `min_per_class` labelled images, then
  det_diversity (segmentation's rule, decision 0331).
The model-free `random` and `cold_start` apply unchanged.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ml_worker.detection.boxes import box_iou
from ml_worker.strategies.base import PoolData, ranking, register, scores_from_order
from ml_worker.strategies.batch import Diversity
from ml_worker.strategies.segmentation import SegBudgetAware, interleave


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in bits of Bernoulli(p), 0 at 0 and 1, 1 at 0.5."""
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.asarray(-(q * np.log2(q) + (1 - q) * np.log2(1 - q)))


def image_uncertainty(scores: np.ndarray) -> float:
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return 1.0
    return float(max(binary_entropy(s).max(), 1.0 - s.max()))


def expected_f1(scores: np.ndarray) -> float:
    """The F1 the detector expects its own shown boxes (score >= 0.5) to reach on this image,
    reading each box's score as the chance that it is a true finding (decision 0430).

    q = max score is the chance the image holds a finding at all. Where the detector shows boxes,
    the expected hits are the shown scores, the expected false positives their complements and
    the expected misses the scores of the boxes it hides, so the soft F1 is 2 sum(s shown) /
    (n shown + sum s); E = q * soft F1 (seg_expected_dice's soft Dice, with boxes for pixels).
    Where it shows nothing, the drawing is right only if the image is empty: E = 1 - q. A faint
    finding the detector does not show (q 0.2-0.5) and a coin-toss box expect a poor answer, a
    confidently empty image (q near 0) a perfect one. No constant to tune beyond the 0.5 at which
    a calibrated score becomes the likelier answer."""
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return 1.0
    q = float(s.max())
    shown = s >= 0.5
    if not shown.any():
        return 1.0 - q
    soft = 2.0 * float(s[shown].sum()) / (float(shown.sum()) + float(s.sum()))
    return q * soft


def flip_disagreement(
    boxes: np.ndarray, scores: np.ndarray, flipped_boxes: np.ndarray, flipped_scores: np.ndarray
) -> float:
    a_s = np.asarray(scores, dtype=np.float64)
    b_s = np.asarray(flipped_scores, dtype=np.float64)
    if a_s.size == 0 and b_s.size == 0:
        return 0.0
    overlaps = (
        box_iou(boxes, flipped_boxes) if a_s.size and b_s.size else np.zeros((a_s.size, b_s.size))
    )
    free_a, free_b = np.ones(a_s.size, bool), np.ones(b_s.size, bool)
    worst = 0.0
    # Greedy: the most overlapping pair first, so each box has at most one partner.
    for flat in np.argsort(-overlaps, axis=None, kind="stable"):
        i, j = np.unravel_index(flat, overlaps.shape)
        if overlaps[i, j] <= 0:
            break
        if free_a[i] and free_b[j]:
            free_a[i] = free_b[j] = False
            d = (1 - overlaps[i, j]) * max(a_s[i], b_s[j]) + abs(a_s[i] - b_s[j])
            worst = max(worst, float(d))
    unmatched = np.concatenate([a_s[free_a], b_s[free_b]])
    if unmatched.size:
        worst = max(worst, float(unmatched.max()))
    return worst


@register
class DetUncertainty:
    name: ClassVar[str] = "det_uncertainty"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if pool.box_scores is None:
            raise ValueError("strategy 'det_uncertainty' needs box scores (train a model)")
        return np.asarray([image_uncertainty(s) for s in pool.box_scores])


@register
class DetUncertaintyMixed:
    """det_uncertainty's order with a share `explore` of random picks interleaved in every batch.

    A detector trained on a few dozen boxes is least sure about odd images (tiny or faint
    lesions, artefacts); a batch made only of those is not a sample of the pool, and the next
    model can get worse on the typical test image. The random share keeps each batch partly an
    i.i.d. sample (the hybrid / epsilon-greedy batches of the active-learning literature), which
    bounds the loss against random on any dataset while keeping part of the gain."""

    name: ClassVar[str] = "det_uncertainty_mixed"

    def __init__(self, explore: float = 0.5) -> None:
        if not 0.0 <= explore <= 1.0:
            raise ValueError("explore is a share of each batch, in [0, 1]")
        self.explore = explore
        self.informed = DetUncertainty()

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        # Drawn first: the same numbers the `random` strategy draws from this generator, so the
        # random share follows random's picks where the pools agree (as decision 0351).
        random_order = ranking(rng.random(pool.size))
        informed = ranking(self.informed.score(pool, rng))
        return scores_from_order(interleave(informed, random_order, self.explore), pool.size)


@register
class DetExpectedError:
    """1 - the F1 the detector expects of its own shown boxes (`expected_f1`): the images whose
    proposals the doctor would have to fix most come first."""

    name: ClassVar[str] = "det_expected_error"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if pool.box_scores is None:
            raise ValueError("strategy 'det_expected_error' needs box scores (train a model)")
        return np.asarray([1.0 - expected_f1(s) for s in pool.box_scores])


@register
class DetFlipDisagreement:
    name: ClassVar[str] = "det_flip_disagreement"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if (
            pool.boxes is None
            or pool.box_scores is None
            or pool.flipped_boxes is None
            or pool.flipped_scores is None
        ):
            raise ValueError("strategy 'det_flip_disagreement' needs boxes of flipped images")
        return np.asarray(
            [
                flip_disagreement(b, s, fb, fs)
                for b, s, fb, fs in zip(
                    pool.boxes,
                    pool.box_scores,
                    pool.flipped_boxes,
                    pool.flipped_scores,
                    strict=True,
                )
            ]
        )


@register
class DetDiversity(Diversity):
    name: ClassVar[str] = "det_diversity"

    def __init__(
        self,
        base: str = "det_uncertainty",
        batch_size: int = 10,
        candidates_factor: int = 4,
        method: str = "kmeans",
    ) -> None:
        super().__init__(base, batch_size, candidates_factor, method)


@register
class DetBudgetAware(SegBudgetAware):
    name: ClassVar[str] = "det_budget_aware"

    def __init__(
        self,
        min_per_class: int = 30,
        early: str = "random",
        batch_size: int = 10,
        candidates_factor: int = 4,
        explore: float = 0.5,
        base: str = "det_uncertainty",
    ) -> None:
        # The same mixed batch as seg_budget_aware after the switch (decision 0351): a share
        # `explore` of random picks bounds the loss when the detector's uncertainty misleads.
        super().__init__(min_per_class, early, batch_size, candidates_factor, explore)
        # The informed half ranks by `base` over embedding clusters ("det_expected_error" measured
        # no better on BUS-BRA, decision 0430).
        self.later = DetDiversity(  # type: ignore[assignment]
            base=base, batch_size=batch_size, candidates_factor=candidates_factor
        )

    def phase(self, pool: PoolData) -> str:
        if pool.box_scores is None:
            return "early"
        if pool.labeled_counts is None:
            raise ValueError("strategy 'det_budget_aware' needs labeled_counts (images per class)")
        counts = np.asarray(pool.labeled_counts)
        if len(counts) == 0 or counts.min() < self.min_per_class:
            return "early"
        return "uncertainty"
