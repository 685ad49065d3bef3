"""Importing a labelled detection set: boxes from the npz's instances and from COCO (a folder or
a zip, PNG and JPEG images); the round trip through the COCO export; bad boxes refused with a
reason and nothing stored (annotations.detection_sources)."""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from annotations.models import Annotation, Item
from annotations.segmentation_import import import_segmentation_path
from annotations.segmentation_sources import SegmentationSourceError
from tests.cast import make_project
from tests.exports import factories as f
from tests.exports.test_segmentation_import import small_npz


def object_boxes(instances: np.ndarray) -> list[list[list[int]]]:
    out = []
    for object_id in sorted(set(np.unique(instances).tolist()) - {0}):
        rows, cols = np.nonzero(instances == object_id)
        out.append([[int(cols.min()), int(rows.min())], [int(cols.max()) + 1, int(rows.max()) + 1]])
    return out


def test_npz_boxes_come_from_instances_with_negatives_splits_and_patients(
    db: None, tmp_path: Path
) -> None:
    arrays = small_npz(tmp_path / "set.npz")
    # Two objects of one class in one image are two instances, not one box.
    for split in ("train", "val", "test"):
        masks = arrays[f"{split}_masks"]
        instances = np.zeros(masks.shape, dtype=np.uint16)
        instances[:, 2:6, 2:7] = masks[:, 2:6, 2:7] > 0
        instances[:, 10:13, 12:18] = (masks[:, 10:13, 12:18] > 0) * 2
        instances[:, 16:22, 3:9] = (masks[:, 16:22, 3:9] > 0) * 3
        arrays[f"{split}_instances"] = instances
    np.savez(tmp_path / "set.npz", **arrays)  # type: ignore[arg-type]
    project = make_project(name="Lesions", task_type="detection", classes=[])
    result = import_segmentation_path(project, tmp_path / "set.npz")
    assert (result.images, result.negatives) == (12, 4)
    expected: Counter[tuple[Any, ...]] = Counter()
    for split in ("train", "val", "test"):
        for masks, instances in zip(
            arrays[f"{split}_masks"], arrays[f"{split}_instances"], strict=True
        ):
            for box in object_boxes(instances):
                value = int(masks[box[0][1], box[0][0]])
                expected[(["cyst", "tumour"][value - 1], json.dumps(box), split)] += 1
    stored = Counter(
        (a.payload["label"], json.dumps(a.payload["points"]), a.item.split)
        for a in Annotation.objects.filter(item__project=project, kind="box", is_current=True)
    )
    assert stored == expected and result.boxes == sum(expected.values()) == 22
    assert Annotation.objects.filter(item__project=project, kind="mask").count() == 0
    by_patient: dict[str, set[str]] = {}
    for item in f.items_of(project):
        by_patient.setdefault(item.patient_key, set()).add(item.split)
    assert len(by_patient) == 6 and all(len(s) == 1 for s in by_patient.values())


def test_an_npz_without_instances_is_refused_for_a_detection_project(
    db: None, tmp_path: Path
) -> None:
    arrays = small_npz(tmp_path / "set.npz")
    np.savez(tmp_path / "set.npz", **{k: v for k, v in arrays.items() if "instances" not in k})  # type: ignore[arg-type]
    project = make_project(task_type="detection", classes=[])
    with pytest.raises(SegmentationSourceError, match="train_images without train_instances"):
        import_segmentation_path(project, tmp_path / "set.npz")
    assert not Item.objects.filter(project=project).exists()


IMAGES = {"a.png": (40, 30), "b.jpg": (40, 30), "c.png": (40, 30)}  # name: (rows, cols)
GOOD = [
    {"id": 1, "image_id": 1, "category_id": 7, "bbox": [2, 3, 10, 5]},
    {"id": 2, "image_id": 1, "category_id": 9, "bbox": [15.5, 20, 4, 6.25]},
    {"id": 3, "image_id": 2, "category_id": 7, "bbox": [0, 0, 30, 40]},
]


def coco_folder(root: Path, annotations: list[dict[str, Any]] = GOOD) -> Path:
    """A COCO folder: instances_train.json and its images (PNG and JPEG) under images/; c.png
    has no annotation (a negative) and belongs to the same patient as a.png."""
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    records = []
    for number, (name, (rows, cols)) in enumerate(IMAGES.items(), start=1):
        pixels = rng.integers(0, 255, size=(rows, cols), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "images" / name)
        record = {"id": number, "file_name": name, "height": rows, "width": cols}
        if name != "b.jpg":
            record["patient"] = "patient-1"
        records.append(record)
    categories = [{"id": 7, "name": "mass"}, {"id": 9, "name": "calcification"}]
    (root / "annotations").mkdir()
    body = {"images": records, "annotations": annotations, "categories": categories}
    (root / "annotations" / "instances_train.json").write_text(json.dumps(body))
    return root


