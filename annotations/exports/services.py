"""check_*/do_* services for exports: who may export, creating, cancelling, expiring jobs.

Access (docs/decisions/0500-who-may-export.md): superusers; the project's admins; members whose
membership has `can_export` (reviewers included only when granted). Outsiders cannot tell a
project exists (404); members without the right get 403. Turning de-identification off or
including images with possible burned-in text is for project admins and superusers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from annotations.access import is_project_admin, may_export
from annotations.exports.formats import SEGMENTATION_ONLY, canonical_formats
from annotations.exports.models import (
    ACTIVE_STATUSES,
    ExportJob,
    ExportStatus,
)
from annotations.exports.runner import ExportOptions
from annotations.exports.snapshots import NothingToExport, freeze_snapshot
from annotations.models import Project
from core import dispatch
from core.params import MAX_DATABASE_ID
from learning.models import DatasetSnapshot

User = AbstractBaseUser | AnonymousUser


def storage_dir() -> Path:
    return Path(settings.EXPORT_STORAGE_DIR)


def retention() -> timedelta:
    return timedelta(hours=getattr(settings, "EXPORT_RETENTION_HOURS", 7 * 24))


def check_can_export(user: User, project_id: int) -> Project:
    """The project, if the user may export it; 404 for outsiders, 403 for members without the
    right."""
    project = Project.objects.for_member(user).filter(pk=project_id).first()
    if project is None:
        raise NotFound("no such project")
    if not may_export(user, project):
        raise PermissionDenied("your membership of this project does not include exporting")
    return project


@dataclass(frozen=True)
class ExportRequest:
    formats: list[str]
    options: ExportOptions
    snapshot: DatasetSnapshot | None


def check_export_request(user: User, project: Project, data: Any) -> ExportRequest:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["send {formats, snapshot?, options?}"]})
    errors: dict[str, list[str]] = {}
    raw_formats = data.get("formats")
    formats: list[str] = []
    if not isinstance(raw_formats, list) or not raw_formats:
        errors["formats"] = ["choose at least one format"]
    else:
        try:
            formats = canonical_formats([str(f) for f in raw_formats])
        except ValueError as exc:
            errors["formats"] = [str(exc)]
        misplaced = sorted(set(formats) & SEGMENTATION_ONLY)
        if misplaced and project.task_type != "segmentation":
            errors["formats"] = [
                f"{', '.join(misplaced)} need(s) a segmentation project; this one is "
                f"{project.task_type}"
            ]
    options = _check_options(data.get("options"), errors)
    if (not options.deidentify or options.include_burned_in) and not is_project_admin(
        user, project
    ):
        errors["options"] = [
            "only project admins may export without de-identification or with images that "
            "may carry burned-in text"
        ]
    snapshot = _check_snapshot(data.get("snapshot"), project, errors)
    if errors:
        raise ValidationError(errors)
    return ExportRequest(formats=formats, options=options, snapshot=snapshot)


def _check_options(raw: Any, errors: dict[str, list[str]]) -> ExportOptions:
    """Options typed strictly: a list for bit_depth or "false" for a flag is an error, never
    coerced (bool("false") is True)."""
    raw = raw if raw is not None else {}
    if not isinstance(raw, dict):
        errors["options"] = ["must be an object"]
        return ExportOptions()
    before = len(errors)
    unknown = sorted(set(raw) - {"deidentify", "bit_depth", "include_burned_in"})
    if unknown:
        errors["options"] = [f"unknown option(s): {', '.join(unknown)}"]
    bit_depth = raw.get("bit_depth", 8)
    if isinstance(bit_depth, bool) or not isinstance(bit_depth, int) or bit_depth not in (8, 16):
        errors["options.bit_depth"] = ["must be 8 or 16"]
    for flag in ("deidentify", "include_burned_in"):
        if flag in raw and not isinstance(raw[flag], bool):
            errors[f"options.{flag}"] = ["must be true or false"]
    return ExportOptions.from_dict(raw) if len(errors) == before else ExportOptions()


def _check_snapshot(
    raw: Any, project: Project, errors: dict[str, list[str]]
) -> DatasetSnapshot | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_DATABASE_ID:
        errors["snapshot"] = ["a snapshot id (a positive integer)"]
        return None
    snapshot = DatasetSnapshot.objects.filter(pk=raw, project=project).first()
    if snapshot is None:
        errors["snapshot"] = ["no such snapshot in this project"]
    return snapshot


def do_freeze_snapshot(user: User, project: Project) -> DatasetSnapshot:
    try:
        return freeze_snapshot(project, user=user if user.is_authenticated else None)
    except NothingToExport as exc:
        raise ValidationError({"project": [str(exc)]}) from exc


def do_create_export(user: User, project: Project, request: ExportRequest) -> ExportJob:
    """Freeze (or reuse) the snapshot, create the job, and queue it once the row is committed."""
    snapshot = request.snapshot or do_freeze_snapshot(user, project)
    with transaction.atomic():
        job = ExportJob.objects.create(
            project=project,
            snapshot=snapshot,
            formats=request.formats,
            options=request.options.as_dict(),
            progress={"done": 0, "total": len(snapshot.entries)},
            created_by_id=user.pk if user.is_authenticated else None,
        )
        dispatch.after_commit(dispatch.EXPORT, job.pk)
    return job


class ExportFinished(Exception):
    """The job already ended; there is nothing to cancel."""


def do_cancel(job: ExportJob) -> ExportJob:
    """Queued jobs never start; a running one stops at its next item and deletes its partial
    file. Finished jobs are left as they are (409 from the view)."""
    changed = ExportJob.objects.filter(pk=job.pk, status__in=ACTIVE_STATUSES).update(
        status=ExportStatus.CANCELLED, finished_at=timezone.now()
    )
    if not changed:
        job.refresh_from_db()
        raise ExportFinished(f"the export is already {job.status}")
    job.refresh_from_db()
    return job


def archive_path(job: ExportJob) -> Path | None:
    """The archive on disk, or None when it is not (yet, or any more) downloadable."""
    if job.status != ExportStatus.SUCCEEDED or not job.file_path:
        return None
    if job.expires_at is not None and job.expires_at <= timezone.now():
        return None
    path = storage_dir() / job.file_path
    return path if path.is_file() else None


def delete_expired(now: Any = None) -> dict[str, int]:
    """Delete archives past their retention, and fail jobs whose worker stopped writing
    (no progress for EXPORT_STALE_AFTER_S); their partial files are removed too."""
    now = now or timezone.now()
    deleted = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).exclude(file_path=""):
        (storage_dir() / job.file_path).unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(file_path="")
        deleted += 1
    stale_before = now - timedelta(seconds=getattr(settings, "EXPORT_STALE_AFTER_S", 900))
    stale = 0
    for job in ExportJob.objects.filter(status=ExportStatus.RUNNING, heartbeat_at__lt=stale_before):
        changed = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.FAILED,
            error="the export worker stopped responding",
            finished_at=now,
        )
        if changed:
            partial = storage_dir() / relative_archive_name(job)
            partial.with_name(partial.name + ".partial").unlink(missing_ok=True)
            stale += 1
    return {"deleted": deleted, "stale": stale}


def relative_archive_name(job: ExportJob) -> str:
    return f"project-{job.project_id}/export-{job.pk}.zip"
