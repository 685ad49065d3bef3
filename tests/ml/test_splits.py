"""Splits are by patient and append-only: the locked test split never moves."""

from __future__ import annotations

from collections import Counter

import pytest

from learning.splits import TEST, SplitFractions, assign_splits


def hospital(patients: int, images_per_patient: int, start: int = 0) -> dict[int, str]:
    return {
        start + p * images_per_patient + i: f"patient-{p}"
        for p in range(patients)
        for i in range(images_per_patient)
    }


def test_no_patient_has_items_in_two_splits() -> None:
    items = hospital(60, 3)
    splits = assign_splits(items, seed=3)
    by_patient: dict[str, set[str]] = {}
    for item, patient in items.items():
        by_patient.setdefault(patient, set()).add(splits[item])
    assert all(len(s) == 1 for s in by_patient.values())


def test_split_shares_approach_the_target_fractions() -> None:
    splits = assign_splits(hospital(200, 2), fractions=SplitFractions(0.7, 0.15, 0.15))
    shares = Counter(splits.values())
    assert shares == {"train": 280, "val": 60, "test": 60}


def test_the_test_split_never_moves_when_new_items_arrive() -> None:
    first = assign_splits(hospital(40, 2), seed=1)
    # New images of known patients, and many new patients with a skewed size.
    arrivals = {**hospital(40, 2), 1000: "patient-3", 1001: "patient-17"}
    arrivals.update({2000 + i: f"late-{i}" for i in range(100)})
    second = assign_splits(arrivals, existing=first, seed=1)
    assert {k: v for k, v in second.items() if k in first} == first
    assert second[1000] == first[6] and second[1001] == first[34]  # patient-3, patient-17
    locked_test = {k for k, v in first.items() if v == TEST}
    assert locked_test <= {k for k, v in second.items() if v == TEST}


def test_assignment_is_seeded_and_independent_of_input_order() -> None:
    items = hospital(30, 1)
    reversed_items = dict(reversed(list(items.items())))
    assert assign_splits(items, seed=5) == assign_splits(reversed_items, seed=5)
    assert assign_splits(items, seed=5) != assign_splits(items, seed=6)


def test_bad_fractions_and_unknown_existing_splits_are_rejected() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        SplitFractions(0.8, 0.3, 0.1)
    with pytest.raises(ValueError, match="unknown split"):
        assign_splits({1: "p"}, existing={1: "holdout"})


def small_project() -> tuple[dict[int, str], dict[int, str]]:
    """30 labelled images of 15 patients (2 each), a third of them with pneumonia."""
    items = hospital(15, 2)
    labels = {
        item: "pneumonia" if int(p.split("-")[1]) % 3 == 0 else "normal"
        for item, p in items.items()
    }
    return items, labels


def test_label_strata_put_every_class_into_a_small_test_split() -> None:
    items, labels = small_project()
    blind_single_class = 0
    for seed in range(200):
        stratified = assign_splits(items, seed=seed, strata=labels)
        test_labels = {labels[i] for i, s in stratified.items() if s == TEST}
        assert test_labels == {"normal", "pneumonia"}, seed
        by_patient: dict[str, set[str]] = {}
        for item, patient in items.items():
            by_patient.setdefault(patient, set()).add(stratified[item])
        assert all(len(s) == 1 for s in by_patient.values())
        blind = assign_splits(items, seed=seed)
        blind_single_class += len({labels[i] for i, s in blind.items() if s == TEST}) < 2
    # Without strata the same data often leaves the test split with one class (AUC undefined).
    assert blind_single_class > 0


def test_strata_balance_each_label_towards_the_target_fractions() -> None:
    items = hospital(300, 1)
    labels = {item: "rare" if item % 10 == 0 else "common" for item in items}
    splits = assign_splits(items, seed=2, strata=labels)
    rare = Counter(s for i, s in splits.items() if labels[i] == "rare")
    common = Counter(s for i, s in splits.items() if labels[i] == "common")
    assert rare == {"train": 21, "val": 4, "test": 5} or rare == {"train": 21, "val": 5, "test": 4}
    assert abs(common["test"] - 0.15 * 270) <= 1 and abs(common["val"] - 0.15 * 270) <= 1


def test_strata_never_move_an_assigned_item() -> None:
    items, labels = small_project()
    first = assign_splits(dict(list(items.items())[:10]), seed=4, strata=labels)
    second = assign_splits(items, existing=first, seed=4, strata=labels)
    assert {k: second[k] for k in first} == first
