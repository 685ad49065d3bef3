"""Read-mostly admin for the registry; state changes go through the API (services)."""

from django.contrib import admin

from learning.models import DatasetSnapshot, ModelVersion, Score, TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "status", "trigger", "created_at", "heartbeat_at", "worker"]
    list_filter = ["status", "trigger"]
    readonly_fields = ["progress", "log", "error", "heartbeat_at", "started_at", "finished_at"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "number", "status", "architecture", "labels_used"]
    list_filter = ["status", "architecture"]
    readonly_fields = ["metrics", "config", "checkpoint_path", "checkpoint_sha256", "snapshot"]


@admin.register(DatasetSnapshot)
class DatasetSnapshotAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "purpose", "content_hash", "created_at"]
    readonly_fields = ["entries", "content_hash"]


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ["id", "item", "model_version", "strategy", "value", "predicted_class"]
    raw_id_fields = ["item", "model_version"]
