"""The API side of importing a labelled segmentation set: one uploaded file (a standard-layout
.npz, or a .zip of a PNG folder pair or an nnU-Net raw folder; for a detection project, a .zip
of a COCO folder) into a temporary folder, then the same importer the management command uses.
Bad files answer 400 and store nothing."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings

from annotations.models import Project, TaskType
from annotations.segmentation_import import SegmentationImportResult, import_segmentation_path
from annotations.segmentation_sources import SegmentationSourceError
from annotations.services.errors import Invalid


def _extract(archive: zipfile.ZipFile, into: Path) -> None:
    """Extract with the upload limits archives of DICOM get (entries, size, ratio) and no path
    outside `into` (zip-slip)."""
    entries = archive.infolist()
    if len(entries) > settings.DICOM_MAX_ARCHIVE_ENTRIES:
        raise SegmentationSourceError(
            f"the zip has more than {settings.DICOM_MAX_ARCHIVE_ENTRIES} entries"
        )
    total = sum(e.file_size for e in entries)
    packed = max(1, sum(e.compress_size for e in entries))
    if (
        total > settings.DICOM_MAX_ARCHIVE_BYTES
        or total / packed > settings.DICOM_MAX_ARCHIVE_RATIO
    ):
        raise SegmentationSourceError("the zip expands beyond the archive limits")
    for entry in entries:
        name = PurePosixPath(entry.filename)
        if name.is_absolute() or ".." in name.parts:
            raise SegmentationSourceError(f"unsafe path in zip: {entry.filename}")
    archive.extractall(into)


def _dataset_root(folder: Path) -> Path:
    """The folder itself, or its one sub-folder, that holds imagesTr/ or images/."""
    for candidate in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
        if (candidate / "imagesTr").is_dir() or (candidate / "images").is_dir():
            return candidate
    raise SegmentationSourceError(
        "the zip holds neither images/ + masks/ nor imagesTr/ + labelsTr/"
    )


def import_uploaded_set(project: Project, upload: Any, user: Any) -> SegmentationImportResult:
    if upload is None:
        raise Invalid({"file": ["a .npz or .zip file is required"]})
    name = Path(str(getattr(upload, "name", "") or "upload")).name
    suffix = Path(name).suffix.lower()
    if suffix not in {".npz", ".zip"}:
        raise Invalid({"file": ["send a standard-layout .npz or a .zip of a dataset folder"]})
    try:
        with tempfile.TemporaryDirectory(prefix="radloop-seg-import-") as tmp:
            folder = Path(tmp)
            # The npz keeps its name: it enters the derived UIDs, as on the command line.
            target = folder / (name if suffix == ".npz" else "upload.zip")
            with target.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            if suffix == ".npz":
                return import_segmentation_path(project, target, user=user)
            try:
                with zipfile.ZipFile(target) as archive:
                    _extract(archive, folder / "set")
            except zipfile.BadZipFile as exc:
                raise SegmentationSourceError(f"{name} is not a readable zip: {exc}") from exc
            if project.task_type == TaskType.DETECTION:  # COCO: the JSON says where images are
                return import_segmentation_path(project, folder / "set", user=user)
            return import_segmentation_path(project, _dataset_root(folder / "set"), user=user)
    except SegmentationSourceError as exc:
        raise Invalid({"file": [str(exc)]}) from exc
