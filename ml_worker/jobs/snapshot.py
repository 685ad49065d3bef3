"""Freeze what a run trains on: labelled items, their annotation versions, label and split.

One builder per task type (the registry in ml_worker.task_types says what a target is):
- classification: the ground truth's first known class; a multi-label project's items keep all
  their labels as a multi-hot target, "no finding" as all-negative;
- segmentation: the ground truth's polygons and masks rasterized by the task's `targets` in the
  image's own pixels (per item frame) into a label map; an item whose doctor answered "no
  findings" is a negative (an all-background map), kept. The entry's "label" is the first class
  present, or "" for a negative; splits are stratified on it so negatives reach every split.
- detection: the same walk, the task's `targets` turning boxes (and points, as small boxes) into
  a BoxTarget in the image's own pixels; "no findings" is a negative with no boxes.

Splits are by patient and locked (annotations.splits.lock_splits, shared with exports). The
snapshot's entries name the exact
annotation rows (versions) behind each label, and their sha256 is the snapshot's identity: two
runs on the same labels share one DatasetSnapshot row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction

from annotations.ground_truth import ground_truth_for
from annotations.items import patient_key_of_item
from annotations.models import Item, LabelClass, Project
from annotations.splits import lock_splits
from learning.models import DatasetSnapshot
from learning.splits import TEST, TRAIN, VAL
from ml_worker.multilabel import multi_hot
from ml_worker.segmentation.rasterize import Shape
from ml_worker.task_types import TaskType, task_type


class NotTrainable(ValueError):
    """The project's labels cannot train a model yet; the message says why, for the admin."""


@dataclass
class TrainingSet:
    snapshot: DatasetSnapshot
    class_names: list[str]
    item_ids: dict[str, list[int]] = field(default_factory=dict)  # split -> item ids
    labels: dict[str, list[int]] = field(default_factory=dict)  # split -> class indices
    # Multi-label classification: split -> multi-hot targets (ml_worker.multilabel).
    multi_label: bool = False
    targets: dict[str, list[list[float]]] = field(default_factory=dict)
    # Segmentation: split -> (rows, cols) uint8 label maps in each image's own pixels.
    masks: dict[str, list[np.ndarray]] = field(default_factory=dict)
    # Detection: split -> each item's boxes (ml_worker.detection.boxes.BoxTarget), native pixels.
    boxes: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(len(ids) for ids in self.item_ids.values())


def class_names_of(project: Project) -> list[str]:
    return list(
        LabelClass.objects.filter(project=project).order_by("index").values_list("name", flat=True)
    )


def task_of(project: Project) -> TaskType:
    try:
        return task_type(project.task_type)
    except ValueError as exc:
        raise NotTrainable(str(exc)) from None


def build_training_set(project: Project) -> TrainingSet:
    """The current ground truth of the project as a locked, hashed snapshot."""
    task = task_of(project)
    return _BUILDERS[task.name](project, task)


def _classification_set(project: Project, task: TaskType) -> TrainingSet:
    if project.multi_label:
        return _multi_label_set(project)
    class_names = class_names_of(project)
    if len(class_names) < 2:
        raise NotTrainable("the project needs at least two label classes to train a classifier")
    index_of = {name: i for i, name in enumerate(class_names)}
    truths = ground_truth_for(project)
    labelled: dict[int, tuple[int, Any]] = {}
    for item_id, truth in truths.items():
        known = [name for name in truth.labels if name in index_of]
        if known:
            # Single-label training: the first class of the ground truth (multi-label projects
            # train on their first label; see docs/learning.md).
            labelled[item_id] = (index_of[known[0]], truth)
    splits = lock_splits(
        project, sorted(labelled), {item: label for item, (label, _) in labelled.items()}
    )
    entries = [
        {
            "item": item_id,
            "annotations": sorted(labelled[item_id][1].annotation_ids),
            "label": class_names[labelled[item_id][0]],
            "source": labelled[item_id][1].source,
            "split": splits[item_id],
        }
        for item_id in sorted(labelled)
    ]
    train_classes = {e["label"] for e in entries if e["split"] == TRAIN}
    if len(train_classes) < 2:
        raise NotTrainable(
            f"the training split has labels of {len(train_classes)} class(es); at least two "
            f"classes must be labelled before a model can learn ({len(entries)} labelled items)"
        )
    snapshot = _store_snapshot(project, entries)
    result = TrainingSet(snapshot=snapshot, class_names=class_names)
    for split in (TRAIN, VAL, TEST):
        chosen = [e for e in entries if e["split"] == split]
        result.item_ids[split] = [e["item"] for e in chosen]
        result.labels[split] = [index_of[e["label"]] for e in chosen]
    return result


