"""Per-run training overrides an admin may send with "retrain now" ({"config": {...}}).

Checked here, on the web side, without importing torch: the keys mirror a subset of
ml_worker.training.TrainConfig plus the promotion rule. Anything else is a 400, so a typo never
silently trains with defaults.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers


class RunConfigSerializer(serializers.Serializer[dict[str, Any]]):
    max_epochs = serializers.IntegerField(min_value=1, max_value=500, required=False)
    batch_size = serializers.IntegerField(min_value=1, max_value=1024, required=False)
    learning_rate = serializers.FloatField(min_value=1e-6, max_value=1.0, required=False)
    weight_decay = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    patience = serializers.IntegerField(min_value=1, max_value=100, required=False)
    min_samples_per_epoch = serializers.IntegerField(
        min_value=0, max_value=1_000_000, required=False
    )
    seed = serializers.IntegerField(min_value=0, required=False)
    augment = serializers.BooleanField(required=False)
    # A multiple of the default augmentation ranges (0 = none); what a search samples.
    augment_strength = serializers.FloatField(min_value=0.0, max_value=3.0, required=False)
    # Segmentation and detection (decision 0354): fine-tune the active model (default) or train
    # from scratch, and for how many epochs a fine-tuning runs.
    warm_start = serializers.BooleanField(required=False)
    warm_epochs = serializers.IntegerField(min_value=1, max_value=100, required=False)
    promotion_metric = serializers.CharField(max_length=80, required=False)
    promotion_tolerance = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {key: "unknown training setting" for key in sorted(unknown)}
            )
        return attrs


def validated_run_config(data: Any) -> dict[str, Any]:
    """The cleaned overrides; raises serializers.ValidationError (→ 400) on bad input."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise serializers.ValidationError({"config": "must be an object"})
    checked = RunConfigSerializer(data=data)
    checked.is_valid(raise_exception=True)
    return dict(checked.validated_data)


class SearchRequestSerializer(serializers.Serializer[dict[str, Any]]):
    """A hyperparameter search (decision 0391): bounded by a trial count and a time budget; the
    epochs searched run from 5 (or fewer, if `max_epochs` is smaller) up to `max_epochs`. The
    view checks `config` with validated_run_config and the rest with validated_search."""

    trials = serializers.IntegerField(min_value=1, max_value=50, default=6)
    time_budget_s = serializers.IntegerField(min_value=10, default=1800)
    max_epochs = serializers.IntegerField(min_value=1, max_value=100, default=20)
    # Fixed overrides every trial and the final run share (the retrain body's "config").
    config = RunConfigSerializer(required=False)

    def validate_time_budget_s(self, value: int) -> int:
        # The search, then the best settings' final run, must end inside the training task's
        # time limit: half of it goes to the trials.
        limit = settings.TRAINING_SOFT_TIME_LIMIT_S // 2
        if value > limit:
            raise serializers.ValidationError(
                f"at most {limit} s (half the training task's time limit)"
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {key: "unknown search setting" for key in sorted(unknown)}
            )
        return attrs


def validated_search(data: Any) -> dict[str, Any]:
    """The search settings of a request body (its "config" taken out first)."""
    if not isinstance(data, dict):
        raise serializers.ValidationError({"non_field_errors": "the body must be an object"})
    checked = SearchRequestSerializer(data=data)
    checked.is_valid(raise_exception=True)
    return {k: v for k, v in checked.validated_data.items() if k != "config"}
