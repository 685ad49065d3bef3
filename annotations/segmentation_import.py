"""Import a labelled segmentation or detection set into a project (docs/exports.md, decision
0170; boxes: decision 0371).

Each image becomes a Secondary Capture instance (patient = the set's case id, one study per
case) that goes through `studies.ingest.ingest_bytes` like any upload, so it is de-identified
when the project asks, stored, indexed and given its Item by the one item creator. Its label
map becomes submitted annotations of source "imported", authored by the import user: one mask
per class present, or, for an image without any object, a "no findings" class answer
(`{"labels": []}`), which ground truth and training read as a negative. Imported items are
complete: they are not served to doctors again. After commit each item's masks are also
stored as a DICOM SEG in its study (annotations.seg_store). A detection project takes the set's
boxes and points instead (annotations.detection_sources: COCO, or the npz's instances).

All files are read and checked first (annotations.segmentation_sources), then everything is
written in one transaction: a bad file leaves no row. Bytes stored by ingest for a batch that
then rolls back are removed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction

from annotations import seg_store
from annotations.datasets import _uid, ensure_label_classes, secondary_capture
from annotations.models import (
    Annotation,
    AnnotationSource,
    Item,
    Project,
    TaskType,
    WorkUnit,
)
from annotations.payloads import encode_mask
from annotations.segmentation_sources import (
    LabelledImage,
    LabelledSet,
    SegmentationSourceError,
    read_labelled_set,
)
from studies.ingest import ingest_bytes
from studies.models import Instance
from studies.storage import get_store

IMPORT_USERNAME = "radloop-import"
Progress = Callable[[int], None]


@dataclass
class SegmentationImportResult:
    images: int
    masks: int
    negatives: int
    items_in_project: int
    boxes: int = 0  # boxes and points, in a detection project


def import_user() -> Any:
    """The designated author of imported annotations: an inactive account nobody signs in as."""
    user, created = get_user_model().objects.get_or_create(
        username=IMPORT_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def check_project(project: Project) -> None:
    if project.task_type not in (TaskType.SEGMENTATION, TaskType.DETECTION):
        raise SegmentationSourceError(
            "masks can only be imported into a segmentation project, boxes into a detection one"
        )
    if project.unit == WorkUnit.SERIES:
        raise SegmentationSourceError("labels are imported per image: use an instance project")


def import_segmentation_set(
    project: Project,
    labelled: LabelledSet,
    *,
    user: Any = None,
    progress: Progress | None = None,
) -> SegmentationImportResult:
    """Write a checked set into `project`; all or nothing."""
    check_project(project)
    detection = project.task_type == TaskType.DETECTION
    if detection and any(entry.shapes is None for entry in labelled.images):
        raise SegmentationSourceError("a detection project takes boxes: the set has none")
    author = import_user()
    stored_keys: list[str] = []
    masks = negatives = 0
    try:
        with transaction.atomic():
            ensure_label_classes(project, labelled.class_names)
            for number, entry in enumerate(labelled.images, start=1):
                item = _ingest(project, labelled.source, entry, number, user, stored_keys)
                added, negative = _record(item, entry, labelled.class_names, author)
                masks += added
                negatives += negative
                if progress:
                    progress(1)
    except BaseException:
        for key in stored_keys:  # the rows are gone; so go the bytes nobody else refers to
            if not Instance.objects.filter(storage_key=key).exists():
                get_store().delete(key)
        raise
    return SegmentationImportResult(
        images=len(labelled.images),
        masks=masks,
        negatives=negatives,
        items_in_project=project.items.count(),
        boxes=sum(len(entry.shapes or []) for entry in labelled.images) if detection else 0,
    )


def _ingest(
    project: Project,
    source: str,
    entry: LabelledImage,
    number: int,
    user: Any,
    stored_keys: list[str],
) -> Item:
    digest = hashlib.sha256(entry.image.tobytes()).hexdigest()
    data = secondary_capture(
        entry.image,
        patient_id=entry.case[:64],
        study_uid=_uid(project.pk, source, entry.case, "study"),
        series_uid=_uid(project.pk, source, entry.case, "series"),
        sop_uid=_uid(project.pk, source, entry.name, digest),
        number=number,
    )
    outcome = ingest_bytes(data, source_name=f"{source}[{entry.name}]", user=user, project=project)
    if outcome.instance is None:
        raise SegmentationSourceError(f"{entry.name}: {outcome.status}: {outcome.reason}")
    if outcome.status == "stored":
        stored_keys.append(outcome.instance.storage_key)
    item = Item.objects.filter(project=project, instance=outcome.instance, frame=1).first()
    if item is None:
        raise SegmentationSourceError(f"{entry.name}: the project made no item for it")
    return item


def _record(
    item: Item, entry: LabelledImage, class_names: list[str], author: Any
) -> tuple[int, int]:
    """The item's imported masks (one per class present) or its "no findings" answer; an item
    that already has imported annotations keeps them (a repeated import changes nothing)."""
    if Annotation.objects.filter(
        item=item, source=AnnotationSource.IMPORTED, is_current=True, deleted=False
    ).exists():
        return 0, 0
    rows: list[Annotation] = []
    if entry.shapes is not None:  # a detection set: its boxes and points
        for shape in entry.shapes:
            payload = {"label": class_names[shape.value - 1], "points": shape.points}
            rows.append(_annotation(item, author, shape.kind, payload))
    else:
        for value in (int(v) for v in np.unique(entry.labels) if v):
            payload = {"label": class_names[value - 1], **encode_mask(entry.labels == value)}
            rows.append(_annotation(item, author, "mask", payload))
    if not rows:
        rows.append(_annotation(item, author, "class", {"labels": []}))
    Annotation.objects.bulk_create(rows)
    updates: dict[str, Any] = {"completed": True}
    if entry.split and not item.split:  # splits are locked once assigned
        updates["split"] = entry.split
    Item.objects.filter(pk=item.pk).update(**updates)
    if entry.shapes is None:
        seg_store.sync_after_commit(item.pk)  # bulk_create sends no signal
    masks = sum(1 for row in rows if row.kind == "mask")
    return masks, int(all(row.kind == "class" for row in rows))


def _annotation(item: Item, author: Any, kind: str, payload: dict[str, Any]) -> Annotation:
    return Annotation(
        item=item,
        author=author,
        source=AnnotationSource.IMPORTED,
        kind=kind,
        payload=payload,
        frame=item.frame,
    )


def import_segmentation_path(
    project: Project,
    path: str | Path,
    *,
    class_names: list[str] | None = None,
    cases: dict[str, str] | None = None,
    limit: int | None = None,
    user: Any = None,
    progress: Progress | None = None,
) -> SegmentationImportResult:
    """Read `path` (npz, PNG folder pair or nnU-Net raw folder; for a detection project, npz
    boxes from instances or a COCO folder) and import it."""
    check_project(project)
    if class_names is None:
        known = list(project.label_classes.order_by("index").values_list("name", flat=True))
        class_names = known or None
    labelled = read_labelled_set(
        Path(path),
        class_names=class_names,
        cases=cases,
        limit=limit,
        boxes=project.task_type == TaskType.DETECTION,
    )
    return import_segmentation_set(project, labelled, user=user, progress=progress)
