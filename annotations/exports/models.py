"""Export jobs and the schema frozen with each dataset snapshot.

A `learning.DatasetSnapshot` (purpose "export") holds the frozen per-item entries; the label
schema the entries refer to (class names and their order, task type, window) is frozen beside
it in `SnapshotSchema`, so renaming a class later cannot change what an old snapshot exports.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV manifest"
    JSON = "json", "JSON manifest"
    IMAGEFOLDER = "imagefolder", "PNG folder per split and class"
    COCO = "coco", "COCO JSON (boxes, polygons, RLE masks)"
    NIFTI = "nifti", "NIfTI images and masks"
    NNUNET = "nnunet", "nnU-Net raw dataset"
    DICOM_SEG = "dicom_seg", "DICOM SEG (highdicom) with the source instances"
    MONAI = "monai", "MONAI datalist JSON"


class ExportStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class ExportJobQuerySet(models.QuerySet["ExportJob"]):
    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> ExportJobQuerySet:
        """Jobs the user may see and download: those of projects they may export."""
        from annotations.access import exportable_q
        from annotations.models import Project

        projects = Project.objects.filter(exportable_q(user)).values("pk")
        return self.filter(project__in=projects)


class ExportJob(models.Model):
    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="export_jobs"
    )
    snapshot = models.ForeignKey(
        "learning.DatasetSnapshot", on_delete=models.PROTECT, related_name="export_jobs"
    )
    formats = models.JSONField(default=list)  # canonical order of ExportFormat values
    # {"deidentify": bool, "bit_depth": 8 | 16}
    options = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED, db_index=True
    )
    # {"stage": str, "done": int, "total": int}
    progress = models.JSONField(default=dict)
    error = models.TextField(blank=True, default="")
    # Relative to settings.EXPORT_STORAGE_DIR; empty until the archive is complete.
    file_path = models.CharField(max_length=300, blank=True, default="")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    # What the archive holds: counts per format, items skipped and why.
    report = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # The Celery worker (hostname) that claimed the job: workers may run on several hosts.
    worker = models.CharField(max_length=200, blank=True, default="")
    # Last progress write by the worker; a running job silent for too long has lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"export {self.pk} of project {self.project_id} ({self.status})"


class SnapshotSchema(models.Model):
    """The label schema an export snapshot's entries refer to, frozen with it."""

    snapshot = models.OneToOneField(
        "learning.DatasetSnapshot", on_delete=models.CASCADE, related_name="export_schema"
    )
    # {"task_type", "multi_label", "unit", "classes": [{"name", "index", "color"}],
    #  "window_center", "window_width", "project_name"}
    schema = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"schema of snapshot {self.snapshot_id}"
