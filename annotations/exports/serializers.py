"""Read-only representations of snapshots and export jobs."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from annotations.exports.formats import FORMAT_NAMES
from annotations.exports.models import ExportJob
from annotations.exports.services import archive_path
from annotations.exports.snapshots import model_versions_trained_on, schema_of
from core.params import MAX_DATABASE_ID
from learning.models import DatasetSnapshot


class SnapshotSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()
    splits = serializers.SerializerMethodField()
    classes = serializers.SerializerMethodField()
    model_versions = serializers.SerializerMethodField()

    class Meta:
        model = DatasetSnapshot
        fields = [
            "id",
            "project",
            "content_hash",
            "purpose",
            "created_at",
            "items",
            "splits",
            "classes",
            "model_versions",
        ]

    def get_items(self, snapshot: DatasetSnapshot) -> int:
        return len(snapshot.entries)

    def get_splits(self, snapshot: DatasetSnapshot) -> dict[str, int]:
        return dict(sorted(Counter(e.get("split", "") for e in snapshot.entries).items()))

    def get_classes(self, snapshot: DatasetSnapshot) -> list[str]:
        return [c["name"] for c in schema_of(snapshot)["classes"]]

    def get_model_versions(self, snapshot: DatasetSnapshot) -> list[dict[str, Any]]:
        return [
            {"id": mv.pk, "number": mv.number, "status": mv.status}
            for mv in model_versions_trained_on(snapshot)
        ]


class ExportJobSerializer(serializers.ModelSerializer):
    snapshot_hash = serializers.CharField(source="snapshot.content_hash", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "project",
            "snapshot",
            "snapshot_hash",
            "formats",
            "options",
            "status",
            "progress",
            "error",
            "size_bytes",
            "sha256",
            "report",
            "created_at",
            "started_at",
            "finished_at",
            "expires_at",
            "download_url",
        ]

    def get_download_url(self, job: ExportJob) -> str | None:
        if archive_path(job) is None:
            return None
        return reverse("export-download", args=[job.pk])


class ExportOptionsSerializer(serializers.Serializer[Any]):
    deidentify = serializers.BooleanField(default=True)
    bit_depth = serializers.ChoiceField(choices=[8, 16], default=8)
    include_burned_in = serializers.BooleanField(default=False)


class ExportRequestSerializer(serializers.Serializer[Any]):
    """The POST body, for the schema. services.check_export_request checks it more strictly
    than DRF fields would (no "false" strings for flags, no coercion, unknown options refused)
    and adds the rules that need the project (segmentation-only formats, admin-only options)."""

    formats = serializers.ListField(
        child=serializers.ChoiceField(choices=FORMAT_NAMES), min_length=1
    )
    snapshot = serializers.IntegerField(
        min_value=1, max_value=MAX_DATABASE_ID, required=False, allow_null=True
    )
    options = ExportOptionsSerializer(required=False, allow_null=True)
