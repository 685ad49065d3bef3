"""Small real projects for the learning tests: DICOM Secondary Capture objects made with pydicom,
stored through studies.storage, indexed as Instance rows, labelled with imported annotations.

Images are 32x32 uint8: a bright square in the left half (class "normal") or the right half
("pneumonia") over noise, so a tiny CNN separates them in a few epochs. Two images per patient,
so patient-level splits are exercised.
"""

from __future__ import annotations

import hashlib
from io import BytesIO

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from annotations.models import Annotation, Item, LabelClass, Membership, Project, Role
from studies.frames import compute_frame_offsets
from studies.models import Instance, Patient, Series, Study
from studies.storage import get_store

CLASSES = ["normal", "pneumonia"]


def synthetic_images(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, size, size)).astype(np.uint8)
    side = size // 3
    for i, label in enumerate(labels):
        row = int(rng.integers(2, size - side - 2))
        col = int(rng.integers(1, size // 2 - side)) + (size // 2 if label else 0)
        images[i, row : row + side, col : col + side] = rng.integers(180, 255)
    return images, labels


def _dicom_bytes(pixels: np.ndarray, patient_id: str, study_uid: str, series_uid: str) -> bytes:
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.PatientID, ds.PatientName, ds.Modality = patient_id, "Test^Synthetic", "OT"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = pixels.tobytes()
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def make_project(
    admin,  # type: ignore[no-untyped-def]
    *,
    n_items: int = 40,
    n_labelled: int | None = None,
    size: int = 32,
    seed: int = 0,
    **fields: object,
) -> Project:
    """A classification project with `n_items` real DICOM items, the first `n_labelled` labelled."""
    defaults: dict[str, object] = {
        "name": "Chest films",
        "task_type": "classification",
        "input_size": 28,
        "retrain_every": 1000,
        "batch_size": 4,
    }
    project = Project.objects.create(**(defaults | fields))
    Membership.objects.create(project=project, user=admin, role=Role.ADMIN)
    for index, name in enumerate(CLASSES):
        LabelClass.objects.create(project=project, name=name, index=index)
    images, labels = synthetic_images(n_items, size, seed)
    store = get_store()
    n_labelled = n_items if n_labelled is None else n_labelled
    for i in range(n_items):
        patient_id = f"P{project.pk}-{i // 2:03d}"
        patient, _ = Patient.objects.get_or_create(patient_id=patient_id)
        study = Study.objects.create(
            study_instance_uid=generate_uid(), patient=patient, modalities="OT"
        )
        series = Series.objects.create(
            series_instance_uid=generate_uid(), study=study, modality="OT"
        )
        data = _dicom_bytes(
            images[i], patient_id, study.study_instance_uid, series.series_instance_uid
        )
        ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(data))
        instance = Instance.objects.create(
            sop_instance_uid=ds.SOPInstanceUID,
            sop_class_uid=SecondaryCaptureImageStorage,
            series=series,
            transfer_syntax_uid=ExplicitVRLittleEndian,
            rows=size,
            columns=size,
            samples_per_pixel=1,
            bits_allocated=8,
            bits_stored=8,
            pixel_representation=0,
            photometric_interpretation="MONOCHROME2",
            frame_offsets=compute_frame_offsets(data, ds),
            storage_key=store.put(data),
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
        )
        item = Item.objects.create(
            project=project, instance=instance, patient_key=patient_id, priority=float(i) / n_items
        )
        if i < n_labelled:
            label(item, CLASSES[int(labels[i])])
    return project


def label(item: Item, name: str) -> Annotation:
    """An imported class label, as annotations.datasets.import_labelled_arrays records one."""
    return Annotation.objects.create(
        item=item, kind="class", source="imported", payload={"labels": [name]}
    )


def true_label(item: Item) -> str | None:
    annotation = item.annotations.filter(is_current=True, deleted=False).first()
    return None if annotation is None else annotation.payload["labels"][0]
