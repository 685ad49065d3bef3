"""JSON shapes of the learning API (docs/learning.md, "Learning REST API")."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from learning.models import ModelVersion, PretrainedWeights, TrainingRun


class TrainingRunSerializer(serializers.ModelSerializer[TrainingRun]):
    requested_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "project",
            "status",
            "trigger",
            "requested_by",
            "cancel_requested",
            "config",
            "progress",
            "error",
            "worker",
            "model_version",
            "label_count",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]
        read_only_fields = fields


class ModelVersionSerializer(serializers.ModelSerializer[ModelVersion]):
    snapshot_hash = serializers.CharField(source="snapshot.content_hash", default=None)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "project",
            "number",
            "status",
            "architecture",
            "config",
            "snapshot_hash",
            "parent",
            "labels_used",
            "metrics",
            "checkpoint_sha256",
            "created_at",
            "promoted_at",
        ]
        read_only_fields = fields


class ModelVersionSummarySerializer(ModelVersionSerializer):
    """The list view leaves out the bulky curves (ROC points, reliability bins)."""

    metrics = serializers.SerializerMethodField()

    def get_metrics(self, version: ModelVersion) -> dict[str, object]:
        keep = (
            "n",
            "accuracy",
            "auc",
            "auc_ci",
            "temperature",
            "ece_before",
            "ece_after",
            "brier_before",
            "brier_after",
        )
        test = version.metrics.get("test", {})
        return {"test": {key: test[key] for key in keep if key in test}} | {
            key: version.metrics[key] for key in ("promotion",) if key in version.metrics
        }


class PretrainedWeightsSerializer(serializers.ModelSerializer[PretrainedWeights]):
    class Meta:
        model = PretrainedWeights
        fields = ["id", "original_name", "sha256", "size_bytes", "created_at"]
        read_only_fields = fields
