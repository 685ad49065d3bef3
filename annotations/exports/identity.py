"""How identifying values leave the platform in an export.

De-identified (the default): every DICOM object goes through `studies.deid.deidentify` (PS3.15
Annex E Basic profile) with a context backed by the platform's mapping table, so an export's
UIDs, pseudonyms and date shifts are the same every time (byte-identical archives) and the same
as any other de-identified copy of those studies. Header-derived fields in manifests (patient,
study/series/instance UIDs) use the very same mapping, so a manifest row and the DICOM file it
describes agree. Otherwise values pass through as stored (project admins only).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from pydicom import Dataset

from studies.models import Patient


def _patients_of(entries: list[dict[str, Any]]) -> dict[int, Patient]:
    return Patient.objects.in_bulk({entry["patient"] for entry in entries})


class StoredIdentity:
    """No de-identification: values as stored."""

    deidentified = False

    def __init__(self) -> None:
        self._patients: dict[int, str] = {}

    def prepare(self, entries: list[dict[str, Any]]) -> None:
        self._patients = {pk: p.patient_id for pk, p in _patients_of(entries).items()}

    def patient(self, entry: dict[str, Any]) -> str:
        pk = entry["patient"]
        if pk not in self._patients:
            self._patients[pk] = (
                Patient.objects.filter(pk=pk).values_list("patient_id", flat=True).first() or ""
            )
        return self._patients[pk]

    def uid(self, uid: str, entry: dict[str, Any]) -> str:
        return uid

    def dataset(self, ds: Dataset, entry: dict[str, Any]) -> Dataset:
        return ds


class DeidentifiedIdentity:
    """PS3.15 Basic profile through studies.deid, consistent via its mapping table."""

    deidentified = True

    def __init__(self) -> None:
        from studies import deid

        self._deid = deid
        # One context per export: it caches the mapping rows it reads or creates.
        self._context = deid.DeidContext()
        self._patients: dict[int, str] = {}
        self._rows: dict[int, Patient] = {}

    def prepare(self, entries: list[dict[str, Any]]) -> None:
        """Look up (or create) every replacement the manifests need in one transaction: one
        commit instead of one per new mapping row, which dominated large exports."""
        self._rows = _patients_of(entries)
        with transaction.atomic():
            for entry in entries:
                self.patient(entry)
                for key in ("study_instance_uid", "series_instance_uid", "sop_instance_uid"):
                    if entry.get(key):
                        self.uid(entry[key], entry)

    def patient(self, entry: dict[str, Any]) -> str:
        """The pseudonym the patient's de-identified DICOM files carry (same key, same map)."""
        pk = entry["patient"]
        if pk not in self._patients:
            patient = self._rows.get(pk) or Patient.objects.get(pk=pk)
            header = Dataset()
            header.PatientID = patient.patient_id
            if patient.issuer:
                header.IssuerOfPatientID = patient.issuer
            header.StudyInstanceUID = entry["study_instance_uid"]
            key = self._deid.patient_key(header)
            mapping = self._context.patient(key, study_uid=entry["study_instance_uid"])
            self._patients[pk] = mapping.pseudonym
        return self._patients[pk]

    def uid(self, uid: str, entry: dict[str, Any]) -> str:
        return str(self._context.uid(uid, study_uid=entry["study_instance_uid"]))

    def dataset(self, ds: Dataset, entry: dict[str, Any]) -> Dataset:
        return self._deid.deidentify(ds, context=self._context)


def build_identity(deidentify: bool) -> StoredIdentity | DeidentifiedIdentity:
    return DeidentifiedIdentity() if deidentify else StoredIdentity()
