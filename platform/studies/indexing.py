"""From a DICOM header to our rows: the patient, study and series an object belongs to, and the
Instance columns read from its header. Shared by ingest (files we store) and the upstream index
(objects a PACS holds, proxy mode), so both describe an image the same way."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pydicom
from django.db import connection

from studies.frames import number_of_frames
from studies.models import Instance, Patient, Series, Study
from studies.sql_rows import execute_prepared


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


class SeriesCache:
    """The series rows one request already indexed, by Series Instance UID.

    A STOW-RS request, an upload or an import usually carries many objects of one series: the
    first indexes its patient, study and series, the rest find the row here at no round trip.
    Only rows whose transaction committed are kept (`remember` after the commit): a rolled-back
    object must not leave a row id behind that no longer exists."""

    def __init__(self) -> None:
        self._series: dict[str, Series] = {}

    def get(self, series_instance_uid: str) -> Series | None:
        return self._series.get(series_instance_uid)

    def remember(self, series: Series) -> None:
        self._series[series.series_instance_uid] = series

    def all(self) -> list[Series]:
        return list(self._series.values())


def _patient_details(ds: pydicom.Dataset) -> dict[str, str]:
    return {
        "patient_name": text(ds, "PatientName", 324),
        "birth_date": text(ds, "PatientBirthDate", 8),
        "sex": text(ds, "PatientSex", 16),
    }


@dataclass(frozen=True)
class Known:
    """The ids of the rows an object's header names that already exist (None: not yet)."""

    instance: int | None
    series: int | None
    study: int | None
    patient: int | None


def lookup(ds: pydicom.Dataset) -> Known:
    """Which of the object's instance, series, study and patient rows exist, in one round trip
    (decision 0180): a UNION ALL of four probes of unique indexes, each at most one row.

    Written as SQL once per process (decision 0125): building the same four querysets and their
    union through the ORM cost each STOW request ~1 ms of CPU, more than the query itself."""
    params = [str(ds.SOPInstanceUID), str(ds.SeriesInstanceUID), str(ds.StudyInstanceUID)]
    patient_id = text(ds, "PatientID", 64)
    if patient_id:  # without one, a new study gets a patient of its own
        params += [patient_id, text(ds, "IssuerOfPatientID", 64)]
    if connection.vendor == "postgresql":
        # Server-side binding: planned once per connection (decision 0129). A row per probe
        # that found one, folded into one row so that a single fetch reads it.
        row = execute_prepared(folded_lookup_sql(bool(patient_id)), params, resend_safe=True)
        found = dict(zip(("instance", "series", "study", "patient"), row or (), strict=False))
    else:
        with connection.cursor() as cursor:
            cursor.execute(_lookup_sql(bool(patient_id)), params)
            found = dict(cursor.fetchall())
    return Known(
        found.get("instance"), found.get("series"), found.get("study"), found.get("patient")
    )


def _probes(with_patient: bool) -> list[tuple[str, str]]:
    """(kind, SELECT of that kind's row id) for each unique index the lookup probes."""
    quote = connection.ops.quote_name

    def probe(kind: str, model: Any, *fields: str) -> tuple[str, str]:
        meta = model._meta
        where = " AND ".join(f"{quote(meta.get_field(f).column)} = %s" for f in fields)
        # Names from the models' metadata; every value is a parameter.
        table, pk = quote(meta.db_table), quote(meta.pk.column)
        return kind, f"SELECT {pk} FROM {table} WHERE {where}"  # noqa: S608

    probes = [
        probe("instance", Instance, "sop_instance_uid"),
        probe("series", Series, "series_instance_uid"),
        probe("study", Study, "study_instance_uid"),
    ]
    if with_patient:
        probes.append(probe("patient", Patient, "patient_id", "issuer"))
    return probes


@lru_cache(maxsize=2)
def _lookup_sql(with_patient: bool) -> str:
    # Names are constants; every value is a parameter.
    return " UNION ALL ".join(
        f"SELECT '{kind}', {select[len('SELECT ') :]}" for kind, select in _probes(with_patient)
    )


