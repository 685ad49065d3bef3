"""Lock items into the patient-level split: what both a training run and an export freeze.

Splits are by patient and locked: items already assigned keep their split (the conditional
UPDATE only fills empty ones), new items of a known patient join that patient's split, and only
new patients are distributed (learning.splits, pure). The patient is annotations.items'
patient key, the same one every Item was created with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from annotations.items import patient_key_of_item
from annotations.models import Item, Project
from learning.splits import SplitFractions, assign_splits


def lock_splits(
    project: Project, item_ids: list[int], labels: Mapping[int, Hashable] | None = None
) -> dict[int, str]:
    """Give every listed item a split (writing Item.split) without moving assigned ones.

    `labels` (item id -> label), where known, stratifies the new patients so that every label
    reaches the test split (learning.splits).
    """
    # The listed items plus every assigned item of the project, so a known patient keeps its split.
    items = list(
        Item.objects.filter(project=project)
        .filter(Q(pk__in=item_ids) | ~Q(split=""))
        .select_related("instance__series__study__patient", "series__study__patient")
    )
    existing = {item.pk: item.split for item in items if item.split}
    fractions = SplitFractions(**settings.LEARNING_SPLIT_FRACTIONS)
    splits = assign_splits(
        {item.pk: patient_key_of_item(item) for item in items},
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
