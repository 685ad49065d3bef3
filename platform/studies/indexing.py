"""From a DICOM header to our rows: the patient, study and series an object belongs to, and the
Instance columns read from its header. Shared by ingest (files we store) and the upstream index
(objects a PACS holds, proxy mode), so both describe an image the same way."""

from __future__ import annotations

from typing import Any

import pydicom

from studies.frames import number_of_frames
from studies.models import Patient, Series, Study


def text(ds: pydicom.Dataset, keyword: str, limit: int) -> str:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        value = "\\".join(str(v) for v in value)
    return str(value)[:limit]


def number(ds: pydicom.Dataset, keyword: str) -> float | None:
    value = ds.get(keyword)
    if value in (None, ""):
        return None
    if isinstance(value, pydicom.multival.MultiValue):
        value = value[0] if len(value) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def integer(ds: pydicom.Dataset, keyword: str) -> int | None:
    value = number(ds, keyword)
    return int(value) if value is not None else None


def floats(ds: pydicom.Dataset, keyword: str) -> list[float] | None:
    value = ds.get(keyword)
    if value in (None, ""):
        return None
    try:
        values = value if isinstance(value, pydicom.multival.MultiValue | list) else [value]
        return [float(v) for v in values]
    except (TypeError, ValueError):
        return None


def spacing(ds: pydicom.Dataset) -> list[float] | None:
    spacing = floats(ds, "PixelSpacing")
    if spacing is None:
        # Enhanced multi-frame objects keep it in the shared functional groups (PS3.3 C.7.6.16).
        shared = ds.get("SharedFunctionalGroupsSequence")
        try:
            spacing = [float(v) for v in shared[0].PixelMeasuresSequence[0].PixelSpacing]
        except (AttributeError, IndexError, TypeError, ValueError):
            spacing = floats(ds, "ImagerPixelSpacing")
    return spacing


def patient_of(ds: pydicom.Dataset) -> Patient:
    patient_id = text(ds, "PatientID", 64)
    issuer = text(ds, "IssuerOfPatientID", 64)
    details = {
        "patient_name": text(ds, "PatientName", 324),
        "birth_date": text(ds, "PatientBirthDate", 8),
        "sex": text(ds, "PatientSex", 16),
    }
    if patient_id:
        return Patient.objects.get_or_create(
            patient_id=patient_id, issuer=issuer, defaults=details
        )[0]
    # No Patient ID: the study's own patient, never one shared by every anonymous object.
    study = (
        Study.objects.select_related("patient")
        .filter(study_instance_uid=str(ds.StudyInstanceUID))
        .first()
    )
    return study.patient if study else Patient.objects.create(issuer=issuer, **details)


def index_series(ds: pydicom.Dataset) -> Series:
    """Find or create the object's patient, study and series (first writer's attributes win)."""
    patient = patient_of(ds)
    study, _ = Study.objects.get_or_create(
        study_instance_uid=str(ds.StudyInstanceUID),
        defaults={
            "patient": patient,
            "study_id": text(ds, "StudyID", 16),
            "study_date": text(ds, "StudyDate", 8),
            "study_time": text(ds, "StudyTime", 16),
            "accession_number": text(ds, "AccessionNumber", 64),
            "description": text(ds, "StudyDescription", 256),
            "referring_physician": text(ds, "ReferringPhysicianName", 324),
        },
    )
    modality = text(ds, "Modality", 16)
    series, _ = Series.objects.get_or_create(
        series_instance_uid=str(ds.SeriesInstanceUID),
        defaults={
            "study": study,
            "modality": modality,
            "series_number": integer(ds, "SeriesNumber"),
            "description": text(ds, "SeriesDescription", 256),
            "body_part": text(ds, "BodyPartExamined", 64),
            "frame_of_reference_uid": text(ds, "FrameOfReferenceUID", 64),
        },
    )
    modalities = [m for m in study.modalities.split("\\") if m]
    if modality and modality not in modalities:
        study.modalities = "\\".join(sorted([*modalities, modality]))
        study.save(update_fields=["modalities"])
    return series


def image_fields(ds: pydicom.Dataset) -> dict[str, Any]:
    """The Instance columns read from the header: identity, pixel module, windowing, geometry."""
    return {
        "sop_instance_uid": str(ds.SOPInstanceUID),
        "sop_class_uid": str(ds.SOPClassUID),
        "instance_number": integer(ds, "InstanceNumber"),
        "rows": integer(ds, "Rows"),
        "columns": integer(ds, "Columns"),
        "number_of_frames": number_of_frames(ds),
        "samples_per_pixel": integer(ds, "SamplesPerPixel") or 1,
        "bits_allocated": integer(ds, "BitsAllocated"),
        "bits_stored": integer(ds, "BitsStored"),
        "pixel_representation": integer(ds, "PixelRepresentation"),
        "photometric_interpretation": text(ds, "PhotometricInterpretation", 32),
        "planar_configuration": integer(ds, "PlanarConfiguration"),
        "window_center": number(ds, "WindowCenter"),
        "window_width": number(ds, "WindowWidth"),
        "rescale_slope": number(ds, "RescaleSlope"),
        "rescale_intercept": number(ds, "RescaleIntercept"),
        "pixel_spacing": spacing(ds),
        "image_position": floats(ds, "ImagePositionPatient"),
        "image_orientation": floats(ds, "ImageOrientationPatient"),
    }
