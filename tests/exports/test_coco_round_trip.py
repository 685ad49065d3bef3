"""COCO files read back with pycocotools equal the database's boxes, polygons, masks, points."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from annotations.exports.geometry import decode_row_major_rle
from annotations.ground_truth import ground_truth_for
from annotations.models import Item
from tests.cast import make_project
from tests.exports import factories as f


@pytest.fixture
def detection_project(db, shared_data):  # type: ignore[no-untyped-def]
    project = make_project(
        name="Nodules", task_type="detection", classes=["nodule", "landmark"], deidentify=False
    )
    ct = sorted((shared_data / "dicom/ct_head_phantom_philips_ingenuity").glob("*.dcm"))[:2]
    f.ingest_files(project, ct)
    for index, item in enumerate(f.items_of(project)):
        f.imported(item, "box", {"label": "nodule", "points": [[10 + index, 20], [60.5, 90]]})
        f.imported(item, "box", {"label": "nodule", "points": [[200, 210], [230, 250]]})
        f.imported(item, "point", {"label": "landmark", "points": [[255.5, 256]]})
    return project


def load(root, split):  # type: ignore[no-untyped-def]
    return COCO(str(root / "coco" / "annotations" / f"{split}.json"))


def test_masks_and_polygons_decode_with_pycocotools_to_the_database_shapes(
    segmentation_project, export
) -> None:
    root = export(segmentation_project, ["coco"])
    truth = ground_truth_for(segmentation_project)
    seen = 0
    for split in ("train", "val", "test"):
        coco = load(root, split)
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["brain", "lesion"]
        for image in coco.loadImgs(coco.getImgIds()):
            shapes = truth[image["item"]].shapes
            with Image.open(root / "coco" / image["file_name"]) as png:
                assert png.size == (image["width"], image["height"])
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
            assert len(anns) == len(shapes)
            for ann, shape in zip(anns, shapes, strict=True):
                category = coco.loadCats([ann["category_id"]])[0]["name"]
                assert category == shape["label"]
                if shape["kind"] == "mask":
                    expected = decode_row_major_rle(shape["size"], shape["counts"])
                    assert np.array_equal(coco.annToMask(ann), expected)
                else:
                    flat = [float(v) for point in shape["points"] for v in point]
                    assert ann["segmentation"] == [flat]
                seen += 1
    assert seen == 10


def test_boxes_and_points_keep_their_coordinates(detection_project, export) -> None:
    root = export(detection_project, ["coco"])
    truth = ground_truth_for(detection_project)
    split = Item.objects.filter(project=detection_project).first().split
    coco = load(root, split)
    boxes = points = 0
    for image in coco.loadImgs(coco.getImgIds()):
        for ann, shape in zip(
            coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]])),
            truth[image["item"]].shapes,
            strict=True,
        ):
            (x0, y0), (x1, y1) = shape["points"][0], shape["points"][-1]
            if shape["kind"] == "box":
                assert ann["bbox"] == [min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)]
                boxes += 1
            else:
                assert ann["keypoints"] == [x0, y0, 2] and ann["num_keypoints"] == 1
                points += 1
    assert (boxes, points) == (4, 2)
