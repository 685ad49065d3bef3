"""Agreement statistics against hand-computed examples and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from annotations.agreement import (
    Answer,
    answer_similarity,
    answers_disagree,
    bootstrap,
    box_iou,
    cohen_kappa,
    dice,
    fleiss_kappa,
    iou,
    majority_labels,
    medoid_answer,
)


def test_cohen_kappa_matches_a_hand_computed_two_by_two_table() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    # p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2/0.5 = 0.4
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_kappa_agrees_with_scikit_learn_on_random_ratings() -> None:
    rng = np.random.default_rng(7)
    for _ in range(25):
        n = int(rng.integers(5, 60))
        a = rng.choice(["a", "b", "c"], size=n).tolist()
        b = [x if rng.random() < 0.6 else rng.choice(["a", "b", "c"]) for x in a]
        expected = cohen_kappa_score(a, b)
        if math.isnan(expected):
            continue
        assert cohen_kappa(a, b) == pytest.approx(expected, abs=1e-12)


def test_fleiss_kappa_matches_the_worked_example_of_fleiss_1971() -> None:
    # The 10-subject, 14-rater, 5-category example (Wikipedia "Fleiss' kappa"): kappa = 0.210.
    table = [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]  # fmt: skip
    ratings = [[c for c, k in enumerate(row) for _ in range(k)] for row in table]
    assert fleiss_kappa(ratings) == pytest.approx(0.2099, abs=1e-4)


def test_fleiss_kappa_of_two_raters_is_close_to_scotts_pi() -> None:
    a = ["x", "x", "y", "y", "x", "y", "x", "x"]
    b = ["x", "y", "y", "y", "x", "x", "x", "x"]
    # Scott's pi: p_o = 6/8; pooled p(x) = 10/16 → p_e = 0.625² + 0.375² = 0.53125
    expected = (0.75 - 0.53125) / (1 - 0.53125)
    assert fleiss_kappa(list(zip(a, b, strict=True))) == pytest.approx(expected)


def test_dice_and_iou_of_two_overlapping_squares() -> None:
    a = np.zeros((10, 10), dtype=bool)
    b = np.zeros((10, 10), dtype=bool)
    a[0:4, 0:4] = True  # 16 px
    b[2:6, 2:6] = True  # 16 px, 4 shared
    assert dice(a, b) == pytest.approx(2 * 4 / 32)
    assert iou(a, b) == pytest.approx(4 / 28)
    assert dice(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0


def test_box_iou_in_continuous_coordinates() -> None:
    assert box_iou([[0, 0], [2, 2]], [[1, 1], [3, 3]]) == pytest.approx(1 / 7)
    assert box_iou([[0, 0], [2, 2]], [[2, 0], [0, 2]]) == pytest.approx(1.0)
    assert box_iou([[0, 0], [1, 1]], [[5, 5], [6, 6]]) == 0.0


def test_the_bootstrap_interval_contains_the_estimate_and_needs_enough_items() -> None:
    units = [1.0] * 30 + [0.0] * 10
    result = bootstrap(lambda u: float(np.mean(u)), units)
    assert result.estimate == pytest.approx(0.75)
    assert result.low is not None and result.high is not None
    assert result.low < 0.75 < result.high
    assert bootstrap(lambda u: float(np.mean(u)), units[:5]).low is None


def test_a_strict_majority_decides_a_single_label_vote() -> None:
    def ans(*labels: str) -> Answer:
        return Answer(author_id=None, labels=frozenset(labels))

    assert majority_labels([ans("a"), ans("a"), ans("b")], multi_label=False) == ["a"]
    assert majority_labels([ans("a"), ans("b")], multi_label=False) is None
    assert majority_labels([ans("a", "b"), ans("a"), ans("b", "c")], multi_label=True) == ["a", "b"]


def test_shape_answers_agree_when_their_regions_overlap_enough() -> None:
    def boxes(*corners: list[list[int]]) -> Answer:
        shapes = [{"kind": "box", "label": "n", "frame": 1, "points": c} for c in corners]
        return Answer(author_id=None, labels=frozenset({"n"}), shapes=shapes)

    close = boxes([[0, 0], [10, 10]])
    near = boxes([[1, 1], [10, 10]])
    far = boxes([[12, 12], [16, 16]])
    assert answer_similarity(close, near, 20, 20) == pytest.approx(2 * 81 / (100 + 81))
    assert not answers_disagree([close, near], task_type="detection", rows=20, cols=20)
    assert answers_disagree([close, far], task_type="detection", rows=20, cols=20)
    # Two of three agree but the outlier drags every mean below the threshold: review it.
    assert medoid_answer([close, near, far], 20, 20) is None
    assert medoid_answer([close, far], 20, 20) is None
    middle = boxes([[0, 0], [10, 9]])
    assert medoid_answer([near, close, middle], 20, 20) is close
