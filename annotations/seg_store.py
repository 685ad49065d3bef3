"""Doctors' masks as DICOM Segmentation instances in their study (docs/studies.md, decision 0171).

For each item of a segmentation project whose ground truth (annotations.ground_truth: review,
imported, or the readers' agreed answer) holds masks or polygons, one binary SEG (highdicom)
is stored in the image's study, in a series of its own for that item and project, so OHIF or
3D Slicer pointed at our DICOMweb find it by QIDO and load it by WADO-RS like any instance.

- One SEG per item: segment number = class index + 1, label = class name (as the dicom_seg
  export), pixels exactly the rasterized masks (polygons by the pixel-centre rule).
- Kept in step: the SEG's SOP Instance UID is derived from the annotation versions it holds,
  so a new version writes a new instance; the superseded one is then deleted from the index (and
  its bytes, unless another row refers to them), so QIDO lists only the current one. An item
  whose truth has no region any more ("no findings", or all masks deleted) has no SEG.
- Written after the transaction that changed the truth commits (annotation saves, submits,
  reviews, imports: the signals in annotations.apps), synchronously: building a SEG for one
  image costs milliseconds, and a failure is logged, never turned into a failed request.
- Stored through studies.ingest with no project: the source it is built from is the stored,
  already de-identified object, so the SEG carries the same patient and study; no project means
  no Item is made for it (and annotations.items.create_items skips SEG instances anyway).

Every kind of item (decision 0353):
- an instance item on a single-frame image: one SEG of one frame (as above);
- an instance item on a multi-frame image: one SEG whose frames reference the source frames the
  doctor drew on (a shape's "frame" is the source frame number), with the source's per-frame
  plane positions (highdicom copies them);
- frame items (Project.unit "frame") of a multi-frame image: one SEG per image and project,
  holding the truth of all its frame items (one series keyed by the instance, not the item), so
  a viewer loads one labelmap for the cine/volume, not one object per frame;
- a series item: one SEG over the series' instances in the order the viewer and the export
  number them (annotations.exports.snapshots.frames_of: instance number, then UID), a shape's
  "frame" being its 1-based slice position.
A SEG of several planes needs a spatial frame of reference (PS3.3 C.8.20.2; highdicom enforces
it): a multi-frame object or series without one (cine ultrasound, say) gets no stored SEG, as
the export skips it; that is logged.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import highdicom as hd
import numpy as np
from django.db import transaction
from highdicom.spatial import get_image_coordinate_system
from pydicom import Dataset
from pydicom.sr.codedict import codes

from annotations.datasets import _uid
from annotations.exports.formats.dicom_seg import DEID_MARKERS, dicom_bytes
from annotations.exports.geometry import class_masks
from annotations.exports.snapshots import frames_of
from annotations.ground_truth import ground_truth_for
from annotations.models import Item, TaskType, WorkUnit
from studies.ingest import ingest_bytes
from studies.models import Instance, Series
from studies.storage import get_store, read_dataset

SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
SEG_SERIES_NUMBER = 9901
REGION_KINDS = {"mask", "polygon", "box"}
TYPE2_PATIENT_STUDY = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
)

logger = logging.getLogger(__name__)


@dataclass
class SegLayout:
    """What one stored SEG covers: the items whose truth it holds, its source instances in
    plane order, and per plane the (source index, frame number) it references."""

    key: tuple[object, ...]  # what the SEG's series UID is derived from
    items: list[Item]
    instances: list[Instance]
    planes: list[tuple[int, int]]

    def plane_of(self, item: Item, shape: dict[str, Any]) -> int | None:
        """The plane a shape of this item lies on; None when it names no plane of the SEG."""
        if len(self.planes) == 1:
            return 0
        if self.items[0].instance_id is not None and len(self.items) > 1:
            number = item.frame  # a frame item is that frame, whatever its shapes say
        else:
            number = int(shape.get("frame", 1))  # source frame, or slice position in a series
        return number - 1 if 1 <= number <= len(self.planes) else None


def seg_layout(item: Item) -> SegLayout | None:
    """The SEG an item's masks go into (see the module docstring); None without an image."""
    instance = item.instance
    if instance is None:
        if item.series_id is None:
            return None
        pks = [pk for pk, _frame in frames_of(item)[0]]
        by_pk = Instance.objects.in_bulk(pks)
        instances = [by_pk[pk] for pk in pks]
        return SegLayout((item.pk,), [item], instances, [(i, 1) for i in range(len(instances))])
    frames = instance.number_of_frames or 1
    planes = [(0, number) for number in range(1, frames + 1)]
    if frames > 1 and item.project.unit == WorkUnit.FRAME:
        siblings = list(
            Item.objects.filter(project_id=item.project_id, instance=instance).order_by("frame")
        )
        return SegLayout(("instance", instance.pk), siblings, [instance], planes)
    return SegLayout((item.pk,), [item], [instance], planes)


