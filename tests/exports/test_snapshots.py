"""Freezing ground truth: immutable, hashed, split by patient with the locked split respected."""

from __future__ import annotations

from collections import defaultdict

from annotations.exports.snapshots import freeze_snapshot, model_versions_trained_on
from annotations.ground_truth import ground_truth_for
from annotations.models import Annotation, Item
from learning.models import DatasetSnapshot, ModelVersion
from tests.exports import factories as f


def test_freezing_unchanged_labels_twice_returns_the_same_snapshot(classification_project) -> None:
    first = freeze_snapshot(classification_project)
    second = freeze_snapshot(classification_project)
    assert first.pk == second.pk
    assert first.purpose == "export"
    assert DatasetSnapshot.objects.filter(project=classification_project).count() == 1


def test_a_changed_label_gives_a_new_snapshot_and_the_old_one_is_unchanged(
    classification_project,
) -> None:
    before = freeze_snapshot(classification_project)
    old_entries = list(before.entries)
    item = f.items_of(classification_project)[0]
    Annotation.objects.filter(item=item).update(is_current=False)
    f.imported(item, "class", {"labels": ["normal", "pneumonia"]})
    after = freeze_snapshot(classification_project)
    assert after.pk != before.pk and after.content_hash != before.content_hash
    before.refresh_from_db()
    assert before.entries == old_entries


def test_entries_hold_the_ground_truth_sorted_by_item(classification_project) -> None:
    snapshot = freeze_snapshot(classification_project)
    truth = ground_truth_for(classification_project)
    assert [e["item"] for e in snapshot.entries] == sorted(truth)
    for entry in snapshot.entries:
        assert entry["labels"] == sorted(truth[entry["item"]].labels)
        assert entry["annotations"] == sorted(truth[entry["item"]].annotation_ids)
        assert entry["source"] == "imported"


def test_splits_are_by_patient_and_written_to_the_items(classification_project) -> None:
    snapshot = freeze_snapshot(classification_project)
    by_patient = defaultdict(set)
    for entry in snapshot.entries:
        by_patient[entry["patient"]].add(entry["split"])
    assert all(len(splits) == 1 for splits in by_patient.values())
    stored = dict(Item.objects.filter(project=classification_project).values_list("pk", "split"))
    assert {e["item"]: e["split"] for e in snapshot.entries} == stored


def test_an_assigned_test_split_never_moves(classification_project) -> None:
    items = f.items_of(classification_project)
    locked = [items[0].pk, items[1].pk]  # both images of the first patient
    Item.objects.filter(pk__in=locked).update(split="test")
    Item.objects.filter(pk=items[2].pk).update(split="val")
    snapshot = freeze_snapshot(classification_project)
    splits = {e["item"]: e["split"] for e in snapshot.entries}
    assert splits[locked[0]] == splits[locked[1]] == "test"
    assert splits[items[2].pk] == splits[items[3].pk] == "val"  # the patient's second image joins


def test_readers_and_agreement_come_from_the_doctors_who_read_the_item(
    classification_project, make_user
) -> None:
    classification_project.readers_per_item = 3
    classification_project.save()
    item = f.items_of(classification_project)[0]
    Annotation.objects.filter(item=item).delete()  # no imported label: readers decide
    for name, label in (("ann", "normal"), ("bob", "normal"), ("cat", "pneumonia")):
        f.reader_answer(item, make_user(name), "class", {"labels": [label]})
    snapshot = freeze_snapshot(classification_project)
    entry = next(e for e in snapshot.entries if e["item"] == item.pk)
    assert entry["labels"] == ["normal"] and entry["source"] == "consensus"
    assert entry["readers"] == 3
    assert abs(entry["agreement"] - 2 / 3) < 1e-6


def test_model_versions_trained_on_exactly_these_labels_are_linked(classification_project) -> None:
    from ml_worker.jobs.snapshot import build_training_set

    export_snapshot = freeze_snapshot(classification_project)
    training = build_training_set(classification_project)
    version = ModelVersion.objects.create(
        project=classification_project,
        number=1,
        architecture="small_cnn",
        snapshot=training.snapshot,
    )
    assert model_versions_trained_on(export_snapshot) == [version]
    f.imported(f.items_of(classification_project)[0], "class", {"labels": ["pneumonia"]})
    Annotation.objects.filter(item=f.items_of(classification_project)[0]).exclude(
        pk=Annotation.objects.filter(item=f.items_of(classification_project)[0]).latest("pk").pk
    ).update(is_current=False)
    assert model_versions_trained_on(freeze_snapshot(classification_project)) == []