def _multi_label_set(project: Project) -> TrainingSet:
    """Every answered item, its labels as a multi-hot target: "no finding" ({"labels": []}) is a
    negative for every label and is kept. An answer naming only deleted classes is skipped.
    Splits are stratified on the first label ("" for no finding), so negatives reach every split.
    """
    class_names = class_names_of(project)
    if len(class_names) < 2:
        raise NotTrainable("a multi-label project needs at least two label classes to train")
    known = set(class_names)
    truths = {
        item_id: truth
        for item_id, truth in ground_truth_for(project).items()
        if not truth.labels or known.intersection(truth.labels)
    }
    first = {
        item_id: next((n for n in class_names if n in truth.labels), "")
        for item_id, truth in truths.items()
    }
    splits = lock_splits(project, sorted(truths), first)
    entries: list[dict[str, Any]] = [
        {
            "item": item_id,
            "annotations": sorted(truths[item_id].annotation_ids),
            "label": first[item_id],
            "labels": [n for n in class_names if n in truths[item_id].labels],
            "source": truths[item_id].source,
            "split": splits[item_id],
        }
        for item_id in sorted(truths)
    ]
    train = [e for e in entries if e["split"] == TRAIN]
    positives = [sum(name in e["labels"] for e in train) for name in class_names]
    if not any(0 < count < len(train) for count in positives):
        raise NotTrainable(
            "no label has both positive and negative items in the training split yet; a "
            f"multi-label model cannot learn ({len(entries)} labelled items)"
        )
    snapshot = _store_snapshot(project, entries)
    result = TrainingSet(snapshot=snapshot, class_names=class_names, multi_label=True)
    for split in (TRAIN, VAL, TEST):
        chosen = [e for e in entries if e["split"] == split]
        result.item_ids[split] = [e["item"] for e in chosen]
        result.targets[split] = [multi_hot(e["labels"], class_names) for e in chosen]
    return result


