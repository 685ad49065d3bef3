"""Temperature scaling repairs an over-confident model; ECE, Brier and the evaluation report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml_worker.calibration import (
    PRIOR_LOG_T_SD,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    softmax,
)
from ml_worker.drift_calibration import drift_temperature
from ml_worker.evaluation import evaluate, roc_auc


def calibrated_logits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose softmax is the true class probability (labels drawn from it)."""
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 2.0, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(int)
    return np.stack([np.zeros(n), margin], axis=1), labels


def test_ece_falls_after_temperature_scaling_an_overconfident_model() -> None:
    val_logits, val_labels = calibrated_logits(3000, seed=0)
    test_logits, test_labels = calibrated_logits(3000, seed=1)
    overconfident_val, overconfident_test = val_logits * 4, test_logits * 4
    temperature = fit_temperature(overconfident_val, val_labels)
    assert 3.4 < temperature < 4.6
    before = expected_calibration_error(softmax(overconfident_test), test_labels)
    after = expected_calibration_error(softmax(overconfident_test, temperature), test_labels)
    assert before > 0.1
    assert after < 0.03
    assert brier_score(softmax(overconfident_test, temperature), test_labels) < brier_score(
        softmax(overconfident_test), test_labels
    )


def test_temperature_scaling_never_changes_the_ranking() -> None:
    logits, labels = calibrated_logits(500, seed=2)
    assert roc_auc(softmax(logits * 4), labels) == roc_auc(softmax(logits * 4, 3.0), labels)


def test_ece_and_brier_of_known_predictions() -> None:
    probabilities = np.array([[0.2, 0.8], [0.2, 0.8], [0.2, 0.8], [0.2, 0.8], [0.9, 0.1]])
    labels = np.array([1, 1, 1, 0, 0])
    # bin (0.8]: confidence 0.8, accuracy 0.75 (4 items); bin (0.9]: confidence 0.9, accuracy 1.
    assert np.isclose(expected_calibration_error(probabilities, labels), 0.8 * 0.05 + 0.2 * 0.1)
    assert np.isclose(brier_score(probabilities, labels), (3 * 0.08 + 1.28 + 0.02) / 5)
    bins = reliability_bins(probabilities, labels)
    assert len(bins) == 15 and sum(b["count"] for b in bins) == 5


def test_evaluation_report_is_complete_and_json_ready() -> None:
    logits, labels = calibrated_logits(400, seed=3)
    report = evaluate(logits * 3, labels, ["normal", "pneumonia"], temperature=3.0, n_bootstrap=200)
    json.dumps(report, allow_nan=False)
    assert report["auc_ci"][0] <= report["auc"] <= report["auc_ci"][1]
    assert sum(map(sum, report["confusion_matrix"])) == 400
    assert set(report["per_class"]) == {"normal", "pneumonia"}
    assert report["per_class"]["pneumonia"]["support"] == int(labels.sum())
    assert report["ece_after"] < report["ece_before"]
    assert set(report["roc"]) == {"pneumonia"}


def test_auc_is_undefined_when_the_split_has_one_class() -> None:
    report = evaluate(np.zeros((5, 2)), np.zeros(5, dtype=int), ["a", "b"], n_bootstrap=10)
    assert report["auc"] is None and report["auc_ci"] == [None, None]


def test_multi_class_report_uses_one_vs_rest_auc_and_per_class_counts() -> None:
    labels = np.array([0, 1, 2, 2, 1, 0])
    logits = np.eye(3)[labels] * 5.0
    logits[0] = [0.0, 5.0, 0.0]  # one class-0 image predicted as class 1
    report = evaluate(logits, labels, ["a", "b", "c"], n_bootstrap=20)
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [0, 0, 2]]
    assert report["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    assert report["per_class"]["b"]["precision"] == 2 / 3
    assert set(report["roc"]) == {"a", "b", "c"}
    assert 0.5 < report["auc"] < 1.0


def test_a_few_validation_images_all_right_no_longer_sharpen_the_model_20x() -> None:
    """Decision 0423: five validation images, all predicted right. Maximum likelihood drives T
    to the 0.05 bound (a 20x sharpening); the MAP temperature stays near the prior T = 1."""
    logits = np.array([[0.0, 2.0], [0.0, 3.0], [1.5, 0.0], [0.0, 1.0], [2.0, 0.0]])
    labels = np.array([1, 1, 0, 1, 0])
    assert fit_temperature(logits, labels) == pytest.approx(0.05)
    assert 0.6 < fit_temperature(logits, labels, prior_sd=PRIOR_LOG_T_SD) < 1.0


def test_map_temperature_on_small_validation_splits_calibrates_better_than_maximum_likelihood() -> (
    None
):
    """A mildly over-confident network (logits 1.5x and 2x a calibrated model's), T fitted on 10
    validation images, 40 seeded draws: the MAP temperature's mean test ECE is lower than
    maximum likelihood's and than the uncalibrated model's, and its worst draw is far better."""
    test_logits, test_labels = calibrated_logits(5000, seed=1)
    for scale in (1.5, 2.0):
        before = expected_calibration_error(softmax(test_logits * scale), test_labels)
        ml: list[float] = []
        map_: list[float] = []
        for draw in range(40):
            val_logits, val_labels = calibrated_logits(10, seed=100 + draw)
            for fitted, out in (
                (fit_temperature(val_logits * scale, val_labels), ml),
                (fit_temperature(val_logits * scale, val_labels, prior_sd=PRIOR_LOG_T_SD), map_),
            ):
                out.append(
                    expected_calibration_error(softmax(test_logits * scale, fitted), test_labels)
                )
        assert np.mean(map_) < np.mean(ml)
        assert np.mean(map_) < before
        assert max(map_) < max(ml) - 0.05


def test_with_hundreds_of_images_the_prior_barely_moves_the_temperature() -> None:
    val_logits, val_labels = calibrated_logits(3000, seed=0)
    ml = fit_temperature(val_logits * 3, val_labels)
    assert 2.6 < ml < 3.4
    assert fit_temperature(val_logits * 3, val_labels, prior_sd=PRIOR_LOG_T_SD) == pytest.approx(
        ml, rel=0.02
    )


def test_drift_temperature_counts_perturbed_copies_as_their_originals_evidence() -> None:
    """Nine rows per validation image (clean + 8 perturbed copies) are the evidence of one image:
    the prior weighs as much against 10 images with copies as against 10 without."""
    val_logits, val_labels = calibrated_logits(10, seed=5)
    copies = np.concatenate([val_logits * 2] * 9)
    assert drift_temperature(copies, val_labels) == pytest.approx(
        fit_temperature(val_logits * 2, val_labels, prior_sd=PRIOR_LOG_T_SD), rel=1e-3
    )
    assert drift_temperature(np.zeros((0, 2)), np.zeros(0, dtype=int)) == 1.0
