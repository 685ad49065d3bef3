"""Freeze what a run trains on: labelled items, their annotation versions, label and split.

Splits are by patient and locked: items already assigned keep their split (the conditional
UPDATE only fills empty ones), new items of a known patient join that patient's split, and only
new patients are distributed (ml_worker.splits). The snapshot's entries name the exact
annotation rows (versions) behind each label, and their sha256 is the snapshot's identity: two
runs on the same labels share one DatasetSnapshot row.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from annotations.ground_truth import ground_truth_for
from annotations.models import Item, LabelClass, Project, TaskType
from learning.models import DatasetSnapshot
from ml_worker.splits import TEST, TRAIN, VAL, SplitFractions, assign_splits


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


def _patient_key(item: Item) -> str:
    if item.patient_key:
        return item.patient_key
    patient = item.instance.series.study.patient if item.instance else None
    if patient is not None and patient.patient_id:
        return f"{patient.issuer}/{patient.patient_id}"
    return f"item-{item.pk}"  # no patient identity: the item is its own patient


def lock_splits(
    project: Project, item_ids: list[int], labels: Mapping[int, Hashable] | None = None
) -> dict[int, str]:
    """Give every listed item a split (writing Item.split) without moving assigned ones.

    `labels` (item id -> label), where known, stratifies the new patients so that every label
    reaches the test split (ml_worker.splits).
    """
    # The listed items plus every assigned item of the project, so a known patient keeps its split.
    items = list(
        Item.objects.filter(project=project)
        .filter(Q(pk__in=item_ids) | ~Q(split=""))
        .select_related("instance__series__study__patient")
    )
    existing = {item.pk: item.split for item in items if item.split}
    fractions = SplitFractions(**settings.LEARNING_SPLIT_FRACTIONS)
    splits = assign_splits(
        {item.pk: _patient_key(item) for item in items},
        existing,
        fractions,
        seed=project.pk,
        strata=labels,
    )
    new_by_split: dict[str, list[int]] = defaultdict(list)
    for item_id, split in splits.items():
        if item_id not in existing:
            new_by_split[split].append(item_id)
    with transaction.atomic():
        for split, ids in new_by_split.items():
            # split="" in the filter: a concurrent run that assigned first wins; nothing moves.
            Item.objects.filter(pk__in=ids, split="").update(split=split)
    return dict(
        Item.objects.filter(pk__in=item_ids).values_list("pk", "split")  # what actually stands
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


def snapshot_hash(entries: list[dict[str, Any]]) -> str:
    canonical = json.dumps(entries, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


def _store_snapshot(project: Project, entries: list[dict[str, Any]]) -> DatasetSnapshot:
    digest = snapshot_hash(entries)
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
