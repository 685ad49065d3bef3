"""Browser upload: files and zip archives posted to /api/v1/uploads/, one outcome per file.

Who may upload: a superuser anywhere; a project admin into their project (the instances are
attached to it and de-identified when it asks). Everyone else: 404 for a project they are not
in, 403 otherwise.
"""

from __future__ import annotations

from collections import deque
from typing import IO, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404

from studies.archives import is_zip
from studies.ingest import (
    NOT_DICOM,
    TOO_LARGE,
    IngestOutcome,
    IngestSummary,
)
from studies.ingest_batch import Batcher
from studies.ingest_sources import iter_archive
from studies.projects_seam import projects


def check_upload_target(user: Any, project_id: Any) -> Any:
    """The project to attach to (or None); raises Http404 / PermissionDenied."""
    seam = projects()
    if project_id in (None, ""):
        if not seam.may_store(user, None):
            raise PermissionDenied("uploading outside a project needs a superuser")
        return None
    try:
        pk = int(project_id)
    except (TypeError, ValueError) as exc:
        raise Http404("no such project") from exc
    project = seam.find_project(pk, user)
    if project is None:
        raise Http404("no such project")
    if not seam.may_store(user, project):
        raise PermissionDenied("only the project's admins upload studies into it")
    return project


def _rejected(name: str, code: str, reason: str) -> IngestOutcome:
    return IngestOutcome(status="rejected", source_name=name, code=code, reason=reason)


def _ingest_archive(upload: UploadedFile, batcher: _FileBatcher) -> None:
    name = upload.name or "upload.zip"
    if (upload.size or 0) > settings.DICOM_MAX_ARCHIVE_BYTES:
        batcher.put_outcome(_rejected(name, TOO_LARGE, "archive is over DICOM_MAX_ARCHIVE_BYTES"))
        return
    upload.seek(0)
    refusals = IngestSummary()  # the archive reader reports refused entries here
    for entry, load in iter_archive(name, cast(IO[bytes], upload), refusals):
        data = load()
        if data is None:
            batcher.put_outcome(refusals.outcomes.pop())
        else:
            batcher.put(entry, data)


class _FileBatcher:
    """A Batcher that remembers which of the request's files each object came from: outcomes
    reach `add` one per object, in the order the objects were put, so a queue of file indexes
    maps them back (a zip gives several objects)."""

    def __init__(self, summary: IngestSummary, *, project: Any, user: Any) -> None:
        self.file_of: list[int] = []
        self._sources: deque[int] = deque()
        self._summary = summary
        self._batcher = Batcher(self._add, user=user, project=project)
        self.index = 0

    def _add(self, outcome: IngestOutcome) -> None:
        self._summary.add(outcome)
        self.file_of.append(self._sources.popleft())

    def put(self, name: str, data: bytes) -> None:
        self._sources.append(self.index)
        self._batcher.put(name, data)

    def put_outcome(self, outcome: IngestOutcome) -> None:
        self._sources.append(self.index)
        self._batcher.put_outcome(outcome)

    def flush(self) -> None:
        self._batcher.flush()


def do_upload(
    files: list[UploadedFile], *, project: Any, user: Any
) -> tuple[IngestSummary, list[int]]:
    """The outcomes, and for each the index of the file in `files` it came from (a zip gives
    several): the upload page sends several files per request and maps the answers back.

    The files of one upload are ingested in batches (decision 0180): they usually share their
    patient, study and series rows, and a batch is one transaction."""
    summary = IngestSummary()
    batcher = _FileBatcher(summary, project=project, user=user)
    limit = settings.DICOM_MAX_UPLOAD_BYTES
    for index, upload in enumerate(files):
        batcher.index = index
        name = upload.name or "upload"
        head = upload.read(4)
        if is_zip(head):
            _ingest_archive(upload, batcher)
        elif (upload.size or 0) > limit:
            batcher.put_outcome(
                _rejected(name, TOO_LARGE, f"file is {upload.size} bytes, over {limit}")
            )
        elif not head:
            batcher.put_outcome(_rejected(name, NOT_DICOM, "the file is empty"))
        else:
            upload.seek(0)
            batcher.put(name, upload.read())
    batcher.flush()
    return summary, batcher.file_of


def outcome_json(outcome: IngestOutcome, file_index: int) -> dict[str, Any]:
    return {
        "file": file_index,
        "name": outcome.source_name,
        "status": outcome.status,
        "code": outcome.code,
        "reason": outcome.reason,
        "sop_instance_uid": outcome.sop_instance_uid,
        "study_instance_uid": outcome.study_instance_uid,
        "items_created": outcome.items_created,
    }
