"""Segmentation strategies: which image should a doctor outline next?

Each scores one image from its per-pixel probabilities. Averaging pixel uncertainty over the
whole image lets the large, easy background decide (a 128 x 128 ultrasound is ~95 % confident
background), so uncertainty is averaged over the image's *region of interest*: the pixels the
model gives at least `threshold` foreground probability, grown by `boundary` pixels (the lesion
and its boundary band, where outlines are uncertain). An image with no such pixel is scored over
its half-maximum foreground region (decision 0357): high for a lesion the model half sees but
does not draw, low for a confidently empty image, which still comes last.

Registered names: seg_entropy, seg_disagreement (test-time-flip and/or MC-dropout mutual
information), seg_expected_dice (1 - the Dice the model expects of its own mask), seg_diversity
(a base score's candidates spread over k-means clusters of the embeddings), seg_budget_aware
(random early, then seg_diversity over seg_expected_dice mixed with random picks). The
model-free `random` and `cold_start` apply unchanged.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ml_worker.strategies.base import PoolData, ranking, register, scores_from_order
from ml_worker.strategies.batch import ColdStart, Diversity

_EPS = 1e-6
_CHUNK = 64  # images per step: bounds the float64 working copy of a large pool


def dilate(masks: np.ndarray, radius: int) -> np.ndarray:
    """(N, H, W) bool grown by a (2r+1) x (2r+1) square: separable shifted maxima (numpy only:
    the web process imports the strategy names and must not pull in torch)."""
    out = np.asarray(masks, dtype=bool)
    for axis in (1, 2):
        grown = out.copy()
        for shift in range(1, radius + 1):
            ahead = [slice(None)] * 3
            behind = [slice(None)] * 3
            ahead[axis], behind[axis] = slice(shift, None), slice(None, -shift)
            grown[tuple(behind)] |= out[tuple(ahead)]
            grown[tuple(ahead)] |= out[tuple(behind)]
        out = grown
    return out


def region_of_interest(probabilities: np.ndarray, threshold: float, boundary: int) -> np.ndarray:
    """(N, H, W) bool: foreground probability >= threshold, dilated by `boundary` pixels.

    An image with no such pixel takes its half-maximum region instead (foreground probability
    >= half the image's highest): where the model leans most towards a lesion. A lesion the model
    half sees but does not draw (a faint 0.1-0.3 blob: the doctor must outline it all) is then
    scored by the entropy over that blob, which is high, instead of by its confident background;
    a confidently empty image's half-maximum region is still confident, so it still scores low."""
    foreground = np.asarray(probabilities[:, 1:], dtype=np.float32).sum(axis=1)
    region = foreground >= threshold
    missed = ~region.reshape(len(region), -1).any(axis=1)
    if missed.any():
        peak = foreground[missed].reshape(int(missed.sum()), -1).max(axis=1)
        region[missed] = foreground[missed] >= (peak / 2)[:, None, None]
    return dilate(region, boundary) if boundary > 0 else region


def pixel_entropy(probabilities: np.ndarray) -> np.ndarray:
    """(N, K+1, H, W) -> (N, H, W) Shannon entropy in nats."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), _EPS, 1.0)
    return np.asarray(-(p * np.log(p)).sum(axis=1))


def region_mean(values: np.ndarray, region: np.ndarray) -> np.ndarray:
    """(N,) mean of `values` over each image's region; the whole image where the region is empty."""
    n = len(values)
    flat_v = values.reshape(n, -1)
    flat_r = region.reshape(n, -1)
    inside = flat_r.sum(axis=1)
    mean_in = (flat_v * flat_r).sum(axis=1) / np.maximum(inside, 1)
    return np.asarray(np.where(inside > 0, mean_in, flat_v.mean(axis=1)))


class _RegionStrategy:
    def __init__(self, threshold: float = 0.3, boundary: int = 3) -> None:
        if not 0.0 < threshold < 1.0 or boundary < 0:
            raise ValueError("threshold must be in (0, 1) and boundary >= 0")
        self.threshold = threshold
        self.boundary = boundary


@register
class SegEntropy(_RegionStrategy):
    """Mean pixel entropy over the predicted foreground and its boundary band."""

    name: ClassVar[str] = "seg_entropy"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if pool.pixel_probabilities is None:
            raise ValueError("strategy 'seg_entropy' needs pixel probabilities (train a model)")
        p = pool.pixel_probabilities
        out = np.empty(len(p))
        for start in range(0, len(p), _CHUNK):
            chunk = np.asarray(p[start : start + _CHUNK], dtype=np.float64)
            region = region_of_interest(chunk, self.threshold, self.boundary)
            out[start : start + len(chunk)] = region_mean(pixel_entropy(chunk), region)
        return out


@register
class SegDisagreement(_RegionStrategy):
    """Mutual information between the prediction and the sample (test-time flip, MC dropout):
    H(mean_s p_s) - mean_s H(p_s) per pixel, averaged over the union of the samples' regions.
    High where the flipped or dropped-out networks draw different outlines."""

    name: ClassVar[str] = "seg_disagreement"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        samples = pool.pixel_samples
        if samples is None or samples.shape[0] < 2:
            raise ValueError("strategy 'seg_disagreement' needs >= 2 pixel samples (TTA or MC)")
        n = samples.shape[1]
        out = np.empty(n)
        for start in range(0, n, _CHUNK):
            chunk = np.asarray(samples[:, start : start + _CHUNK], dtype=np.float64)
            mean = chunk.mean(axis=0)
            info = pixel_entropy(mean) - np.mean([pixel_entropy(s) for s in chunk], axis=0)
            region = np.any(
                [region_of_interest(s, self.threshold, self.boundary) for s in chunk], axis=0
            )
            out[start : start + chunk.shape[1]] = region_mean(np.maximum(info, 0.0), region)
        return out


def expected_dice(probabilities: np.ndarray) -> np.ndarray:
    """(N, K+1, H, W) -> (N,) the Dice the model expects its own drawn mask to reach, averaged
    over the K foreground classes (decision 0429).

    Per class c, the drawn mask m is where c is the argmax and q = max p_c is taken as the chance
    that the image holds class c at all. The lesion present, the drawn mask scores the soft Dice
    2 sum(p m) / (sum p + sum m) against the model's own probabilities; absent, an empty drawing
    scores 1 and any drawing 0. So E = q * soft Dice where the model draws, and E = 1 - q where
    it draws nothing: a lesion the model half sees but does not draw (q 0.1-0.5) expects a poor
    mask, a confidently empty image (q near 0) a perfect one. No constant to tune."""
    p = np.asarray(probabilities, dtype=np.float64)
    n, channels = p.shape[0], p.shape[1]
    drawn = p.argmax(axis=1)
    per_class = np.empty((n, channels - 1))
    for c in range(1, channels):
        pc = p[:, c].reshape(n, -1)
        mc = (drawn == c).reshape(n, -1)
        present = pc.max(axis=1)
        overlap = (pc * mc).sum(axis=1)
        size = mc.sum(axis=1)
        soft = 2.0 * overlap / np.maximum(pc.sum(axis=1) + size, _EPS)
        per_class[:, c - 1] = np.where(size > 0, present * soft, 1.0 - present)
    return np.asarray(per_class.mean(axis=1))


@register
class SegExpectedDice:
    """1 - the Dice the model expects its own mask to reach (`expected_dice`): the images whose
    suggestion the doctor would have to redraw most come first."""

    name: ClassVar[str] = "seg_expected_dice"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if pool.pixel_probabilities is None:
            raise ValueError(
                "strategy 'seg_expected_dice' needs pixel probabilities (train a model)"
            )
        p = pool.pixel_probabilities
        out = np.empty(len(p))
        for start in range(0, len(p), _CHUNK):
            out[start : start + _CHUNK] = 1.0 - expected_dice(p[start : start + _CHUNK])
        return out


@register
class SegDiversity(Diversity):
    """seg_entropy's top `candidates_factor x batch_size` images, clustered on embeddings and
    served round-robin across clusters (the classification `diversity` over a segmentation base)."""

    name: ClassVar[str] = "seg_diversity"

    def __init__(
        self,
        base: str = "seg_entropy",
        batch_size: int = 10,
        candidates_factor: int = 4,
        method: str = "kmeans",
    ) -> None:
        super().__init__(base, batch_size, candidates_factor, method)


def interleave(informed: np.ndarray, explore: np.ndarray, share: float) -> np.ndarray:
    """One order from two rankings of the same items: position i comes from `explore` when
    floor((i + 1) * share) > floor(i * share), else from `informed` (the first from `informed`
    whenever share < 1); an item already placed is skipped."""
    n = len(informed)
    taken = np.zeros(n, dtype=bool)
    streams = [iter(informed.tolist()), iter(explore.tolist())]
    order: list[int] = []
    i = 0
    while len(order) < n:
        source = int(np.floor((i + 1) * share) > np.floor(i * share))
        for item in streams[source]:
            if not taken[item]:
                taken[item] = True
                order.append(item)
                break
        else:  # that stream is exhausted: the rest come from the other one
            order.extend(int(k) for k in streams[1 - source] if not taken[k])
            break
        i += 1
    return np.asarray(order, dtype=np.int64)


@register
class SegBudgetAware:
    """Until every foreground class appears in `min_per_class` labelled images (or before any
    model): random or typical-and-diverse (`early`). Afterwards a mixed batch: seg_diversity's
    picks with a share `explore` of random picks interleaved (decision 0349). Uncertainty from a
    U-Net trained on a handful of outlines points at its own failures (odd, hard images), not
    at what teaches it most (the classification finding of decision 0331 applies); the random
    share keeps every batch partly representative of the pool, which bounds how far below random
    the policy can fall when the model's uncertainty misleads, on any dataset."""

    name: ClassVar[str] = "seg_budget_aware"

    def __init__(
        self,
        min_per_class: int = 30,
        early: str = "random",
        batch_size: int = 10,
        candidates_factor: int = 4,
        explore: float = 0.5,
        base: str = "seg_expected_dice",
    ) -> None:
        if min_per_class < 0 or early not in ("random", "typical"):
            raise ValueError("min_per_class >= 0 and early in ('random', 'typical')")
        if not 0.0 <= explore <= 1.0:
            raise ValueError("explore is a share of each batch, in [0, 1]")
        self.min_per_class = min_per_class
        self.explore = explore
        self.early = ColdStart(batch_size=batch_size, method=early)
        # The informed half ranks by `base` (decision 0429: the model's expected Dice error;
        # "seg_entropy" was the rule before it), spread over embedding clusters.
        self.later = SegDiversity(
            base=base, batch_size=batch_size, candidates_factor=candidates_factor
        )

    def phase(self, pool: PoolData) -> str:
        if pool.pixel_probabilities is None:
            return "early"
        if pool.labeled_counts is None:
            raise ValueError("strategy 'seg_budget_aware' needs labeled_counts (images per class)")
        counts = np.asarray(pool.labeled_counts)
        classes = pool.pixel_probabilities.shape[1] - 1
        if len(counts) < classes or counts.min() < self.min_per_class:
            return "early"
        return "uncertainty"

    def score(self, pool: PoolData, rng: np.random.Generator) -> np.ndarray:
        if self.phase(pool) == "early":
            return self.early.score(pool, rng)
        if self.explore <= 0.0:
            return self.later.score(pool, rng)
        # Drawn first: the same numbers the `random` strategy draws from this generator.
        random_order = ranking(rng.random(pool.size))
        if self.explore >= 1.0:
            return scores_from_order(random_order, pool.size)
        informed = ranking(self.later.score(pool, rng))
        return scores_from_order(interleave(informed, random_order, self.explore), pool.size)
