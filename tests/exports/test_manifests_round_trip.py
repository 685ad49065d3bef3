"""CSV and JSON manifests read back with csv/json equal the database's ground truth."""

from __future__ import annotations

import csv
import json

from annotations.ground_truth import ground_truth_for
from annotations.models import Item
from studies.models import Instance


def test_the_csv_has_one_row_per_labelled_item_with_its_labels_split_and_readers(
    classification_project, export
) -> None:
    root = export(classification_project, ["csv"])
    with (root / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    truth = ground_truth_for(classification_project)
    splits = dict(Item.objects.filter(project=classification_project).values_list("pk", "split"))
    assert sorted(int(r["item"]) for r in rows) == sorted(truth)
    for row in rows:
        item = int(row["item"])
        assert row["labels"].split("|") == sorted(truth[item].labels)
        assert row["split"] == splits[item]
        assert int(row["readers"]) == truth[item].readers
        assert row["truth_source"] == "imported"


def test_the_json_manifest_carries_shapes_and_de_identified_ids(
    segmentation_project, export
) -> None:
    root = export(segmentation_project, ["json"])
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["classes"] == ["brain", "lesion"]
    truth = ground_truth_for(segmentation_project)
    stored_uids = set(Instance.objects.values_list("sop_instance_uid", flat=True))
    for row in manifest["items"]:
        expected = truth[row["item"]]
        assert [s["kind"] for s in row["shapes"]] == [s["kind"] for s in expected.shapes]
        assert row["shapes"] == [dict(s) for s in expected.shapes]
        assert row["patient"].startswith("RL-")
        assert row["sop_instance_uid"] not in stored_uids
        assert row["sop_instance_uid"].startswith("2.25.")


def test_without_de_identification_the_manifest_keeps_stored_ids(
    segmentation_project, export
) -> None:
    root = export(segmentation_project, ["json"], deidentify=False)
    manifest = json.loads((root / "manifest.json").read_text())
    stored_uids = set(Instance.objects.values_list("sop_instance_uid", flat=True))
    assert {row["sop_instance_uid"] for row in manifest["items"]} <= stored_uids
