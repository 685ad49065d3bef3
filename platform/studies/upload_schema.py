"""The upload endpoint's request and response, for the API schema (studies.upload_views).

The view reads `files` and `project` itself (studies.uploads.check_upload_target decides 404 or
403 for the project); these describe the multipart form and the summary it answers with."""

from __future__ import annotations

from typing import Any, get_args

from rest_framework import serializers

from studies.ingest import Status


class UploadRequestSerializer(serializers.Serializer[Any]):
    files = serializers.ListField(
        child=serializers.FileField(), min_length=1, help_text="DICOM files or .zip archives"
    )
    project = serializers.IntegerField(
        required=False, help_text="attach to this project; without it, superusers only"
    )


class UploadOutcomeSerializer(serializers.Serializer[Any]):
    file = serializers.IntegerField(help_text="index in `files` of the file it came from")
    name = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=list(get_args(Status)))
    code = serializers.CharField(allow_blank=True, help_text="why, when not stored")
    reason = serializers.CharField(allow_blank=True)
    sop_instance_uid = serializers.CharField(allow_blank=True)
    study_instance_uid = serializers.CharField(allow_blank=True)
    items_created = serializers.IntegerField()


class UploadCountsSerializer(serializers.Serializer[Any]):
    stored = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    conflict = serializers.IntegerField()
    rejected = serializers.IntegerField()
    skipped = serializers.IntegerField()


class UploadResultSerializer(serializers.Serializer[Any]):
    counts = UploadCountsSerializer()
    results = UploadOutcomeSerializer(many=True)
    replayed = serializers.BooleanField(
        required=False,
        help_text="with an Idempotency-Key: true when this is the first answer again",
    )
