"""Detection strategies on hand-made box sets rank images as expected."""

from __future__ import annotations

import numpy as np
import pytest

from ml_worker.strategies import PoolData, get_strategy, ranking, strategy_names
from ml_worker.task_types import task_type


def b(*rows: list[float]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def rank(name: str, pool: PoolData, **options: object) -> list[int]:
    strategy = get_strategy(name, **options)
    return ranking(strategy.score(pool, np.random.default_rng(0))).tolist()


def test_every_detection_strategy_is_registered_and_listed_for_the_task() -> None:
    for name in task_type("detection").strategies:
        assert name in strategy_names()


def test_uncertainty_asks_first_about_an_undecided_box_then_an_image_with_nothing_confident() -> (
    None
):
    pool = PoolData(
        box_scores=[
            np.array([0.97]),  # a confident lesion, nothing else
            np.array([0.96, 0.5]),  # a confident lesion and an undecided box: entropy 1 bit
            np.array([0.2]),  # nothing confident: 1 - 0.2 = 0.8, entropy 0.72
            np.array([]),  # nothing above the floor at all: 1 - 0 = 1... ties with image 1
            np.array([0.99, 0.02]),  # confident about both
        ]
    )
    order = rank("det_uncertainty", pool)
    assert order[:2] == [1, 3]  # both score 1.0; ties by index
    assert order[2] == 2
    assert order[-2:] == [0, 4]


def test_flip_disagreement_ranks_boxes_that_move_or_vanish_under_the_flip_first() -> None:
    same = b([10, 10, 30, 30])
    pool = PoolData(
        boxes=[same, same, same, b()],
        box_scores=[np.array([0.9]), np.array([0.9]), np.array([0.9]), np.array([])],
        flipped_boxes=[same, b([14, 10, 34, 30]), b(), b()],
        flipped_scores=[np.array([0.88]), np.array([0.9]), np.array([]), np.array([])],
    )
    scores = get_strategy("det_flip_disagreement").score(pool, np.random.default_rng(0))
    # Vanished (0.9) > moved (IoU 2/3: (1/3) x 0.9 = 0.3) > stable (0.02) > nothing at all (0).
    assert scores == pytest.approx([0.02, 0.3, 0.9, 0.0], abs=1e-6)
    assert ranking(scores).tolist() == [2, 1, 0, 3]


def test_diversity_spreads_the_uncertain_candidates_over_clusters() -> None:
    # Eight uncertain images in two tight embedding clusters (0-3 slightly more uncertain) and
    # four confident ones: a batch of 2 takes one from each cluster.
    scores = [np.array([0.5])] * 4 + [np.array([0.6])] * 4 + [np.array([0.99])] * 4
    embeddings = np.concatenate(
        [np.zeros((4, 2)), np.full((4, 2), 10.0), np.full((4, 2), -10.0)]
    ) + np.random.default_rng(0).normal(0, 0.01, (12, 2))
    pool = PoolData(box_scores=scores, embeddings=embeddings)
    first_two = rank("det_diversity", pool, batch_size=2, candidates_factor=4)[:2]
    assert sorted(i // 4 for i in first_two) == [0, 1]


def test_budget_aware_is_random_until_each_class_is_boxed_often_enough() -> None:
    scores = [np.array([0.99])] * 10 + [np.array([0.5])] * 10
    embeddings = np.random.default_rng(1).normal(size=(20, 4))
    early = PoolData(box_scores=scores, embeddings=embeddings, labeled_counts=np.array([3]))
    later = PoolData(box_scores=scores, embeddings=embeddings, labeled_counts=np.array([40]))
    strategy = get_strategy("det_budget_aware", min_per_class=30, batch_size=5)
    assert strategy.phase(early) == "early" and strategy.phase(later) == "uncertainty"
    pure = dict(min_per_class=30, batch_size=5, candidates_factor=2, explore=0.0)
    top = rank("det_budget_aware", later, **pure)
    assert set(top[:5]) <= set(range(10, 20))  # without exploration: the uncertain half only
    # By default half of each batch is random (decision 0351): every second pick is the
    # uncertainty ranking's, in its order.
    mixed = rank("det_budget_aware", later, min_per_class=30, batch_size=5, candidates_factor=2)
    informed = [i for i in mixed[:10] if i >= 10]
    assert len(informed) >= 5 and set(mixed[0:10:2]) <= set(range(10, 20))
    with pytest.raises(ValueError, match="needs box scores"):
        get_strategy("det_uncertainty").score(
            PoolData(embeddings=embeddings), np.random.default_rng()
        )


def test_uncertainty_mixed_alternates_the_most_uncertain_images_with_random_ones() -> None:
    # Ten confident images (0-9) and ten undecided ones (10-19, the later ones more undecided).
    scores = [np.array([0.99])] * 10 + [np.array([0.5 + 0.02 * (9 - i)]) for i in range(10)]
    pool = PoolData(box_scores=scores)
    pure = rank("det_uncertainty", pool)
    assert pure[:10] == list(range(19, 9, -1))
    # The random half is the `random` strategy's order from the same generator (decision 0364).
    random_order = ranking(np.random.default_rng(0).random(20)).tolist()
    mixed = rank("det_uncertainty_mixed", pool)
    assert sorted(mixed) == list(range(20))
    for position, item in enumerate(mixed):
        source = pure if position % 2 == 0 else random_order
        assert item == next(i for i in source if i not in mixed[:position]), position
    assert any(i < 10 for i in mixed[:10])  # confident images are asked about too
    # explore=0 is det_uncertainty, explore=1 is random.
    assert rank("det_uncertainty_mixed", pool, explore=0.0) == pure
    assert rank("det_uncertainty_mixed", pool, explore=1.0) == random_order
    with pytest.raises(ValueError, match="share"):
        get_strategy("det_uncertainty_mixed", explore=1.5)


def test_expected_error_puts_a_hidden_finding_and_a_coin_toss_box_before_a_clean_one() -> None:
    """Decision 0430: 1 - q x soft F1 of the shown boxes, or 1 - (1 - q) where none is shown."""
    from ml_worker.strategies.detection import expected_f1

    pool = PoolData(
        box_scores=[
            np.array([0.95]),  # one confident box: E = 0.95 x 2(0.95)/(1 + 0.95)
            np.array([0.55]),  # a coin-toss box: E = 0.55 x 1.1/1.55
            np.array([0.4, 0.1]),  # a finding the detector half sees but hides: E = 1 - 0.4
            np.array([0.03]),  # confidently empty: E = 0.97
            np.array([]),  # nothing at all above the floor: E = 1
            np.array([0.9, 0.45]),  # a shown box and a hidden one: 0.9 x 1.8/(1 + 1.35)
        ]
    )
    scores = get_strategy("det_expected_error").score(pool, np.random.default_rng(0))
    expected = [
        1 - 0.95 * 1.9 / 1.95,
        1 - 0.55 * 1.1 / 1.55,
        0.4,
        0.03,
        0.0,
        1 - 0.9 * 1.8 / 2.35,
    ]
    assert scores == pytest.approx(expected, abs=1e-9)
    assert ranking(scores).tolist() == [1, 2, 5, 0, 3, 4]
    # A hidden box lowers the expected F1 of the shown one (it may be a missed finding), and a
    # second shown box at the same score neither helps nor hurts: both are equally likely right.
    assert expected_f1(np.array([0.9, 0.45])) < expected_f1(np.array([0.9]))
    assert expected_f1(np.array([0.9, 0.9])) == pytest.approx(expected_f1(np.array([0.9])))


def test_expected_error_needs_a_model() -> None:
    with pytest.raises(ValueError, match="needs box scores"):
        get_strategy("det_expected_error").score(
            PoolData(embeddings=np.zeros((2, 2))), np.random.default_rng(0)
        )


def test_budget_aware_ranks_its_informed_half_by_its_base_score() -> None:
    """`base` picks the informed half's score: det_uncertainty by default (decision 0430 measured
    det_expected_error there and kept the default); the two disagree on faint images."""
    faint = [np.array([0.02 + 0.004 * i]) for i in range(20)]  # nothing shown
    coin = [np.array([0.5 + 0.01 * i]) for i in range(20)]  # one undecided box shown
    pool = PoolData(
        box_scores=faint + coin,
        labeled_counts=np.array([30]),
        embeddings=np.random.default_rng(1).normal(size=(40, 3)),
    )

    def top4(name: str, **options: object) -> list[int]:
        strategy = get_strategy(name, batch_size=4, **options)
        return ranking(strategy.score(pool, np.random.default_rng(0)))[:4].tolist()

    by_error = top4("det_diversity", base="det_expected_error")
    by_uncertainty = top4("det_diversity")
    assert set(by_error) <= set(range(20, 40)) and by_error != by_uncertainty
    assert top4("det_budget_aware", explore=0.0) == by_uncertainty
    assert top4("det_budget_aware", explore=0.0, base="det_expected_error") == by_error
