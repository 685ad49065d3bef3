"""Submitted masks stored as DICOM SEG instances in their study: pixel-exact when read back with
highdicom, listed by QIDO and served by WADO-RS, replaced on a new version, never Items."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest

from annotations.models import Annotation, Item, Membership, Role
from annotations.payloads import encode_mask
from annotations.seg_store import SEGMENTATION_STORAGE, seg_series_uid, sync_item_seg
from annotations.segmentation_import import import_segmentation_set
from annotations.segmentation_sources import LabelledImage, LabelledSet
from studies.ingest import ingest_bytes
from studies.models import Instance
from studies.storage import read_dataset
from tests.cast import make_project
from tests.exports import factories as f
from tests.studies.dicomweb_support import token_client


def labelled(count: int = 3) -> LabelledSet:
    rng = np.random.default_rng(4)
    images = []
    for index in range(count):
        labels = np.zeros((20, 26), dtype=np.uint16)
        if index != count - 1:  # the last image has no findings
            labels[2:8, 3:10] = 1
            labels[12:18, 15:24] = 2 if index == 0 else 1
        images.append(
            LabelledImage(
                rng.integers(0, 255, size=(20, 26), dtype=np.uint8),
                labels,
                case=f"case{index}",
                name=f"img{index}",
            )
        )
    return LabelledSet(["cyst", "tumour"], images, "test:seg")


def segs_of(item: Item) -> list[Instance]:
    return list(Instance.objects.filter(series__series_instance_uid=seg_series_uid(item)))


def seg_pixels(instance: Instance, source_uid: str) -> np.ndarray:
    seg = hd.seg.Segmentation.from_dataset(read_dataset(instance))
    return seg.get_pixels_by_source_instance(
        source_sop_instance_uids=[source_uid],
        segment_numbers=[1, 2],
        assert_missing_frames_are_empty=True,
    )[0]


@pytest.fixture
def imported(db: None, django_capture_on_commit_callbacks: Any) -> Any:
    project = make_project(name="Cysts", task_type="segmentation", classes=[])
    with django_capture_on_commit_callbacks(execute=True):
        import_segmentation_set(project, labelled())
    return project


def test_each_imported_mask_is_a_pixel_exact_seg_in_its_study_and_not_an_item(imported) -> None:  # type: ignore[no-untyped-def]
    items = f.items_of(imported)
    assert len(items) == 3  # the SEGs made no items
    expected = labelled()
    for item, entry in zip(items, expected.images, strict=True):
        segs = segs_of(item)
        if not entry.labels.any():
            assert segs == []  # "no findings": nothing to show
            continue
        (seg,) = segs
        assert seg.sop_class_uid == SEGMENTATION_STORAGE
        assert seg.series.study_id == item.instance.series.study_id
        assert seg.series.modality == "SEG"
        planes = seg_pixels(seg, item.instance.sop_instance_uid)
        assert np.array_equal(planes[:, :, 0] > 0, entry.labels == 1)
        assert np.array_equal(planes[:, :, 1] > 0, entry.labels == 2)
        # The SEG carries the stored (de-identified) patient of its source.
        ds = read_dataset(seg)
        assert ds.PatientID == item.instance.series.study.patient.patient_id != entry.case
        assert [s.SegmentLabel for s in ds.SegmentSequence] == ["cyst", "tumour"]
        assert ds.PatientIdentityRemoved == "YES"
    assert not Item.objects.filter(instance__sop_class_uid=SEGMENTATION_STORAGE).exists()


def test_qido_lists_and_wado_serves_the_seg_to_a_member(imported, make_user) -> None:  # type: ignore[no-untyped-def]
    doctor = make_user("seg-reader")
    Membership.objects.create(project=imported, user=doctor, role=Role.ANNOTATOR)
    item = f.items_of(imported)[0]
    (seg,) = segs_of(item)
    study = item.instance.series.study.study_instance_uid
    client = token_client(doctor)
    series = client.get(f"/dicomweb/projects/{imported.pk}/studies/{study}/series").json()
    modalities = {s["00080060"]["Value"][0] for s in series}
    assert modalities == {"OT", "SEG"}
    found = client.get(
        f"/dicomweb/projects/{imported.pk}/studies/{study}/instances",
        {"SOPClassUID": SEGMENTATION_STORAGE},
    ).json()
    assert [i["00080018"]["Value"][0] for i in found] == [seg.sop_instance_uid]
    response = client.get(
        f"/dicomweb/projects/{imported.pk}/studies/{study}/series/"
        f"{seg.series.series_instance_uid}/instances/{seg.sop_instance_uid}",
        HTTP_ACCEPT="application/dicom",
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    ds = pydicom.dcmread(io.BytesIO(body))
    assert ds.SOPInstanceUID == seg.sop_instance_uid
    planes = hd.seg.Segmentation.from_dataset(ds).get_pixels_by_source_instance(
        source_sop_instance_uids=[item.instance.sop_instance_uid], segment_numbers=[1, 2]
    )[0]
    assert np.array_equal(planes[:, :, 0] > 0, labelled().images[0].labels == 1)
    outsider = token_client(make_user("seg-outsider"))
    assert outsider.get(f"/dicomweb/studies/{study}/instances").status_code == 404


def test_a_new_version_replaces_the_seg_and_no_findings_removes_it(
    imported, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    item = f.items_of(imported)[1]
    (old,) = segs_of(item)
    current = Annotation.objects.filter(item=item, is_current=True, kind="mask").get()
    new_mask = np.zeros((20, 26), dtype=bool)
    new_mask[5:15, 5:9] = True
    with django_capture_on_commit_callbacks(execute=True):
        Annotation.objects.filter(pk=current.pk).update(is_current=False)
        Annotation.objects.create(
            uid=current.uid,
            version=current.version + 1,
            item=item,
            author=current.author,
            source=current.source,
            kind="mask",
            payload={"label": "tumour", **encode_mask(new_mask)},
        )
    (new,) = segs_of(item)
    assert new.sop_instance_uid != old.sop_instance_uid
    assert not Instance.objects.filter(pk=old.pk).exists()
    planes = seg_pixels(new, item.instance.sop_instance_uid)
    assert not planes[:, :, 0].any()
    assert np.array_equal(planes[:, :, 1] > 0, new_mask)
    # The same truth again writes nothing new (the derived UID is the same: a duplicate).
    assert sync_item_seg(item.pk).pk == new.pk  # type: ignore[union-attr]
    # Every mask deleted: the item has no region left, so no SEG.
    with django_capture_on_commit_callbacks(execute=True):
        for annotation in Annotation.objects.filter(item=item, is_current=True):
            Annotation.objects.filter(pk=annotation.pk).update(is_current=False)
            Annotation.objects.create(
                uid=annotation.uid,
                version=annotation.version + 1,
                item=item,
                source=annotation.source,
                kind=annotation.kind,
                payload=annotation.payload,
                deleted=True,
            )
    assert segs_of(item) == []


def test_a_seg_stored_into_a_project_makes_no_item(db: None, tmp_path: Path) -> None:
    project = make_project(
        name="Plain", task_type="segmentation", classes=["lesion"], deidentify=False
    )
    pixels = np.zeros((16, 16), dtype=np.uint8)
    source_bytes = f.secondary_capture(pixels, "PAT-1")
    outcome = ingest_bytes(source_bytes, project=project)
    assert outcome.status == "stored"
    source = pydicom.dcmread(io.BytesIO(source_bytes))
    source.PatientBirthDate = source.PatientSex = source.StudyID = ""
    source.ReferringPhysicianName = source.AccessionNumber = source.StudyTime = ""
    mask = np.zeros((1, 16, 16), dtype=np.uint8)
    mask[0, 4:8, 4:8] = 1
    seg = hd.seg.Segmentation(
        source_images=[source],
        pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[
            hd.seg.SegmentDescription(
                segment_number=1,
                segment_label="lesion",
                segmented_property_category=hd.sr.CodedConcept(
                    "91723000", "SCT", "Anatomical Structure"
                ),
                segmented_property_type=hd.sr.CodedConcept("4147007", "SCT", "Mass"),
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            )
        ],
        series_instance_uid=hd.UID(),
        series_number=2,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="Other tool",
        manufacturer_model_name="x",
        software_versions="1",
        device_serial_number="1",
    )
    buffer = io.BytesIO()
    seg.save_as(buffer)
    stored = ingest_bytes(buffer.getvalue(), project=project)
    assert stored.status == "stored", stored.reason
    assert Item.objects.filter(project=project).count() == 1
