"""Small real segmentation projects: generated images with known lesions (core.demo's generator)
stored as DICOM Secondary Capture items, the first `n_labelled` answered with imported
annotations. Lesions are stored alternately as the doctor's polygon and as the server's
rasterized brush mask of it, so both shape kinds feed training; images without a lesion are
answered "no findings" (a class answer with no labels): negatives."""

from __future__ import annotations

import hashlib

import pydicom
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from annotations.models import Annotation, Item, Project
from annotations.payloads import encode_mask, rasterize
from core.demo.generated_lesions import LesionSet, generate_lesion_images
from studies.frames import compute_frame_offsets
from studies.models import Instance, Patient, Series, Study
from studies.storage import get_store
from tests.cast import _dicom_bytes, make_project


def make_seg_project(
    admin,  # type: ignore[no-untyped-def]
    *,
    n_items: int = 40,
    n_labelled: int | None = None,
    size: int = 48,
    seed: int = 3,
    **fields: object,
) -> tuple[Project, LesionSet]:
    defaults: dict[str, object] = {
        "name": "Lesions",
        "strategy": "seg_entropy",
        "input_size": 32,
        "retrain_every": 1000,
        "batch_size": 4,
    }
    # The suite's one project factory; the lesion images are added below.
    project = make_project(
        task_type="segmentation", classes=("lesion",), admin=admin, **(defaults | fields)
    )
    generated = generate_lesion_images(count=n_items, size=size, seed=seed)
    n_labelled = n_items if n_labelled is None else n_labelled
    for i in range(n_items):
        item = add_item(project, generated.images[i], generated.patient_ids[i], i / n_items)
        if i < n_labelled:
            outline(item, generated.outlines[i], as_mask=bool(i % 2))
    return project, generated


def add_item(project: Project, pixels, patient_id: str, priority: float) -> Item:  # type: ignore[no-untyped-def]
    patient, _ = Patient.objects.get_or_create(patient_id=f"{project.pk}-{patient_id}")
    study = Study.objects.create(
        study_instance_uid=generate_uid(), patient=patient, modalities="OT"
    )
    series = Series.objects.create(series_instance_uid=generate_uid(), study=study, modality="OT")
    data = _dicom_bytes(
        pixels, patient.patient_id, study.study_instance_uid, series.series_instance_uid
    )
    ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(data))
    rows, cols = pixels.shape
    instance = Instance.objects.create(
        sop_instance_uid=ds.SOPInstanceUID,
        sop_class_uid=SecondaryCaptureImageStorage,
        series=series,
        transfer_syntax_uid=ExplicitVRLittleEndian,
        rows=rows,
        columns=cols,
        samples_per_pixel=1,
        bits_allocated=8,
        bits_stored=8,
        pixel_representation=0,
        photometric_interpretation="MONOCHROME2",
        frame_offsets=compute_frame_offsets(data, ds),
        storage_key=get_store().put(data),
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )
    return Item.objects.create(
        project=project, instance=instance, patient_key=patient.patient_id, priority=priority
    )


def outline(item: Item, points: list[list[float]] | None, *, as_mask: bool = False) -> Annotation:
    """The imported answer: the lesion's polygon (or the server's rasterized mask of it), or
    "no findings" when the image has none."""
    if points is None:
        return Annotation.objects.create(
            item=item, kind="class", source="imported", payload={"labels": []}
        )
    if as_mask:
        assert item.instance is not None
        pixels = rasterize("polygon", {"points": points}, item.instance.rows, item.instance.columns)
        assert pixels is not None
        return Annotation.objects.create(
            item=item,
            kind="mask",
            source="imported",
            payload={"label": "lesion", **encode_mask(pixels)},
        )
    return Annotation.objects.create(
        item=item, kind="polygon", source="imported", payload={"label": "lesion", "points": points}
    )