def _geometry_set(project: Project, task: TaskType) -> TrainingSet:
    """Segmentation and detection: each answered item's target in its own pixels."""
    class_names = class_names_of(project)
    if not class_names:
        raise NotTrainable(f"the project needs at least one label class to train {task.name}")
    truths = ground_truth_for(project)
    items = {
        item.pk: item
        for item in Item.objects.filter(pk__in=list(truths), instance__isnull=False).select_related(
            "instance"
        )
    }
    masks: dict[int, Any] = {}
    for item_id in sorted(items):
        item, truth = items[item_id], truths[item_id]
        assert item.instance is not None
        rows, cols = item.instance.rows, item.instance.columns
        if not rows or not cols:  # no pixel geometry indexed: nothing to rasterize onto
            continue
        # The doctor answered this item: a frame without any region is "no findings".
        shapes = [Shape("class", {"labels": []}, item.frame)] + [
            Shape(str(s["kind"]), s, int(s.get("frame") or 1))
            for s in truth.shapes
            if s.get("kind") in task.kinds
        ]
        try:
            target = task.targets(shapes, class_names, rows, cols, item.frame)
        except (ValueError, KeyError) as exc:  # a mask of another size, a deleted class
            raise NotTrainable(
                f"item {item_id}: its annotation cannot be rasterized: {exc}"
            ) from exc
        if isinstance(target, np.ndarray):
            masks[item_id] = np.asarray(target, dtype=np.uint8)
        elif target is not None:
            masks[item_id] = target
    first_class = {item_id: _first_class(mask, class_names) for item_id, mask in masks.items()}
    splits = lock_splits(project, sorted(masks), first_class)
    entries: list[dict[str, Any]] = [
        {
            "item": item_id,
            "annotations": sorted(truths[item_id].annotation_ids),
            "label": first_class[item_id],
            "source": truths[item_id].source,
            "split": splits[item_id],
        }
        for item_id in sorted(masks)
    ]
    train_positive = sum(1 for e in entries if e["split"] == TRAIN and e["label"])
    if train_positive == 0:
        raise NotTrainable(
            f"the training split has no {_FINDING[task.name]} yet ({len(entries)} answered "
            f"items); {_ASK[task.name]} at least one lesion before a model can learn"
        )
    snapshot = _store_snapshot(project, entries)
    result = TrainingSet(snapshot=snapshot, class_names=class_names)
    for split in (TRAIN, VAL, TEST):
        chosen: list[int] = [int(e["item"]) for e in entries if e["split"] == split]
        result.item_ids[split] = chosen
        result.labels[split] = [
            class_names.index(first_class[i]) + 1 if first_class[i] else 0 for i in chosen
        ]
        targets = result.masks if task.name == "segmentation" else result.boxes
        targets[split] = [masks[i] for i in chosen]
    return result


_FINDING = {"segmentation": "outlined region", "detection": "boxed finding"}
_ASK = {"segmentation": "outline", "detection": "box"}


def _first_class(target: Any, class_names: list[str]) -> str:
    """The first class (schema order) present in a label map or a BoxTarget; "" for none."""
    if isinstance(target, np.ndarray):
        present = np.unique(target)
        present = present[present > 0]
        return class_names[int(present[0]) - 1] if len(present) else ""
    labels = np.asarray(target.labels)
    return class_names[int(labels.min())] if len(labels) else ""


_BUILDERS = {
    "classification": _classification_set,
    "segmentation": _geometry_set,
    "detection": _geometry_set,
}


def _store_snapshot(project: Project, entries: list[dict[str, Any]]) -> DatasetSnapshot:
    digest = DatasetSnapshot.hash_of(entries)
    try:
        with transaction.atomic():
            snapshot, _ = DatasetSnapshot.objects.get_or_create(
                project=project,
                content_hash=digest,
                defaults={"entries": entries, "purpose": "training"},
            )
    except IntegrityError:  # the same snapshot stored by a concurrent run
        snapshot = DatasetSnapshot.objects.get(project=project, content_hash=digest)
    return snapshot


def unlabelled_pool_ids(project: Project, data: TrainingSet, limit: int, seed: int) -> list[int]:
    """Pool items a semi-supervised run may learn from without labels (decision 0420): not
    completed, not in the run's training set, never an item of the locked validation or test
    split nor of a patient with any item there (a test patient's unlabelled image would leak
    into training), single images only; at most `limit`, a seeded subset when there are more."""
    related = ("instance__series__study__patient", "series__study__patient")
    held_out = Item.objects.filter(project=project, split__in=[VAL, TEST]).select_related(*related)
    held_patients = {patient_key_of_item(item) for item in held_out}
    in_snapshot = {i for ids in data.item_ids.values() for i in ids}
    candidates = (
        Item.objects.filter(project=project, completed=False, instance__isnull=False)
        .exclude(split__in=[VAL, TEST])
        .select_related(*related)
        .order_by("pk")
    )
    ids = [
        item.pk
        for item in candidates
        if item.pk not in in_snapshot and patient_key_of_item(item) not in held_patients
    ]
    if len(ids) > limit:
        chosen = np.random.default_rng(seed).choice(len(ids), size=limit, replace=False)
        ids = [ids[i] for i in sorted(chosen)]
    return ids
