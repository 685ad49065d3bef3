"""Masks on a multi-frame image and on a series are stored as one DICOM SEG each (decision 0353):
its frames reference the source frames (or instances) the doctor drew on, every source plane
reads back pixel-exact with highdicom, QIDO lists it, a new version replaces it and "no
findings" removes it.

The multi-frame source is real: four slices of the shared CT phantom converted with highdicom to
one Legacy Converted Enhanced CT object (per-frame plane positions, as a scanner's enhanced
export has). The series is the same slices as they are, one instance each."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest

from annotations.exports.geometry import class_masks
from annotations.models import Annotation, Item, Membership, Role
from annotations.payloads import encode_mask
from annotations.seg_store import SEGMENTATION_STORAGE, seg_series_uid, sync_item_seg
from studies.models import Instance
from studies.storage import read_dataset
from tests.cast import make_project
from tests.exports import factories as f
from tests.studies.dicomweb_support import token_client

CT_FOLDER = "dicom/ct_head_phantom_philips_ingenuity"
CLASSES = {"brain": 0, "lesion": 1}


def ct_slices(shared_data: Path, count: int = 4) -> list[Path]:
    return sorted((shared_data / CT_FOLDER).glob("*.dcm"))[:count]


def enhanced_ct(paths: list[Path]) -> bytes:
    """Real CT slices as one multi-frame object (highdicom's legacy conversion, PS3.3 A.70)."""
    legacy = [pydicom.dcmread(path) for path in paths]
    converted = hd.legacy.LegacyConvertedEnhancedCTImage(
        legacy_datasets=legacy,
        series_instance_uid=hd.UID(),
        series_number=7,
        sop_instance_uid=hd.UID(),
        instance_number=1,
    )
    buffer = io.BytesIO()
    converted.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def lesion(rows: int, cols: int, plane: int) -> np.ndarray:
    """A different region on every plane, so a plane read back in the wrong place fails."""
    mask = np.zeros((rows, cols), dtype=np.uint8)
    top = 40 + 30 * plane
    mask[top : top + 20 + 5 * plane, 100 + 7 * plane : 180] = 1
    return mask


def polygon(plane: int) -> dict[str, Any]:
    x, y = 250.0 + 10 * plane, 260.0
    return {"label": "brain", "points": [[x, y], [x + 60, y], [x + 50, y + 40], [x, y + 35]]}


def mask_payload(mask: np.ndarray, label: str = "lesion") -> dict[str, Any]:
    return {"label": label, **encode_mask(mask.astype(bool))}


def expected_planes(
    shapes_by_plane: dict[int, list[dict[str, Any]]], planes: int, rows: int, cols: int
) -> np.ndarray:
    out = np.zeros((planes, rows, cols, 2), dtype=np.uint8)
    for plane, shapes in shapes_by_plane.items():
        out[plane] = class_masks(shapes, CLASSES, rows, cols)
    return out


def ingest_one(project: Any, data: bytes) -> Instance:
    outcome = f.ingest_bytes(data, source_name="enhanced-ct", project=project)
    assert outcome.status == "stored" and outcome.instance is not None, outcome.reason
    return outcome.instance


def source_frame(group: pydicom.Dataset) -> int:
    """The source frame a SEG frame's functional group references."""
    value = group.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber
    return int(value[0] if isinstance(value, pydicom.multival.MultiValue) else value)


def segs_of(item: Item) -> list[Instance]:
    return list(Instance.objects.filter(series__series_instance_uid=seg_series_uid(item)))


def frames_read_back(seg: Instance, source: Instance) -> np.ndarray:
    """Every frame of the multi-frame source, as the stored SEG describes it (absent = empty)."""
    segmentation = hd.seg.Segmentation.from_dataset(read_dataset(seg))
    return segmentation.get_pixels_by_source_frame(
        source_sop_instance_uid=source.sop_instance_uid,
        source_frame_numbers=list(range(1, source.number_of_frames + 1)),
        segment_numbers=[1, 2],
        assert_missing_frames_are_empty=True,
    )


@pytest.fixture
def multiframe(db: None, shared_data: Path) -> bytes:
    return enhanced_ct(ct_slices(shared_data))


def test_instance_item_on_a_multiframe_image_is_one_seg_frame_by_frame(
    multiframe: bytes, django_capture_on_commit_callbacks: Any
) -> None:
    project = make_project(
        name="Enhanced CT", task_type="segmentation", classes=list(CLASSES), deidentify=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        source = ingest_one(project, multiframe)
        (item,) = f.items_of(project)
        assert source.number_of_frames == 4
        rows, cols = source.rows, source.columns
        # Frames 2 and 4 outlined (frame 4 with two classes), frames 1 and 3 left empty.
        f.imported(item, "mask", mask_payload(lesion(rows, cols, 1)), frame=2)
        f.imported(item, "mask", mask_payload(lesion(rows, cols, 3)), frame=4)
        f.imported(item, "polygon", polygon(3), frame=4)
    (seg,) = segs_of(item)
    assert seg.sop_class_uid == SEGMENTATION_STORAGE
    assert seg.series.study_id == source.series.study_id
    expected = expected_planes(
        {
            1: [{**mask_payload(lesion(rows, cols, 1)), "kind": "mask"}],
            3: [
                {**mask_payload(lesion(rows, cols, 3)), "kind": "mask"},
                {**polygon(3), "kind": "polygon"},
            ],
        },
        4,
        rows,
        cols,
    )
    assert expected[3, :, :, 0].any() and expected[3, :, :, 1].any()
    assert np.array_equal(frames_read_back(seg, source), expected)
    # Only the frames with a region are stored, each referencing its own source frame, at the
    # source frame's position.
    ds = read_dataset(seg)
    referenced = sorted(
        (source_frame(group), int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber))
        for group in ds.PerFrameFunctionalGroupsSequence
    )
    assert referenced == [(2, 2), (4, 1), (4, 2)]
    src = read_dataset(source, stop_before_pixels=True)
    positions = {
        frame: list(map(float, group.PlanePositionSequence[0].ImagePositionPatient))
        for frame, group in enumerate(src.PerFrameFunctionalGroupsSequence, start=1)
    }
    for group in ds.PerFrameFunctionalGroupsSequence:
        got = list(map(float, group.PlanePositionSequence[0].ImagePositionPatient))
        assert got == pytest.approx(positions[source_frame(group)])


def test_frame_items_share_one_seg_kept_in_step_with_each_frames_versions(
    multiframe: bytes, django_capture_on_commit_callbacks: Any
) -> None:
    project = make_project(
        name="Frames",
        task_type="segmentation",
        classes=list(CLASSES),
        deidentify=False,
        unit="frame",
    )
    with django_capture_on_commit_callbacks(execute=True):
        source = ingest_one(project, multiframe)
        items = f.items_of(project)
        assert [item.frame for item in items] == [1, 2, 3, 4]
        rows, cols = source.rows, source.columns
        for plane in (0, 2):  # frames 1 and 3; frame 2 "no findings", frame 4 not read
            f.imported(
                items[plane], "mask", mask_payload(lesion(rows, cols, plane)), frame=plane + 1
            )
        f.imported(items[1], "class", {"labels": []}, frame=2)
    # One SEG for the image, whichever frame item is asked.
    assert {seg_series_uid(item) for item in items} == {seg_series_uid(items[0])}
    (seg,) = segs_of(items[0])
    expected = expected_planes(
        {p: [{**mask_payload(lesion(rows, cols, p)), "kind": "mask"}] for p in (0, 2)},
        4,
        rows,
        cols,
    )
    assert np.array_equal(frames_read_back(seg, source), expected)

    # A new version of frame 3's mask replaces the SEG; frame 1 is unchanged in it.
    current = Annotation.objects.get(item=items[2], is_current=True)
    moved = np.roll(lesion(rows, cols, 2), 50, axis=1)
    with django_capture_on_commit_callbacks(execute=True):
        Annotation.objects.filter(pk=current.pk).update(is_current=False)
        Annotation.objects.create(
            uid=current.uid,
            version=current.version + 1,
            item=items[2],
            source=current.source,
            kind="mask",
            frame=3,
            payload=mask_payload(moved),
        )
    (new,) = segs_of(items[0])
    assert new.sop_instance_uid != seg.sop_instance_uid
    assert not Instance.objects.filter(pk=seg.pk).exists()
    expected[2] = class_masks([{**mask_payload(moved), "kind": "mask"}], CLASSES, rows, cols)
    assert np.array_equal(frames_read_back(new, source), expected)
    assert sync_item_seg(items[3].pk).pk == new.pk  # type: ignore[union-attr]

    # Both outlined frames now "no findings": the image has no region left, so no SEG.
    with django_capture_on_commit_callbacks(execute=True):
        for item in (items[0], items[2]):
            annotation = Annotation.objects.get(item=item, is_current=True)
            Annotation.objects.filter(pk=annotation.pk).update(is_current=False)
            Annotation.objects.create(
                uid=annotation.uid,
                version=annotation.version + 1,
                item=item,
                source=annotation.source,
                kind=annotation.kind,
                frame=annotation.frame,
                payload=annotation.payload,
                deleted=True,
            )
    assert segs_of(items[0]) == []


def test_series_item_is_one_seg_referencing_each_slice_by_position(
    db: None, shared_data: Path, django_capture_on_commit_callbacks: Any, make_user: Any
) -> None:
    project = make_project(
        name="CT series",
        task_type="segmentation",
        classes=list(CLASSES),
        deidentify=False,
        unit="series",
    )
    paths = ct_slices(shared_data)
    # Slice positions as the viewer numbers them: by Instance Number (read from the files here,
    # independently of the server's ordering).
    order = sorted(
        paths, key=lambda p: int(pydicom.dcmread(p, stop_before_pixels=True).InstanceNumber)
    )
    uids = [str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in order]
    with django_capture_on_commit_callbacks(execute=True):
        f.ingest_files(project, paths)
        (item,) = f.items_of(project)
        assert item.instance is None and item.series is not None
        rows = cols = 512
        shapes_by_plane: dict[int, list[dict[str, Any]]] = {}
        for plane in (0, 1, 3):  # slice 3 empty
            f.imported(item, "mask", mask_payload(lesion(rows, cols, plane)), frame=plane + 1)
            shapes_by_plane[plane] = [{**mask_payload(lesion(rows, cols, plane)), "kind": "mask"}]
        f.imported(item, "polygon", polygon(1), frame=2)
        shapes_by_plane[1].append({**polygon(1), "kind": "polygon"})
    (seg,) = segs_of(item)
    assert seg.series.study_id == item.series.study_id
    assert seg.series_id != item.series_id
    segmentation = hd.seg.Segmentation.from_dataset(read_dataset(seg))
    assert {uid for _study, _series, uid in segmentation.get_source_image_uids()} == set(uids)
    pixels = segmentation.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=[1, 2], assert_missing_frames_are_empty=True
    )
    assert np.array_equal(pixels, expected_planes(shapes_by_plane, 4, rows, cols))

    # QIDO finds it in the study, WADO-RS serves the same object.
    doctor = make_user("series-reader")
    Membership.objects.create(project=project, user=doctor, role=Role.ANNOTATOR)
    study = item.series.study.study_instance_uid
    client = token_client(doctor)
    found = client.get(
        f"/dicomweb/projects/{project.pk}/studies/{study}/instances",
        {"SOPClassUID": SEGMENTATION_STORAGE},
    ).json()
    assert [i["00080018"]["Value"][0] for i in found] == [seg.sop_instance_uid]
    response = client.get(
        f"/dicomweb/projects/{project.pk}/studies/{study}/series/"
        f"{seg.series.series_instance_uid}/instances/{seg.sop_instance_uid}",
        HTTP_ACCEPT="application/dicom",
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    served = hd.seg.Segmentation.from_dataset(pydicom.dcmread(io.BytesIO(body)))
    assert np.array_equal(
        served.get_pixels_by_source_instance(
            source_sop_instance_uids=uids,
            segment_numbers=[1, 2],
            assert_missing_frames_are_empty=True,
        ),
        pixels,
    )


def test_multiframe_without_a_frame_of_reference_gets_no_seg_and_no_error(
    db: None, shared_data: Path, django_capture_on_commit_callbacks: Any
) -> None:
    project = make_project(
        name="Cine US", task_type="segmentation", classes=list(CLASSES), deidentify=False
    )
    cine = shared_data / "dicom/single_files/us_palette_philips_rle_2frame.dcm"
    with django_capture_on_commit_callbacks(execute=True):
        (source,) = f.ingest_files(project, [cine])
        (item,) = f.items_of(project)
        assert source.number_of_frames == 2
        f.imported(item, "mask", mask_payload(lesion(source.rows, source.columns, 0)), frame=2)
    assert segs_of(item) == []
    assert sync_item_seg(item.pk) is None
