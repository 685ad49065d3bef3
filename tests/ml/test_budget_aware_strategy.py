"""budget_aware picks by its early rule while a class is short of labels, then like diversity."""

from __future__ import annotations

import numpy as np
import pytest

from ml_worker.strategies import PoolData, get_strategy, ranking

RNG_SEED = 11


def order(name: str, pool: PoolData, **options: object) -> list[int]:
    strategy = get_strategy(name, **options)
    return ranking(strategy.score(pool, np.random.default_rng(RNG_SEED))).tolist()


def two_groups_pool(labeled_counts: list[int] | None) -> PoolData:
    """The uncertain items (p near 0.5) all sit in group 0 of four well-separated groups."""
    rng = np.random.default_rng(3)
    embeddings = np.repeat(np.eye(4) * 10, 10, axis=0) + rng.normal(0, 0.01, (40, 4))
    p1 = np.repeat([0.5, 0.8, 0.9, 0.97], 10) + rng.uniform(0, 0.01, 40)
    counts = None if labeled_counts is None else np.asarray(labeled_counts)
    return PoolData(
        probabilities=np.stack([1 - p1, p1], axis=1),
        embeddings=embeddings,
        labeled_counts=counts,
    )


def test_while_a_class_has_too_few_labels_it_serves_the_random_order() -> None:
    pool = two_groups_pool([12, 300])  # the minority class is short of 50 labels
    assert order("budget_aware", pool, batch_size=4) == order("random", pool)


def test_once_every_class_has_enough_labels_it_serves_diverse_uncertain_items() -> None:
    pool = two_groups_pool([50, 300])
    served = order("budget_aware", pool, batch_size=4, candidates_factor=10)
    assert served == order("diversity", pool, batch_size=4, candidates_factor=10)
    assert {i // 10 for i in served[:4]} == {0, 1, 2, 3}  # one per group, not four uncertain twins
    assert served[0] // 10 == 0  # the most uncertain group leads


def test_a_class_nobody_labelled_yet_keeps_it_in_the_early_phase() -> None:
    strategy = get_strategy("budget_aware", min_per_class=5)
    assert strategy.phase(two_groups_pool([0, 500])) == "early"  # type: ignore[attr-defined]
    assert strategy.phase(two_groups_pool([500])) == "early"  # type: ignore[attr-defined]
    assert strategy.phase(two_groups_pool([5, 5])) == "uncertainty"  # type: ignore[attr-defined]


def test_typical_early_phase_picks_one_typical_item_per_cluster() -> None:
    pool = two_groups_pool([3, 17])
    served = order("budget_aware", pool, batch_size=4, early="typical")
    assert {i // 10 for i in served[:4]} == {0, 1, 2, 3}


def test_before_any_model_it_needs_no_counts() -> None:
    pool = PoolData(embeddings=np.random.default_rng(0).normal(size=(30, 3)))
    assert order("budget_aware", pool, batch_size=5) == order("random", pool)


def test_with_a_model_but_without_label_counts_it_refuses_to_guess() -> None:
    with pytest.raises(ValueError, match="labeled_counts"):
        order("budget_aware", two_groups_pool(None))


@pytest.mark.parametrize(
    "options", [{"min_per_class": -1}, {"early": "uncertain"}, {"batch_size": 0}]
)
def test_bad_options_are_rejected(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        get_strategy("budget_aware", **options)
