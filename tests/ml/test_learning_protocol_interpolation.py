"""The segmentation and detection benches report where each arm's mean curve crosses the target
between two budgets (bench/learning_protocol.py), beside the budget at which it is first
measured above it: on the quick schedule, whose budgets double, the measured figure cannot show
any saving under 50 %."""

from __future__ import annotations

import math

import pytest

from bench.learning_protocol import labels_to_target, labels_to_target_interpolated

BUDGETS = [10, 20, 40, 80]


def test_a_crossing_between_two_budgets_is_placed_on_the_log_axis() -> None:
    # Halfway in value between 40 and 80 labels: halfway in log(labels), sqrt(40 * 80).
    means = [0.50, 0.60, 0.80, 0.90]
    assert labels_to_target(BUDGETS, means, 0.85) == 80
    assert labels_to_target_interpolated(BUDGETS, means, 0.85) == pytest.approx(math.sqrt(3200))
    # A quarter of the way: 40 * 2 ** 0.25.
    assert labels_to_target_interpolated(BUDGETS, means, 0.825) == pytest.approx(40 * 2**0.25)


def test_two_arms_that_both_read_80_labels_differ_once_interpolated() -> None:
    """The 2026-12-07 BUS-BRA 128 px run's shape: both arms first measured above the target at
    80 labels, one just above it and one clearly above."""
    random = [0.6806, 0.7422, 0.8383, 0.9128]
    other = [0.6806, 0.7422, 0.8383, 0.9206]
    target = 0.912
    assert labels_to_target(BUDGETS, random, target) == labels_to_target(BUDGETS, other, target)
    l_random = labels_to_target_interpolated(BUDGETS, random, target)
    l_other = labels_to_target_interpolated(BUDGETS, other, target)
    assert l_random is not None and l_other is not None
    assert 40 < l_other < l_random < 80
    assert 1 - l_other / l_random == pytest.approx(0.063, abs=0.002)


def test_reached_at_the_first_budget_never_or_exactly_on_a_budget() -> None:
    assert labels_to_target_interpolated(BUDGETS, [0.9, 0.9, 0.9, 0.9], 0.85) == 10.0
    assert labels_to_target_interpolated(BUDGETS, [0.5, 0.6, 0.7, 0.8], 0.85) is None
    assert labels_to_target_interpolated(BUDGETS, [0.5, 0.6, 0.85, 0.9], 0.85) == pytest.approx(40)
    # Not monotone: the first crossing counts, as for the measured figure.
    means = [0.5, 0.9, 0.7, 0.95]
    assert labels_to_target(BUDGETS, means, 0.85) == 20
    assert 10 < labels_to_target_interpolated(BUDGETS, means, 0.85) < 20  # type: ignore[operator]