@lru_cache(maxsize=2)
def folded_lookup_sql(with_patient: bool) -> str:
    # The same probes as scalar subqueries of one row. Each finds at most one row (unique
    # indexes), except a patient ID that several patient rows share: the lowest id is taken.
    columns = [
        f"({select} ORDER BY 1 LIMIT 1)" if kind == "patient" else f"({select})"
        for kind, select in _probes(with_patient)
    ]
    return "SELECT " + ", ".join(columns)


def _new_patient(ds: pydicom.Dataset) -> Patient:
    # No Patient ID: the study's own patient, never one shared by every anonymous object (the
    # study is new here, so its patient is too).
    patient = patient_row(ds)
    patient.save(force_insert=True)
    return patient


def _new_study(ds: pydicom.Dataset, modality: str, known: Known) -> Study:
    patient_pk = known.patient if known.patient is not None else _new_patient(ds).pk
    study = study_row(ds, modality, patient_pk)
    study.save(force_insert=True)
    return study


def patient_row(ds: pydicom.Dataset) -> Patient:
    return Patient(
        patient_id=text(ds, "PatientID", 64),
        issuer=text(ds, "IssuerOfPatientID", 64),
        patient_name=text(ds, "PatientName", 324),
        birth_date=text(ds, "PatientBirthDate", 8),
        sex=text(ds, "PatientSex", 16),
    )


def study_row(ds: pydicom.Dataset, modality: str, patient_pk: int | None) -> Study:
    # patient_pk None: insert_new_study fills it from the new patient's id.
    return Study(
        study_instance_uid=str(ds.StudyInstanceUID),
        patient_id=patient_pk,  # type: ignore[misc]
        study_id=text(ds, "StudyID", 16),
        study_date=text(ds, "StudyDate", 8),
        study_time=text(ds, "StudyTime", 16),
        accession_number=text(ds, "AccessionNumber", 64),
        description=text(ds, "StudyDescription", 256),
        referring_physician=text(ds, "ReferringPhysicianName", 324),
        modalities=modality,
    )


def series_row(ds: pydicom.Dataset, modality: str) -> Series:
    return Series(
        series_instance_uid=str(ds.SeriesInstanceUID),
        modality=modality,
        series_number=integer(ds, "SeriesNumber"),
        description=text(ds, "SeriesDescription", 256),
        body_part=text(ds, "BodyPartExamined", 64),
        frame_of_reference_uid=text(ds, "FrameOfReferenceUID", 64),
    )


def _add_modality(study: Study, modality: str) -> None:
    modalities = [m for m in study.modalities.split("\\") if m]
    if modality and modality not in modalities:
        study.modalities = "\\".join(sorted([*modalities, modality]))
        study.save(update_fields=["modalities"])


def index_series(
    ds: pydicom.Dataset, cache: SeriesCache | None = None, known: Known | None = None
) -> Series:
    """Find or create the object's patient, study and series (first writer's attributes win).

    Round trips past `lookup` (decision 0180): a series in `cache`, none; a known series, one;
    a new series of a known study, two; a new study, three (two when its patient is known).
    Inserts take no savepoint: a unique-key race fails the caller's transaction, which ingest
    retries once."""
    series_uid = str(ds.SeriesInstanceUID)
    modality = text(ds, "Modality", 16)
    cached = cache.get(series_uid) if cache is not None else None
    if cached is not None:
        return cached
    known = known or lookup(ds)
    # A new study is indexed even when its series UID is already another study's (a reused UID,
    # PS3.3 forbids it; the object then joins that series): its patient is recorded either way.
    if known.study is None:
        study = _new_study(ds, modality, known)
    elif known.series is None:
        study = Study.objects.select_related("patient").get(pk=known.study)
        _add_modality(study, modality)
    if known.series is not None:
        series = Series.objects.select_related("study__patient").get(pk=known.series)
        _add_modality(series.study, modality)
        return series
    series = series_row(ds, modality)
    series.study = study
    series.save(force_insert=True)
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
