"""TypiClust (ml_worker.strategies.typiclust) on constructed embeddings: one typical pick per
dense region, the largest regions first, regions labels already cover last, outliers never."""

from __future__ import annotations

import numpy as np
import pytest

from ml_worker.strategies import PoolData, get_strategy, ranking
from ml_worker.strategies.typiclust import typiclust_order

CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
SIZES = (120, 60, 25)


def blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs of different sizes plus 6 far outliers; blob index per row (-1 for
    an outlier)."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(c, 1.0, size=(n, 2)) for c, n in zip(CENTRES, SIZES, strict=True)]
    outliers = np.array(
        [[30.0, 30.0], [-25.0, 5.0], [5.0, -28.0], [26.0, -20.0], [-20, 25], [14, 14]]
    )
    x = np.concatenate([*parts, outliers])
    owner = np.concatenate([np.full(n, i) for i, n in enumerate(SIZES)] + [np.full(6, -1)])
    order = rng.permutation(len(x))  # the pool's order must not matter
    return x[order], owner[order]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_one_pick_per_blob_near_its_centre_largest_first(seed: int) -> None:
    x, owner = blobs(seed)
    picks = typiclust_order(x, None, 3, np.random.default_rng(seed))[:3]
    assert sorted(owner[picks].tolist()) == [0, 1, 2]  # one per blob, no outlier
    assert owner[picks[0]] == 0  # the largest blob first
    for pick in picks:
        centre = CENTRES[owner[pick]]
        # Typical = near the centre: within one standard deviation, while a random member of a
        # 2-D unit Gaussian is farther than that 61 % of the time.
        assert np.linalg.norm(x[pick] - centre) < 1.0


def test_outliers_come_after_every_blob_member_of_the_first_rounds() -> None:
    x, owner = blobs(5)
    order = typiclust_order(x, None, 10, np.random.default_rng(0))
    first = order[:40]
    assert (owner[first] >= 0).all()
    assert set(owner[first].tolist()) == {0, 1, 2}  # spread: every blob is served early


def test_labelled_regions_are_covered_so_the_next_picks_go_elsewhere() -> None:
    x, owner = blobs(1)
    rng = np.random.default_rng(0)
    # Two labels already sit in blob 0: the budget of 2 goes to blobs 1 and 2 first.
    labelled = np.array([[0.1, 0.0], [-0.2, 0.3]])
    picks = typiclust_order(x, labelled, 2, rng)[:2]
    assert sorted(owner[picks].tolist()) == [1, 2]


def test_strategy_scores_serve_the_same_order_and_need_embeddings() -> None:
    x, owner = blobs(2)
    strategy = get_strategy("typiclust", batch_size=3)
    served = ranking(strategy.score(PoolData(embeddings=x), np.random.default_rng(4)))
    assert sorted(owner[served[:3]].tolist()) == [0, 1, 2]
    assert sorted(served.tolist()) == list(range(len(x)))
    with pytest.raises(ValueError, match="needs embeddings"):
        strategy.score(PoolData(probabilities=np.full((3, 2), 0.5)), np.random.default_rng(0))


@pytest.mark.parametrize("seed", range(6))
def test_every_pool_item_is_served_once_whatever_the_data(seed: int) -> None:
    # Scattered data where small groups keep appearing however often they are set aside.
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0, 1, (150, 4)), rng.standard_cauchy((50, 4))])
    labelled = rng.normal(0, 1, (7, 4))
    for budget in (1, 4, 10, 40):
        order = typiclust_order(x, labelled, budget, np.random.default_rng(seed))
        assert sorted(order.tolist()) == list(range(len(x)))
