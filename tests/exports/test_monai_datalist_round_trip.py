"""The MONAI datalist loads with monai.data.load_decathlon_datalist and equals the database."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
from monai.data import load_decathlon_datalist

from annotations.ground_truth import ground_truth_for
from annotations.models import Item

KEYS = {"train": "training", "val": "validation", "test": "test"}


def test_classification_records_carry_the_class_index_of_the_ground_truth(
    classification_project, export
) -> None:
    root = export(classification_project, ["monai"]) / "monai"
    truth = ground_truth_for(classification_project)
    splits = dict(Item.objects.filter(project=classification_project).values_list("pk", "split"))
    seen = {}
    present = json.loads((root / "datalist.json").read_text())
    for split, key in KEYS.items():
        if key not in present:
            assert split not in splits.values()
            continue
        for record in load_decathlon_datalist(root / "datalist.json", False, key):
            assert Path(record["image"]).is_file()
            assert splits[record["item"]] == split
            seen[record["item"]] = record["label"]
    assert seen == {pk: ["normal", "pneumonia"].index(t.labels[0]) for pk, t in truth.items()}


def test_segmentation_records_pair_images_with_label_maps(segmentation_project, export) -> None:
    root = export(segmentation_project, ["monai"]) / "monai"
    present = json.loads((root / "datalist.json").read_text())
    records = [
        r for key in present for r in load_decathlon_datalist(root / "datalist.json", True, key)
    ]
    assert sorted(r["item"] for r in records) == sorted(ground_truth_for(segmentation_project))
    for record in records:
        image, label = nib.load(record["image"]), nib.load(record["label"])
        assert image.shape == label.shape
        assert set(np.unique(np.asarray(label.dataobj))) == {0, 1, 2}