def boxes_by_image(coco: dict[str, Any]) -> list[list[tuple[str, list[float]]]]:
    names = {c["id"]: c["name"] for c in coco["categories"]}
    per: dict[Any, list[tuple[str, list[float]]]] = {i["id"]: [] for i in coco["images"]}
    for ann in coco["annotations"]:
        per[ann["image_id"]].append((names[ann["category_id"]], [float(v) for v in ann["bbox"]]))
    return sorted(sorted(v) for v in per.values())


def test_coco_import_then_coco_export_gives_the_same_boxes(
    db: None, tmp_path: Path, export: Any
) -> None:
    source = coco_folder(tmp_path / "coco-in")
    project = make_project(name="Masses", task_type="detection", classes=[])
    result = import_segmentation_path(project, source)
    assert (result.images, result.boxes, result.negatives) == (3, 3, 1)
    items = f.items_of(project)
    assert {item.split for item in items} == {"train"} and all(i.completed for i in items)
    assert len({item.patient_key for item in items}) == 2  # a.png and c.png: one patient
    original = json.loads((source / "annotations" / "instances_train.json").read_text())

    root = export(project, ["coco"])
    exported = json.loads((root / "coco" / "annotations" / "train.json").read_text())
    assert boxes_by_image(exported) == boxes_by_image(original)
    # The exported set imports again, unchanged, into another project.
    again = make_project(name="Masses again", task_type="detection", classes=[])
    assert import_segmentation_path(again, root / "coco").boxes == 3
    second = export(again, ["coco"])
    exported_again = json.loads((second / "coco" / "annotations" / "train.json").read_text())
    assert boxes_by_image(exported_again) == boxes_by_image(original)


BAD_BOXES = [
    ({"bbox": [2, 3, -4, 5]}, "bbox has a negative size (-4 x 5)"),
    ({"bbox": [2, 3, 4, 0]}, "bbox has a zero size (4 x 0)"),
    ({"bbox": [25, 3, 10, 5]}, "lies outside the 30x40 image"),
    ({"bbox": [-1, 3, 4, 5]}, "lies outside the 30x40 image"),
    ({"bbox": [math.nan, 3, 4, 5]}, "bbox values must be finite numbers (no NaN/inf)"),
    ({"bbox": [2, 3, math.inf, 5]}, "bbox values must be finite numbers (no NaN/inf)"),
    ({"bbox": [2, 3, 4]}, "bbox must be [x, y, width, height]"),
    ({"bbox": [2, 3, 4, 5], "category_id": 8}, "category_id 8 is not a category"),
]


@pytest.mark.parametrize(("change", "reason"), BAD_BOXES)
def test_a_bad_coco_box_is_refused_with_its_reason_and_nothing_is_stored(
    db: None, tmp_path: Path, change: dict[str, Any], reason: str
) -> None:
    bad = {"id": 4, "image_id": 2, "category_id": 7, **change}
    source = coco_folder(tmp_path / "coco", [*GOOD, bad])
    project = make_project(task_type="detection", classes=[])
    with pytest.raises(SegmentationSourceError) as caught:
        import_segmentation_path(project, source)
    assert reason in str(caught.value) and "'b.jpg', annotation 4" in str(caught.value)
    assert not Item.objects.filter(project=project).exists()
    assert not Annotation.objects.filter(item__project=project).exists()


def test_the_api_imports_a_zipped_coco_folder_and_refuses_a_bad_box(
    cast: Any, tmp_path: Path
) -> None:
    project = make_project(task_type="detection", classes=[])
    cast.on(project, "alice")
    url = f"/api/v1/projects/{project.pk}/import-segmentation"
    client = cast.client("alice")

    def zipped(root: Path) -> io.BytesIO:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.write(path, str(path.relative_to(root.parent)))
        buffer.seek(0)
        buffer.name = "coco.zip"
        return buffer

    bad = {"id": 4, "image_id": 2, "category_id": 7, "bbox": [2, 3, -4, 5]}
    response = client.post(
        url, {"file": zipped(coco_folder(tmp_path / "bad", [*GOOD, bad]))}, format="multipart"
    )
    assert response.status_code == 400
    [message] = response.json()["file"]
    assert "annotation 4: bbox has a negative size (-4 x 5)" in message
    assert not Item.objects.filter(project=project).exists()

    good = zipped(coco_folder(tmp_path / "good"))
    response = client.post(url, {"file": good}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "images": 3, "masks": 0, "boxes": 3, "negatives": 1, "items_in_project": 3,
    }  # fmt: skip
