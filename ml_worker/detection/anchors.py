"""Anchor shapes fitted to the training boxes (decision 0362).

RetinaNet regresses each box from its matched anchors; when no anchor resembles a lesion's shape
the regression has to travel far and localisation suffers at strict overlaps (IoU 0.5). The fit
is a pair of quantile rules, so it runs on any box set (one large lesion per image, many small
objects, or none at all):

- sizes: the side sqrt(w x h) of the boxes between their 2nd and 98th percentiles is what the
  pyramid must cover; each coarser level doubles the finest one's anchors, so the finest level
  gets `n_sides` sides spaced geometrically from the 2nd percentile up to the 98th divided by
  2^(levels - 1) (at least a two-thirds octave apart, as RetinaNet's 2^0, 2^(1/3), 2^(2/3)
  scales, when the boxes span less than the pyramid);
- aspect ratios (height / width): the 1/6, 1/2 and 5/6 quantiles of the boxes' ratios, merged
  when within 15 % of each other (square-ish box sets then keep fewer anchors).

Without any box the old fixed shapes are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_SIDES = (10, 16, 24)  # decision 0360's fixed square anchors (10-96 px at 128 px)
DEFAULT_ASPECTS = (1.0,)
SIZE_QUANTILES = (0.02, 0.98)
ASPECT_QUANTILES = (1 / 6, 1 / 2, 5 / 6)
MERGE_ASPECTS_WITHIN = 1.15
MIN_SIDE = 4  # px: below a quarter of the finest stride (8) an anchor matches nothing reliably


def _box_array(boxes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    if isinstance(boxes, np.ndarray):
        return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    parts = [np.asarray(b, dtype=np.float64).reshape(-1, 4) for b in boxes]
    return np.concatenate(parts) if parts else np.zeros((0, 4))


def anchor_sides(
    boxes: Sequence[np.ndarray] | np.ndarray, levels: int = 3, n_sides: int = 3
) -> tuple[int, ...]:
    """Anchor sides (px) at the finest pyramid level for (M, 4) (x0, y0, x1, y1) boxes, or a
    list of per-image box arrays. Ascending, distinct, >= MIN_SIDE."""
    if levels < 1 or n_sides < 1:
        raise ValueError("levels and n_sides must be >= 1")
    b = _box_array(boxes)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    valid = np.isfinite(w) & np.isfinite(h) & (w > 0) & (h > 0)
    if not valid.any():
        return DEFAULT_SIDES
    side = np.sqrt(w[valid] * h[valid])
    low, high = np.quantile(side, SIZE_QUANTILES)
    low = max(float(low), MIN_SIDE)
    top = max(float(high) / 2 ** (levels - 1), low * 2 ** ((n_sides - 1) / n_sides))
    values = np.geomspace(low, top, n_sides) if n_sides > 1 else np.array([low])
    sides = sorted({max(MIN_SIDE, round(v)) for v in values})
    return tuple(sides)


def anchor_aspects(boxes: Sequence[np.ndarray] | np.ndarray) -> tuple[float, ...]:
    """Anchor height/width ratios for the boxes: quantiles of theirs, near-equal ones merged."""
    b = _box_array(boxes)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    valid = np.isfinite(w) & np.isfinite(h) & (w > 0) & (h > 0)
    if not valid.any():
        return DEFAULT_ASPECTS
    log_ratio = np.log(h[valid] / w[valid])
    out: list[float] = []
    for q in np.exp(np.quantile(log_ratio, ASPECT_QUANTILES)):
        if out and q / out[-1] < MERGE_ASPECTS_WITHIN:
            continue
        out.append(float(q))
    # A merged run keeps its first member; re-centre a lone survivor on the median.
    if len(out) == 1:
        out = [float(np.exp(np.median(log_ratio)))]
    return tuple(round(a, 2) for a in out)


def anchor_shapes(sides: Sequence[int], aspects: Sequence[float]) -> list[tuple[int, int]]:
    """(height, width) of each anchor at the finest level: every side at every aspect, area
    kept (h = side x sqrt(aspect), w = side / sqrt(aspect)), at least 1 px."""
    return [(max(1, round(s * a**0.5)), max(1, round(s / a**0.5))) for s in sides for a in aspects]
