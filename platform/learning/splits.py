"""Patient-level split assignment that never moves an item once assigned.

A patient's items all share one split (train, val or test), so no patient's images leak between
training and evaluation. Assignments are append-only: when new items arrive, items already
assigned keep their split, new items of a known patient join that patient's split, and only new
patients are distributed, greedily towards the target fractions (counted in items). The locked
test split therefore stays comparable across model versions.

When the items' labels are known at assignment time (`strata`), new patients are balanced per
label: each goes to the split furthest below its target share *of that label*. A small project
(30 labelled images, a handful of test patients) then still gets both classes into its test
split, where a label-blind greedy split can leave it with one class and an undefined AUC.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

TRAIN, VAL, TEST = "train", "val", "test"
SPLITS = (TRAIN, VAL, TEST)


@dataclass(frozen=True)
class SplitFractions:
    """Target shares of items per split; they must sum to 1."""

    train: float = 0.7
    val: float = 0.15
    test: float = 0.15

    def __post_init__(self) -> None:
        values = (self.train, self.val, self.test)
        if any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
            raise ValueError(f"split fractions must be >= 0 and sum to 1, got {values}")

    def as_dict(self) -> dict[str, float]:
        return {TRAIN: self.train, VAL: self.val, TEST: self.test}


def _rank(seed: int, patient: Hashable) -> str:
    """A seeded, order-independent position for a patient (results don't depend on dict order)."""
    return hashlib.sha256(f"{seed}:{patient!r}".encode()).hexdigest()


def assign_splits(
    item_patients: Mapping[int, Hashable],
    existing: Mapping[int, str] | None = None,
    fractions: SplitFractions | None = None,
    seed: int = 0,
    strata: Mapping[int, Hashable] | None = None,
) -> dict[int, str]:
    """Return a split for every item in `item_patients` (item id -> patient id).

    `existing` (item id -> split) is honoured exactly: those items never move. A new item of a
    patient who already has assigned items joins that patient's split (the most common one, should
    earlier data already be inconsistent). New patients, in a seeded hash order, each go to the
    split furthest below its target share of items, so shares converge as data grows. With
    `strata` (item id -> label), the shares are counted per label: a new patient is placed by the
    label most of its new items carry, so every label approaches the target fractions.
    """
    fractions = fractions or SplitFractions()
    existing = dict(existing or {})
    for item, split in existing.items():
        if split not in SPLITS:
            raise ValueError(f"item {item} has unknown split {split!r}")
    strata = dict(strata or {})
    result: dict[int, str] = {}
    patient_splits: dict[Hashable, Counter[str]] = {}
    counts: dict[Hashable, Counter[str]] = {}  # stratum -> split -> items

    def count(item: int, split: str) -> None:
        counts.setdefault(strata.get(item), Counter())[split] += 1

    for item, split in existing.items():
        result[item] = split
        count(item, split)
        if item in item_patients:
            patient_splits.setdefault(item_patients[item], Counter())[split] += 1

    new_by_patient: dict[Hashable, list[int]] = {}
    for item, patient in item_patients.items():
        if item in result:
            continue
        if patient in patient_splits:
            split = patient_splits[patient].most_common(1)[0][0]
            result[item] = split
            count(item, split)
        else:
            new_by_patient.setdefault(patient, []).append(item)

    targets = fractions.as_dict()
    totals: Counter[Hashable] = Counter({stratum: sum(c.values()) for stratum, c in counts.items()})
    for items in new_by_patient.values():
        totals.update(strata.get(item) for item in items)
    for patient in sorted(new_by_patient, key=lambda p: _rank(seed, p)):
        items = new_by_patient[patient]
        stratum = Counter(strata.get(item) for item in items).most_common(1)[0][0]
        held = counts.setdefault(stratum, Counter())
        # The split furthest below its target number of items of this stratum.
        split = max(
            (s for s in SPLITS if targets[s] > 0),
            key=lambda s: (targets[s] * totals[stratum] - held[s], targets[s]),
        )
        for item in items:
            result[item] = split
            count(item, split)
    return result