def seg_series_uid(item: Item) -> str:
    """The item's SEG series: stable across versions, so the current SEG replaces the last."""
    layout = seg_layout(item)
    return _uid("radloop-seg-series", item.project_id, *(layout.key if layout else (item.pk,)))


def _descriptions(class_names: list[str]) -> list[hd.seg.SegmentDescription]:
    return [
        hd.seg.SegmentDescription(
            segment_number=index + 1,
            segment_label=name[:64],
            # The schema names no anatomy: the generic "Tissue" concept, as in the export.
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Tissue,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for index, name in enumerate(class_names)
    ]


def _sources(layout: SegLayout) -> list[Dataset]:
    sources = []
    for instance in layout.instances:
        # Headers only: highdicom reads the sources' identity, geometry and plane positions.
        source = read_dataset(instance, stop_before_pixels=True)
        for keyword in TYPE2_PATIENT_STUDY:
            # highdicom copies these Type 2 attributes; stored objects may lack them (they are
            # empty, not absent, in a valid object, so adding them empty changes no meaning).
            if keyword not in source:
                setattr(source, keyword, "")
        sources.append(source)
    return sources


def seg_planes(
    layout: SegLayout,
    truths: dict[int, list[dict[str, Any]]],
    class_index: dict[str, int],
    rows: int,
    cols: int,
) -> np.ndarray:
    """(planes, rows, cols, classes) 0/1: the rasterized regions of each item on its plane."""
    stacked = np.zeros((len(layout.planes), rows, cols, len(class_index)), dtype=np.uint8)
    for item in layout.items:
        by_plane: dict[int, list[dict[str, Any]]] = {}
        for shape in truths.get(item.pk, []):
            plane = layout.plane_of(item, shape)
            if plane is not None:
                by_plane.setdefault(plane, []).append(shape)
        for plane, shapes in by_plane.items():
            np.maximum(
                stacked[plane], class_masks(shapes, class_index, rows, cols), out=stacked[plane]
            )
    return stacked


def build_seg(
    layout: SegLayout, truths: dict[int, list[dict[str, Any]]], version_key: str
) -> bytes | None:
    """The SEG bytes for these shapes (item id → region shapes) on the layout's planes; None
    when there is nothing to show or the planes cannot be described (no frame of reference)."""
    item = layout.items[0]
    project = item.project
    class_names = list(project.label_classes.order_by("index").values_list("name", flat=True))
    class_index = {name: index for index, name in enumerate(class_names)}
    sources = _sources(layout)
    rows, cols = int(sources[0].Rows), int(sources[0].Columns)
    stacked = seg_planes(layout, truths, class_index, rows, cols)
    if not stacked.any():
        return None
    if len(layout.planes) > 1 and get_image_coordinate_system(sources[0]) is None:
        logger.info(
            "no DICOM SEG for item %s: %d planes, no frame of reference",
            item.pk,
            len(layout.planes),
        )
        return None
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=stacked,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=_descriptions(class_names),
        series_instance_uid=_uid("radloop-seg-series", project.pk, *layout.key),
        series_number=SEG_SERIES_NUMBER,
        sop_instance_uid=_uid("radloop-seg", project.pk, *layout.key, version_key),
        instance_number=1,
        manufacturer="Radloop",
        manufacturer_model_name="Radloop",
        software_versions="radloop-seg 1",
        device_serial_number="0",
        content_label="RADLOOP",
        content_description=f"Masks of {project.name}"[:64],
        series_description=f"Radloop masks: {project.name}"[:64],
        omit_empty_frames=True,
    )
    # Its patient and study come from a de-identified source: it says so as the source does
    # (PS3.15 E.1.1), as the dicom_seg export does.
    for keyword in DEID_MARKERS:
        if keyword in sources[0]:
            setattr(seg, keyword, copy.deepcopy(sources[0][keyword].value))
    return dicom_bytes(seg)


