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

Single-frame images only (instance items); frames of multi-frame objects and series items are
exported as DICOM SEG by the export (annotations.exports.formats.dicom_seg) but not stored here.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

import highdicom as hd
import numpy as np
from django.db import transaction
from pydicom.sr.codedict import codes

from annotations.datasets import _uid
from annotations.exports.formats.dicom_seg import DEID_MARKERS, dicom_bytes
from annotations.exports.geometry import class_masks
from annotations.ground_truth import ground_truth_for
from annotations.models import Item, TaskType
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


def seg_series_uid(item: Item) -> str:
    """The item's SEG series: stable across versions, so the current SEG replaces the last."""
    return _uid("radloop-seg-series", item.project_id, item.pk)


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


def build_seg(item: Item, shapes: list[dict[str, Any]], version_key: str) -> bytes | None:
    """The SEG bytes for these shapes on the item's image; None when there is nothing to show."""
    project = item.project
    class_names = list(project.label_classes.order_by("index").values_list("name", flat=True))
    class_index = {name: index for index, name in enumerate(class_names)}
    instance = item.instance
    assert instance is not None
    source = read_dataset(instance)
    for keyword in TYPE2_PATIENT_STUDY:
        # highdicom copies these Type 2 attributes; stored objects may lack them (they are
        # empty, not absent, in a valid object, so adding them empty changes no meaning).
        if keyword not in source:
            setattr(source, keyword, "")
    rows, cols = int(source.Rows), int(source.Columns)
    planes = class_masks(shapes, class_index, rows, cols)  # (rows, cols, classes) 0/1
    if not planes.any():
        return None
    seg = hd.seg.Segmentation(
        source_images=[source],
        pixel_array=planes[np.newaxis],
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=_descriptions(class_names),
        series_instance_uid=seg_series_uid(item),
        series_number=SEG_SERIES_NUMBER,
        sop_instance_uid=_uid("radloop-seg", item.project_id, item.pk, version_key),
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
        if keyword in source:
            setattr(seg, keyword, copy.deepcopy(source[keyword].value))
    return dicom_bytes(seg)


def _truth_shapes(item: Item) -> tuple[list[dict[str, Any]], str]:
    truth = ground_truth_for(item.project, [item.pk]).get(item.pk)
    if truth is None:
        return [], ""
    shapes = [s for s in truth.shapes if s.get("kind") in REGION_KINDS and s.get("frame", 1) == 1]
    return shapes, ",".join(map(str, truth.annotation_ids))


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
    """Make the stored SEG of one item match its current ground truth; the SEG instance now
    stored for it, or None when it has none."""
    item = Item.objects.select_related("project", "instance").filter(pk=item_id).first()
    if item is None or item.instance is None or item.project.task_type != TaskType.SEGMENTATION:
        return None
    if item.instance.number_of_frames != 1 or not item.instance.storage_key:
        return None
    shapes, version_key = _truth_shapes(item)
    data = build_seg(item, shapes, version_key) if shapes else None
    current: Instance | None = None
    with transaction.atomic():
        if data is not None:
            outcome = ingest_bytes(data, source_name=f"seg of item {item.pk}")
            if outcome.instance is None:
                raise RuntimeError(f"SEG of item {item.pk} was {outcome.status}: {outcome.reason}")
            current = outcome.instance
        stale = Instance.objects.filter(series__series_instance_uid=seg_series_uid(item))
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
