"""Active-learning strategies, registered by name: random, least_confidence, margin, entropy, bald,
diversity, cold_start, budget_aware, typiclust; for multi-label ml_entropy, ml_bald; for
segmentation seg_entropy, seg_disagreement, seg_expected_dice, seg_diversity, seg_budget_aware;
for detection det_uncertainty, det_flip_disagreement, det_diversity, det_budget_aware. Build one
with `get_strategy(name, **options)`."""

from ml_worker.strategies import batch as _batch  # noqa: F401  (registers diversity, cold_start)
from ml_worker.strategies import budget as _budget  # noqa: F401  (registers budget_aware)
from ml_worker.strategies import detection as _detection  # noqa: F401  (registers det_*)
from ml_worker.strategies import multilabel as _multilabel  # noqa: F401  (registers ml_*)
from ml_worker.strategies import segmentation as _segmentation  # noqa: F401  (registers seg_*)
from ml_worker.strategies import typiclust as _typiclust  # noqa: F401  (registers typiclust)
from ml_worker.strategies import uncertainty as _uncertainty  # noqa: F401  (registers the rest)
from ml_worker.strategies.base import (
    PoolData,
    Strategy,
    get_strategy,
    ranking,
    register,
    scores_from_order,
    select,
    strategy_names,
)

__all__ = [
    "PoolData",
    "Strategy",
    "get_strategy",
    "ranking",
    "register",
    "scores_from_order",
    "select",
    "strategy_names",
]