def _truth_shapes(layout: SegLayout) -> tuple[dict[int, list[dict[str, Any]]], str]:
    """item id → its truth's region shapes, and a key naming the annotation versions used."""
    project = layout.items[0].project
    truths = ground_truth_for(project, [item.pk for item in layout.items])
    shapes: dict[int, list[dict[str, Any]]] = {}
    keys = []
    for item in layout.items:
        truth = truths.get(item.pk)
        if truth is None:
            continue
        regions = [s for s in truth.shapes if s.get("kind") in REGION_KINDS]
        if regions:
            shapes[item.pk] = regions
        versions = ",".join(map(str, truth.annotation_ids))
        # Several items: each one's versions under its id. One item: the bare versions, as
        # before, so the SEGs written then keep their UIDs.
        keys.append(f"{item.pk}:{versions}" if len(layout.items) > 1 else versions)
    return shapes, ";".join(keys)


def _remove(instances: Iterable[Instance]) -> int:
    removed = 0
    for instance in instances:
        key = instance.storage_key
        series_id = instance.series_id
        instance.delete()
        if key and not Instance.objects.filter(storage_key=key).exists():
            get_store().delete(key)
        if not Instance.objects.filter(series_id=series_id).exists():
            Series.objects.filter(pk=series_id).delete()
        removed += 1
    return removed


def sync_item_seg(item_id: int) -> Instance | None:
    """Make the stored SEG that holds this item's masks match the current ground truth; the SEG
    instance now stored for it, or None when it has none."""
    item = Item.objects.select_related("project", "instance").filter(pk=item_id).first()
    if item is None or item.project.task_type != TaskType.SEGMENTATION:
        return None
    layout = seg_layout(item)
    if layout is None or not layout.instances:
        return None
    if not all(instance.storage_key for instance in layout.instances):
        return None  # indexed upstream, bytes not here: nothing to build a SEG from
    shapes, version_key = _truth_shapes(layout)
    data = build_seg(layout, shapes, version_key) if shapes else None
    series_uid = _uid("radloop-seg-series", item.project_id, *layout.key)
    current: Instance | None = None
    with transaction.atomic():
        if data is not None:
            outcome = ingest_bytes(data, source_name=f"seg of item {item.pk}")
            if outcome.instance is None:
                raise RuntimeError(f"SEG of item {item.pk} was {outcome.status}: {outcome.reason}")
            current = outcome.instance
        stale = Instance.objects.filter(series__series_instance_uid=series_uid)
        if current is not None:
            stale = stale.exclude(pk=current.pk)
        _remove(list(stale))
    return current


def sync_after_commit(item_id: int) -> None:
    """Sync the item's SEG once the surrounding transaction commits (at once without one)."""
    transaction.on_commit(partial(_sync_logged, item_id))


def _sync_logged(item_id: int) -> None:
    try:
        sync_item_seg(item_id)
    except Exception:  # a SEG is a copy of the truth: losing one must not fail the save
        logger.exception("DICOM SEG of item %s not written", item_id)
