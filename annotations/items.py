"""The one place Items are created and patients keyed (docs/decisions/0910).

Every path that puts images into a project comes here: ingest (upload, STOW-RS, import_dicom,
datasets, the demo), upstream indexing and the attach API. So every Item gets

- its project's cold-start priority: a pseudo-random number from the project's seed and the
  item's identity, reproducible and unrelated to ingest order, so a fresh project serves items
  across patients from the first label (the learning loop overwrites priorities once it scores);
- one patient key, `patient_key(patient)`, which the patient-level split groups by. Two rules for
  one patient would give it two keys and could put its images in two splits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from annotations.models import Item, Project, WorkUnit
from studies.models import Instance, Patient


def cold_start_priority(seed: int, *identity: object) -> float:
    """A stable number in [0, 1) from the project seed and the item identity."""
    digest = hashlib.sha256(":".join(map(str, (seed, *identity))).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def patient_key(patient: Patient) -> str:
    """The key the patient-level split groups by: the DICOM Patient ID, or, for objects without
    one (ingest gives those a Patient per study), the Patient row.

    The issuer is left out on purpose: two patients who share an ID under different issuers then
    share a split, which leaks nothing, while one patient recorded with and without an issuer
    would otherwise get two keys and possibly two splits."""
    return patient.patient_id or f"patient-{patient.pk}"


def patient_key_of_item(item: Item) -> str:
    """The item's stored key, or the rule above for an item created before keys were unified."""
    if item.patient_key:
        return item.patient_key
    series = item.instance.series if item.instance is not None else item.series
    if series is not None:
        return patient_key(series.study.patient)
    return f"item-{item.pk}"  # no image behind it: the item is its own patient


def _new_item(project: Project, instance: Instance, frame: int, *, whole_series: bool) -> Item:
    identity = ("series", instance.series_id) if whole_series else (instance.pk, frame)
    return Item(
        project=project,
        instance=None if whole_series else instance,
        series_id=instance.series_id,
        frame=frame,
        patient_key=patient_key(instance.series.study.patient),
        priority=cold_start_priority(project.queue_seed, *identity),
    )


# Objects that are not images to label: DICOM Segmentation (Radloop stores the doctors' masks
# as SEG instances in their study, annotations.seg_store; a SEG from another tool is a label,
# not an image, too). Rows are not asked: upstream-indexed instances may not know theirs yet.
NOT_LABELLED_SOP_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.66.4"})


def is_labellable(instance: Instance) -> bool:
    return instance.sop_class_uid not in NOT_LABELLED_SOP_CLASSES


def create_items(project: Project, instances: Iterable[Instance]) -> int:
    """Create the project's missing Items for these instances: one per instance, per frame or
    per series (Project.unit). Idempotent; returns how many are new. Segmentations and other
    non-image objects get none (is_labellable).

    Callers pass instances with `series__study__patient` at hand (select_related, or just
    indexed). Runs inside the caller's transaction when there is one (ingest's)."""
    instances = [instance for instance in instances if is_labellable(instance)]
    if not instances:
        return 0
    wanted: list[Item] = []
    if project.unit == WorkUnit.SERIES:
        seen: set[int] = set()
        for instance in instances:
            if instance.series_id not in seen:
                seen.add(instance.series_id)
                wanted.append(_new_item(project, instance, 1, whole_series=True))
        existing = set(
            Item.objects.filter(project=project, instance=None, series_id__in=seen).values_list(
                "series_id", flat=True
            )
        )
        new = [item for item in wanted if item.series_id not in existing]
    else:
        for instance in instances:
            count = (instance.number_of_frames or 1) if project.unit == WorkUnit.FRAME else 1
            for frame in range(1, count + 1):
                wanted.append(_new_item(project, instance, frame, whole_series=False))
        have = Item.objects.filter(project=project, instance__in=[i.pk for i in instances])
        existing_frames = set(have.values_list("instance_id", "frame"))
        new = [item for item in wanted if (item.instance_id, item.frame) not in existing_frames]
    # ignore_conflicts: a concurrent attach of the same instances is harmless, not an error.
    Item.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    if new:
        # The pool grew: the learning loop may pretrain its encoder on it (learning.triggers),
        # once the items are committed so the worker can read them.
        from learning.triggers import on_pool_grown

        project_id = project.pk
        transaction.on_commit(lambda: on_pool_grown(project_id))
    return len(new)


def projects_holding(study_pk: int) -> set[int]:
    """The projects with an Item on this study."""
    return set(
        Item.objects.filter(Q(instance__series__study_id=study_pk) | Q(series__study_id=study_pk))
        .values_list("project_id", flat=True)
        .distinct()
    )
