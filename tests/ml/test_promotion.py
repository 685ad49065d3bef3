"""A candidate model is promoted only when it is not worse than the active one on the test split."""

from __future__ import annotations

from ml_worker.promotion import PromotionRule, decide_promotion


def test_the_first_model_is_always_promoted() -> None:
    assert decide_promotion({"auc": 0.6}, None).promote


def test_a_better_or_equal_candidate_is_promoted() -> None:
    assert decide_promotion({"auc": 0.91}, {"auc": 0.90}).promote
    assert decide_promotion({"auc": 0.90}, {"auc": 0.90}).promote


def test_a_worse_candidate_is_rejected_unless_within_tolerance() -> None:
    rejected = decide_promotion({"auc": 0.89}, {"auc": 0.90})
    assert not rejected.promote and "worse" in rejected.reason
    assert decide_promotion({"auc": 0.895}, {"auc": 0.90}, PromotionRule(tolerance=0.01)).promote


def test_lower_is_better_metrics_are_compared_the_other_way() -> None:
    rule = PromotionRule(metric="ece_after")
    assert decide_promotion({"ece_after": 0.03}, {"ece_after": 0.05}, rule).promote
    assert not decide_promotion({"ece_after": 0.06}, {"ece_after": 0.05}, rule).promote


def test_nested_metrics_are_reached_by_dotted_path() -> None:
    rule = PromotionRule.from_dict({"metric": "per_class.pneumonia.recall", "tolerance": 0})
    active = {"per_class": {"pneumonia": {"recall": 0.8}}}
    assert not decide_promotion({"per_class": {"pneumonia": {"recall": 0.7}}}, active, rule).promote


def test_missing_metrics_never_replace_a_measured_model() -> None:
    assert not decide_promotion({"auc": None}, {"auc": 0.8}).promote
    assert decide_promotion({"auc": 0.7}, {"auc": None}).promote
    assert not decide_promotion({}, {}).promote
