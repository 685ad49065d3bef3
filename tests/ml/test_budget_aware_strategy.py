"""budget_aware (decision 0421): random while the learning curve still climbs steeply or a class
is short of labels; once the curve has flattened, diversity's uncertain picks interleaved with
random ones. The switch is a pure function of the evidence, tested on constructed curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ml_worker.strategies import PoolData, get_strategy, ranking
from ml_worker.strategies.budget import curve_slope, evidence_phase, slope_upper_bound

RNG_SEED = 11
STEEP: dict[str, Any] = {
    "curve_labels": [20, 40, 80],
    "curve_aucs": [0.70, 0.80, 0.90],
}  # +0.10 per doubling
FLAT: dict[str, Any] = {
    "curve_labels": [50, 100, 200],
    "curve_aucs": [0.950, 0.953, 0.955],
}  # +0.0025


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


def test_curve_slope_is_auc_gain_per_doubling_over_the_last_two_doublings() -> None:
    assert curve_slope([20, 40, 80], [0.70, 0.80, 0.90]) == pytest.approx(0.10)
    # Only the last two doublings count (labels >= 160 / 4): an early steep part is history.
    assert curve_slope([10, 20, 40, 80, 160], [0.5, 0.9, 0.95, 0.95, 0.95]) == pytest.approx(0.0)
    assert curve_slope([20, 80], [0.7, 0.8]) is None  # two points: no measure of their noise
    assert curve_slope([100, 150, 200, 300], [0.7, 0.8, 0.9, 0.9]) is None  # 1.6 doublings
    # Missing AUCs (a round whose val split held one class) are skipped, not read as zero.
    expected = np.polyfit(np.log2([40, 80, 160]), [0.9, 0.91, 0.91], 1)[0]
    assert curve_slope([20, 40, 60, 80, 160], [0.8, 0.9, float("nan"), 0.91, 0.91]) == (
        pytest.approx(expected)
    )


def test_the_upper_bound_adds_the_curves_own_wobble_to_its_slope() -> None:
    # Points on a line: no wobble, the bound is the slope.
    assert slope_upper_bound([50, 100, 200], [0.95, 0.955, 0.96]) == pytest.approx(0.005)
    # The same fitted slope from scattered points: the bound is Student t's, one-sided.
    labels, aucs = [50, 70, 100, 140, 200], [0.95, 0.97, 0.94, 0.975, 0.96]
    x, y = np.log2(labels), np.asarray(aucs)
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (slope * x + intercept)
    se = np.sqrt(residuals @ residuals / 3 / ((x - x.mean()) ** 2).sum())
    assert slope_upper_bound(labels, aucs) == pytest.approx(slope + 1.6377 * se, rel=1e-4)
    assert slope_upper_bound(labels, aucs, confidence=0.5) == pytest.approx(slope)


def test_a_wobbling_curve_whose_fitted_slope_is_flat_by_chance_stays_early() -> None:
    """A small evaluation split: successive models' AUCs wobble by a few points while the curve
    still climbs. The 0421 rule read the last three points' fitted slope (here +0.001 per
    doubling, under the 0.01 line) and switched to uncertainty; the bound (+0.055) does not."""
    labels, aucs = [20, 30, 45, 65, 100], [0.58, 0.62, 0.67, 0.64, 0.67]
    last_three = np.polyfit(np.log2(labels[-3:]), aucs[-3:], 1)[0]
    assert last_three < 0.01  # what decision 0421 compared with the line
    bound = slope_upper_bound(labels, aucs)
    assert bound is not None and bound > 0.05
    assert evidence_phase([40, 60], 2, labels, aucs) == "early"
    # The same climb measured without wobble also stays early; a flat one without wobble
    # switches.
    assert evidence_phase([40, 60], 2, labels, np.linspace(0.58, 0.68, 5).tolist()) == "early"
    assert evidence_phase([40, 60], 2, labels, [0.66, 0.661, 0.662, 0.663, 0.664]) == (
        "uncertainty"
    )


def test_evidence_phase_needs_labels_of_every_class_and_a_flat_curve() -> None:
    flat = FLAT["curve_labels"], FLAT["curve_aucs"]
    steep = STEEP["curve_labels"], STEEP["curve_aucs"]
    assert evidence_phase([40, 160], 2, *flat) == "uncertainty"
    assert evidence_phase([40, 160], 2, *steep) == "early"
    assert evidence_phase([9, 400], 2, *flat) == "early"  # a class short of min_per_class
    assert evidence_phase([400], 2, *flat) == "early"  # a class nobody labelled
    assert evidence_phase([40, 160], 2, [], []) == "early"  # no curve yet: no evidence
    # A fixed count no longer switches: 500 labels per class on a steep curve stay early.
    assert evidence_phase([500, 500], 2, [250, 500, 1000], [0.6, 0.7, 0.8]) == "early"
    with pytest.raises(ValueError, match="labeled_counts"):
        evidence_phase(None, 2, *flat)


def test_while_the_curve_is_steep_it_serves_the_random_order() -> None:
    pool = two_groups_pool([300, 300])
    assert order("budget_aware", pool, batch_size=4, **STEEP) == order("random", pool)


def test_after_the_switch_it_interleaves_diverse_uncertain_and_random_picks() -> None:
    pool = two_groups_pool([50, 300])
    pure = order("budget_aware", pool, batch_size=4, candidates_factor=10, explore=0.0, **FLAT)
    assert pure == order("diversity", pool, batch_size=4, candidates_factor=10)
    assert {i // 10 for i in pure[:4]} == {0, 1, 2, 3}  # one per group, not four uncertain twins
    mixed = order("budget_aware", pool, batch_size=4, candidates_factor=10, **FLAT)
    random_order = order("random", pool)
    assert mixed[0] == pure[0]  # the most uncertain diverse pick leads
    assert mixed[1] == next(i for i in random_order if i != mixed[0])  # then a random one
    # Half of the first ten served come from each stream.
    from_random = [i for i in mixed[:10] if i in random_order[:10]]
    assert len(from_random) >= 5
    all_random = order("budget_aware", pool, batch_size=4, explore=1.0, **FLAT)
    assert all_random == random_order


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
    "options",
    [
        {"min_per_class": -1},
        {"early": "uncertain"},
        {"batch_size": 0},
        {"explore": 1.5},
        {"curve_labels": [1, 2], "curve_aucs": [0.5]},
        {"span": 0.5},
        {"confidence": 1.0},
        {"max_gain_per_doubling": 0.0},
    ],
)
def test_bad_options_are_rejected(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        get_strategy("budget_aware", **options)
