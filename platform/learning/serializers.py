"""JSON shapes of the learning API (docs/learning.md, "Learning REST API")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from learning.model_settings import ARCHITECTURES, FREEZE_MODES, SEMI_METHODS
from learning.models import ModelVersion, PretrainedWeights, TrainingRun
from learning.services.scoring_requests import RESCORE_OUTCOMES
from learning.training_config import RunConfigSerializer


class TrainingRunSerializer(serializers.ModelSerializer[TrainingRun]):
    requested_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "project",
            "status",
            "kind",
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
    # None for a version trained before snapshots existed (ModelVersion.snapshot is nullable).
    snapshot_hash = serializers.CharField(
        source="snapshot.content_hash", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "project",
            "number",
            "status",
            "kind",
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

    @extend_schema_field(OpenApiTypes.OBJECT)
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


class RetrainRequestSerializer(serializers.Serializer[Any]):
    """The "retrain now" body, for the schema: the view checks `config` with
    training_config.validated_run_config (RunConfigSerializer, which refuses unknown keys)."""

    config = RunConfigSerializer(required=False, allow_null=True)


class QueuedRunSerializer(TrainingRunSerializer):
    """A queued run, and whether the request joined one that was already waiting."""

    coalesced = serializers.BooleanField(read_only=True)

    class Meta(TrainingRunSerializer.Meta):
        fields = [*TrainingRunSerializer.Meta.fields, "coalesced"]
        read_only_fields = fields


class RescoreResultSerializer(serializers.Serializer[Any]):
    scoring = serializers.ChoiceField(choices=list(RESCORE_OUTCOMES))


class PretrainedUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        required=False, help_text="the checkpoint (a PyTorch state dict, torchvision/timm/MONAI)"
    )
    model_version = serializers.IntegerField(
        required=False, help_text="instead of a file: a model version to start from"
    )


class AugmentationSettingsSerializer(serializers.Serializer[Any]):
    """For the schema; learning.model_settings checks the ranges (and refuses unknown keys)."""

    enabled = serializers.BooleanField(required=False)
    rotation_deg = serializers.FloatField(required=False)
    flip_horizontal = serializers.BooleanField(required=False)
    flip_vertical = serializers.BooleanField(required=False)
    scale_min = serializers.FloatField(required=False)
    scale_max = serializers.FloatField(required=False)
    crop_shift = serializers.FloatField(required=False)
    gamma_min = serializers.FloatField(required=False)
    gamma_max = serializers.FloatField(required=False)
    contrast_min = serializers.FloatField(required=False)
    contrast_max = serializers.FloatField(required=False)


class FreezeSettingsSerializer(serializers.Serializer[Any]):
    mode = serializers.ChoiceField(choices=list(FREEZE_MODES), required=False)
    epochs = serializers.IntegerField(required=False)


class SemiSupervisedSettingsSerializer(serializers.Serializer[Any]):
    """Semi-supervised training from the unlabelled pool (decision 0420); ranges checked by
    learning.model_settings."""

    enabled = serializers.BooleanField(required=False)
    method = serializers.ChoiceField(choices=list(SEMI_METHODS), required=False)
    threshold = serializers.FloatField(required=False)
    max_unlabeled = serializers.IntegerField(required=False)
    min_steps = serializers.IntegerField(required=False)


class ModelSettingsSerializer(serializers.Serializer[Any]):
    architecture = serializers.ChoiceField(choices=list(ARCHITECTURES), required=False)
    input_size = serializers.IntegerField(required=False)
    in_channels = serializers.IntegerField(required=False)
    window_center = serializers.FloatField(required=False, allow_null=True)
    window_width = serializers.FloatField(required=False, allow_null=True)
    augmentation = AugmentationSettingsSerializer(required=False)
    freeze = FreezeSettingsSerializer(required=False)
    semi_supervised = SemiSupervisedSettingsSerializer(required=False)


class ModelRegistrySerializer(serializers.Serializer[Any]):
    architectures = serializers.ListField(child=serializers.DictField())
    max_input_size = serializers.IntegerField()
    channels = serializers.ListField(child=serializers.IntegerField())
    freeze_modes = serializers.ListField(child=serializers.CharField())
    augmentation = serializers.DictField()
    freeze = serializers.DictField()
    semi_supervised = serializers.DictField()
