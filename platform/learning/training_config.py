"""Per-run training overrides an admin may send with "retrain now" ({"config": {...}}).

Checked here, on the web side, without importing torch: the keys mirror a subset of
ml_worker.training.TrainConfig plus the promotion rule. Anything else is a 400, so a typo never
silently trains with defaults.
"""

from __future__ import annotations

from typing import Any

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
