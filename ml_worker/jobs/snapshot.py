"""Freeze what a run trains on: labelled items, their annotation versions, label and split.

Splits are by patient and locked (annotations.splits.lock_splits, shared with exports). The
snapshot's entries name the exact
annotation rows (versions) behind each label, and their sha256 is the snapshot's identity: two
runs on the same labels share one DatasetSnapshot row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from annotations.ground_truth import ground_truth_for
from annotations.models import LabelClass, Project, TaskType
from annotations.splits import lock_splits
from learning.models import DatasetSnapshot
from learning.splits import TEST, TRAIN, VAL


class NotTrainable(ValueError):
    """The project's labels cannot train a model yet; the message says why, for the admin."""


@dataclass
class TrainingSet:
    snapshot: DatasetSnapshot
    class_names: list[str]
    item_ids: dict[str, list[int]] = field(default_factory=dict)  # split -> item ids
    labels: dict[str, list[int]] = field(default_factory=dict)  # split -> class indices

    @property
    def size(self) -> int:
        return sum(len(ids) for ids in self.item_ids.values())


def class_names_of(project: Project) -> list[str]:
    return list(
        LabelClass.objects.filter(project=project).order_by("index").values_list("name", flat=True)
    )


def build_training_set(project: Project) -> TrainingSet:
    """The current ground truth of a classification project as a locked, hashed snapshot."""
    if project.task_type != TaskType.CLASSIFICATION:
        raise NotTrainable(
            f"training is implemented for classification projects; this one is {project.task_type}"
        )
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
