"""Read-only representations of snapshots and export jobs."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from annotations.exports.models import ExportJob
from annotations.exports.services import archive_path
from annotations.exports.snapshots import model_versions_trained_on, schema_of
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
