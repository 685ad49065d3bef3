"""Freeze a project's current ground truth into an immutable, hashed DatasetSnapshot.

Ground truth is what `annotations.ground_truth.ground_truth_for` says (adjudicated where a
reviewer decided, else the project's rule for several readers). Every item with ground truth
gets a split by patient through the same locking the learning loop uses
(`annotations.splits.lock_splits`: assigned items never move, the test split stays
locked). Entries are sorted by item id and the content hash covers entries and the frozen label
schema, so freezing unchanged labels twice returns the same snapshot row, and an export of a
snapshot is reproducible to the byte.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from annotations.exports.models import SnapshotSchema
from annotations.models import Item, LabelClass, Project
from annotations.splits import lock_splits
from learning.models import DatasetSnapshot, ModelVersion

# Bump when the entry layout changes: part of the hash, so old and new layouts never collide.
ENTRY_LAYOUT = 1


class NothingToExport(ValueError):
    """The project has no item with ground truth yet."""


def _canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def frozen_schema(project: Project) -> dict[str, Any]:
    classes = LabelClass.objects.filter(project=project).order_by("index")
    return {
        "layout": ENTRY_LAYOUT,
        "project_id": project.pk,
        "project_name": project.name,
        "task_type": project.task_type,
        "multi_label": project.multi_label,
        "unit": project.unit,
        "window_center": project.window_center,
        "window_width": project.window_width,
        "classes": [{"name": c.name, "index": c.index, "color": c.color} for c in classes],
    }


def reader_agreement(task_type: str, truth: Any, answers: Any) -> float | None:
    """How far an item's readers agree, 0..1; None under two readers.

    Classification: the share of readers whose labels equal the ground truth. Shapes: the mean
    pairwise similarity of the readers' answers (Dice of painted regions, else label overlap;
    annotations.agreement.answer_similarity), the measure the workflow's consensus uses."""
    from annotations.agreement import answer_similarity

    readers = answers.readers
    if len(readers) < 2:
        return None
    if task_type == "classification":
        expected = frozenset(truth.labels)
        return round(sum(r.labels == expected for r in readers) / len(readers), 6)
    instance = answers.item.instance
    rows, cols = (instance.rows, instance.columns) if instance is not None else (None, None)
    pairs = [
        answer_similarity(a, b, rows, cols) for i, a in enumerate(readers) for b in readers[i + 1 :]
    ]
    return round(float(sum(pairs) / len(pairs)), 6)


def frames_of(item: Item) -> tuple[list[list[int]], list[int]]:
    """The planes an item covers as [instance pk, frame number] pairs, and the number a shape's
    "frame" uses for each plane (frame number; slice position for series items)."""
    if item.instance_id is None and item.series_id is not None:
        instances = sorted(
            item.series.instances.all(),  # type: ignore[union-attr]
            key=lambda i: (i.instance_number is None, i.instance_number or 0, i.sop_instance_uid),
        )
        return [[i.pk, 1] for i in instances], list(range(1, len(instances) + 1))
    instance = item.instance
    assert instance is not None
    unit = item.project.unit
    if unit == "instance" and instance.number_of_frames > 1:
        numbers = list(range(1, instance.number_of_frames + 1))
    else:
        numbers = [item.frame]
    return [[instance.pk, n] for n in numbers], numbers


