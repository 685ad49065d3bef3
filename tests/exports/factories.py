"""Data for the export tests (projects come from tests.cast.make_project): DICOM ingested
through studies.ingest, labels stored as Annotation rows the way the workflow stores them
(imported labels, or readers who submitted).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from annotations.models import Annotation, Item, Project, Submission
from studies.ingest import ingest_bytes
from studies.models import Instance


def ingest_files(project: Project, paths: list[Path]) -> list[Instance]:
    """Ingest real files into the project; returns the instances stored (duplicates and
    conflicts, e.g. one MR slice in four transfer syntaxes, are left out)."""
    instances = []
    for path in paths:
        outcome = ingest_bytes(path.read_bytes(), source_name=path.name, project=project)
        if outcome.status == "stored" and outcome.instance is not None:
            instances.append(outcome.instance)
    return instances


def secondary_capture(
    pixels: np.ndarray, patient_id: str, *, patient_name: str = "Doe^Jane", study_date: str = ""
) -> bytes:
    """A small SC image stating it has no burned-in text, with identifying header values."""
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName, ds.Modality = patient_id, patient_name, "OT"
    ds.StudyDate = study_date
    ds.BurnedInAnnotation = "NO"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def items_of(project: Project) -> list[Item]:
    return list(Item.objects.filter(project=project).select_related("instance").order_by("pk"))


def row_major_rle(mask: np.ndarray) -> list[int]:
    """The API's mask encoding: row-major run lengths starting with a run of zeros."""
    flat = np.asarray(mask, dtype=np.uint8).reshape(-1)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return runs if flat.size == 0 or flat[0] == 0 else [0, *runs]


def imported(item: Item, kind: str, payload: dict[str, Any], *, frame: int = 1) -> Annotation:
    """A label that came with the data (ground truth source "imported")."""
    return Annotation.objects.create(
        item=item, kind=kind, payload=payload, frame=frame, source="imported"
    )


def reader_answer(item: Item, user: Any, kind: str, payload: dict[str, Any]) -> Annotation:
    """One doctor's current annotation and submitted read."""
    annotation = Annotation.objects.create(
        item=item, author=user, kind=kind, payload=payload, source="human"
    )
    Submission.objects.get_or_create(item=item, user=user)
    return annotation


def disc(rows: int, cols: int, centre: tuple[float, float], radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0:rows, 0:cols]
    return (((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) <= radius**2).astype(np.uint8)
