"""The promotion rule: a candidate replaces the active model only if it is not worse on the
locked test split, by a configurable metric and tolerance."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

# Metrics where a smaller value is better; every other metric is "higher is better".
LOWER_IS_BETTER = ("ece_before", "ece_after", "brier_before", "brier_after", "loss", "val_loss")


@dataclass(frozen=True)
class PromotionRule:
    """`metric` is a key of the evaluation dict; dotted paths reach nested values
    (e.g. "per_class.pneumonia.recall"). A candidate may be at most `tolerance` worse."""

    metric: str = "auc"
    tolerance: float = 0.0

    @property
    def higher_is_better(self) -> bool:
        return self.metric.split(".")[-1] not in LOWER_IS_BETTER

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PromotionRule:
        data = data or {}
        return cls(
            metric=str(data.get("metric", "auc")), tolerance=float(data.get("tolerance", 0.0))
        )


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str
    metric: str
    candidate_value: float | None
    active_value: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def metric_value(metrics: Mapping[str, Any] | None, path: str) -> float | None:
    """The number at dotted `path` in `metrics`, or None when absent or not finite."""
    node: Any = metrics
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float):
        return None
    value = float(node)
    return value if math.isfinite(value) else None


def decide_promotion(
    candidate: Mapping[str, Any],
    active: Mapping[str, Any] | None,
    rule: PromotionRule | None = None,
) -> PromotionDecision:
    """Promote when there is no active model, or the candidate is within `tolerance` of it.

    A candidate without the metric is never promoted over an active model that has it; an active
    model without the metric (e.g. its test split lacked a class) is replaced by one that has it.
    """
    rule = rule or PromotionRule()
    cand = metric_value(candidate, rule.metric)
    if active is None:
        return PromotionDecision(True, "no active model", rule.metric, cand, None)
    act = metric_value(active, rule.metric)
    if cand is None:
        if act is None:
            return PromotionDecision(
                False,
                f"neither model has {rule.metric}; keeping the active one",
                rule.metric,
                None,
                None,
            )
        return PromotionDecision(False, f"candidate has no {rule.metric}", rule.metric, None, act)
    if act is None:
        return PromotionDecision(
            True, f"active model has no {rule.metric}", rule.metric, cand, None
        )
    gap = (act - cand) if rule.higher_is_better else (cand - act)
    if gap <= rule.tolerance + 1e-12:
        return PromotionDecision(
            True,
            f"{rule.metric} {cand:.4f} vs active {act:.4f} (tolerance {rule.tolerance})",
            rule.metric,
            cand,
            act,
        )
    return PromotionDecision(
        False,
        f"{rule.metric} {cand:.4f} is worse than active {act:.4f} by more than {rule.tolerance}",
        rule.metric,
        cand,
        act,
    )