def build_entries(project: Project) -> list[dict[str, Any]]:
    # The same two steps as annotations.ground_truth.ground_truth_for, keeping the readers'
    # answers for the agreement column.
    from annotations.ground_truth import collect_answers, truth_from_answers

    answers = collect_answers(project)
    truths = {}
    for item_id, item_answers in answers.items():
        truth = truth_from_answers(project, item_answers)
        if truth is not None:
            truths[item_id] = truth
    if not truths:
        raise NothingToExport(f"project {project.pk} has no labelled item to export yet")
    item_ids = sorted(truths)
    # Stratified by first label, exactly as training locks them (ml_worker.jobs.snapshot).
    first_labels = {pk: truths[pk].labels[0] if truths[pk].labels else None for pk in item_ids}
    splits = lock_splits(project, item_ids, first_labels)
    items = (
        Item.objects.filter(pk__in=item_ids)
        .select_related(
            "project",
            "instance__series__study__patient",
            "series__study__patient",
        )
        .prefetch_related("series__instances")
        .order_by("pk")
    )
    entries = []
    for item in items:
        truth = truths[item.pk]
        instance = item.instance
        series = instance.series if instance is not None else item.series
        assert series is not None
        frames, frame_keys = frames_of(item)
        shapes = [dict(shape) for shape in truth.shapes]
        entries.append(
            {
                "item": item.pk,
                "split": splits[item.pk],
                "labels": sorted(truth.labels),
                "shapes": shapes,
                "source": truth.source,
                "readers": truth.readers,
                "agreement": reader_agreement(project.task_type, truth, answers[item.pk]),
                "annotations": sorted(truth.annotation_ids),
                "patient": series.study.patient_id,
                "study_instance_uid": series.study.study_instance_uid,
                "series_instance_uid": series.series_instance_uid,
                "sop_instance_uid": instance.sop_instance_uid if instance is not None else "",
                "frame": item.frame,
                "frames": frames,
                "frame_keys": frame_keys,
                "modality": series.modality,
                "rows": instance.rows if instance is not None else None,
                "columns": instance.columns if instance is not None else None,
                "samples_per_pixel": (instance.samples_per_pixel or 1) if instance else 1,
            }
        )
    return entries


def training_content_hash(schema: dict[str, Any], entries: list[dict[str, Any]]) -> str:
    """The hash the learning loop gives a training snapshot of exactly these labels
    (DatasetSnapshot.hash_of): how an export finds the model versions trained on it."""
    names = [c["name"] for c in schema["classes"]]
    training = []
    for entry in entries:
        known = [name for name in entry["labels"] if name in names]
        if known:
            first = min(known, key=names.index)
            training.append(
                {
                    "item": entry["item"],
                    "annotations": entry["annotations"],
                    "label": first,
                    "source": entry["source"],
                    "split": entry["split"],
                }
            )
    return DatasetSnapshot.hash_of(training)


def freeze_snapshot(project: Project, *, user: Any = None) -> DatasetSnapshot:
    """The project's ground truth now, as a DatasetSnapshot (purpose "export"); unchanged
    labels give back the same row."""
    schema = frozen_schema(project)
    entries = build_entries(project)
    digest = hashlib.sha256(_canonical({"schema": schema, "entries": entries})).hexdigest()
    schema["training_content_hash"] = training_content_hash(schema, entries)
    try:
        with transaction.atomic():
            snapshot, created = DatasetSnapshot.objects.get_or_create(
                project=project,
                content_hash=digest,
                defaults={"entries": entries, "purpose": "export", "created_by": user},
            )
            if created:
                SnapshotSchema.objects.create(snapshot=snapshot, schema=schema)
    except IntegrityError:  # the same snapshot frozen concurrently
        snapshot = DatasetSnapshot.objects.get(project=project, content_hash=digest)
    return snapshot


def schema_of(snapshot: DatasetSnapshot) -> dict[str, Any]:
    try:
        schema = dict(snapshot.export_schema.schema)  # type: ignore[attr-defined]
    except SnapshotSchema.DoesNotExist:
        # A snapshot the learning loop froze: its schema is the project's current one.
        schema = frozen_schema(snapshot.project)
    schema["snapshot_hash"] = snapshot.content_hash
    return schema


def model_versions_trained_on(snapshot: DatasetSnapshot) -> list[ModelVersion]:
    """Model versions whose training snapshot is this one or holds exactly its labels."""
    training_hash = schema_of(snapshot).get("training_content_hash", "")
    return list(
        ModelVersion.objects.filter(
            Q(snapshot=snapshot)
            | Q(snapshot__project=snapshot.project, snapshot__content_hash=training_hash)
        )
        .distinct()
        .order_by("number")
    )
