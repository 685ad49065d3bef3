"""The multi-label strategies on hand-made per-label probabilities, and the per-label metrics."""

from __future__ import annotations

import numpy as np
import pytest

from learning.strategy_names import effective_strategy, strategies_for
from ml_worker.multilabel import evaluate_multilabel, fit_label_temperatures, positive_weights
from ml_worker.strategies import PoolData, get_strategy, ranking


def test_mean_binary_entropy_puts_items_unsure_of_more_labels_first() -> None:
    probabilities = np.array(
        [
            [0.99, 0.01, 0.98],  # sure of every label, present or absent
            [0.5, 0.5, 0.5],  # unsure of all three
            [0.5, 0.02, 0.97],  # unsure of one
            [0.45, 0.55, 0.99],  # unsure of two
        ]
    )
    scores = get_strategy("ml_entropy").score(
        PoolData(probabilities=probabilities), np.random.default_rng(0)
    )
    assert list(ranking(scores)) == [1, 3, 2, 0]


def test_bald_per_label_prefers_disagreeing_samples_over_agreeing_unsure_ones() -> None:
    # (T=4, N=3, L=2): item 0's samples all say 0.5 (unsure, but agreeing); item 1's samples
    # swing between 0.05 and 0.95 on label 0 (the same mean, disagreeing); item 2 is sure.
    samples = np.array(
        [
            [[0.5, 0.5], [0.05, 0.5], [0.99, 0.01]],
            [[0.5, 0.5], [0.95, 0.5], [0.99, 0.01]],
            [[0.5, 0.5], [0.05, 0.5], [0.99, 0.01]],
            [[0.5, 0.5], [0.95, 0.5], [0.99, 0.01]],
        ]
    )
    scores = get_strategy("ml_bald").score(
        PoolData(probabilities=samples.mean(axis=0), mc_probabilities=samples),
        np.random.default_rng(0),
    )
    assert ranking(scores)[0] == 1
    assert scores[1] > 0.1 and scores[0] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="MC-dropout"):
        get_strategy("ml_bald").score(PoolData(probabilities=samples[0]), np.random.default_rng(0))


def test_multi_label_projects_take_only_strategies_for_independent_labels() -> None:
    assert "ml_entropy" in strategies_for("classification", multi_label=True)
    assert "entropy" not in strategies_for("classification", multi_label=True)
    assert "ml_entropy" not in strategies_for("classification")
    # A stored softmax strategy falls back to the multi-label default.
    assert effective_strategy("classification", "budget_aware", multi_label=True) == "ml_entropy"


def test_positive_weights_follow_the_label_balance_and_are_capped() -> None:
    targets = np.array([[1, 0, 0]] + [[0, 1, 0]] * 25 + [[0, 0, 0]] * 74, dtype=np.float32)
    weights = positive_weights(targets).numpy()
    assert weights[0] == pytest.approx(20.0)  # 99 negatives per positive, capped at 20
    assert weights[1] == pytest.approx(75 / 25)
    assert weights[2] == pytest.approx(1.0)  # no positive: neutral


def test_per_label_metrics_and_temperatures() -> None:
    rng = np.random.default_rng(0)
    # Label 0: calibrated logits z scaled by 4 (overconfident by a factor 4); label 1: noise.
    z = rng.normal(0, 2, 400)
    y = np.stack([rng.random(400) < 1 / (1 + np.exp(-z)), rng.random(400) < 0.3], 1)
    y = y.astype(np.float32)
    logits = np.stack([4 * z, rng.normal(0, 1, 400)], 1)
    temperatures = fit_label_temperatures(logits, y)
    assert 3.0 < temperatures[0] < 5.5  # the factor 4 is found and undone
    metrics = evaluate_multilabel(logits, y, ["a", "b"], temperatures=temperatures)
    assert metrics["per_label"]["a"]["auc"] > 0.85
    assert 0.4 < metrics["per_label"]["b"]["auc"] < 0.6
    assert metrics["auc"] == pytest.approx(
        (metrics["per_label"]["a"]["auc"] + metrics["per_label"]["b"]["auc"]) / 2
    )
    assert metrics["per_label"]["a"]["ece_after"] < metrics["per_label"]["a"]["ece_before"]
    assert metrics["per_class"]["a"]["support"] == int(y[:, 0].sum())
    assert metrics["no_finding"]["n"] == int((y.sum(axis=1) == 0).sum())
