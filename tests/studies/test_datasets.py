"""Labelled image datasets seed a project: Secondary Capture instances, imported labels, splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from annotations.datasets import (
    DatasetError,
    import_image_folder,
    import_labelled_arrays,
    import_npz,
)
from annotations.models import Annotation, Item
from studies.frames import decode_frame
from studies.models import Instance
from studies.storage import read_dataset
from tests.cast import make_project
from tests.studies.ingest_support import (
    row_counts,
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]


def _npz(shared_data: Path) -> Path:
    return shared_data / "classification" / "pneumoniamnist" / "pneumoniamnist.npz"


def test_a_medmnist_subset_imports_with_its_labels_and_official_splits(shared_data) -> None:
    project = make_project(name="pneumonia", deidentify=True, classes=())
    npz = np.load(_npz(shared_data))

    count = import_npz(project, _npz(shared_data), class_names=["normal", "pneumonia"], limit=4)

    assert count == 12
    items = Item.objects.filter(project=project).select_related("instance")
    assert (
        sorted(items.values_list("split", flat=True)) == ["test"] * 4 + ["train"] * 4 + ["val"] * 4
    )
    for split in ("train", "val", "test"):
        images, labels = npz[f"{split}_images"][:4], npz[f"{split}_labels"][:4].ravel()
        by_pixels = {
            decode_frame(item.instance, 1).tobytes(): item for item in items.filter(split=split)
        }
        for image, label in zip(images, labels, strict=True):
            item = by_pixels[image.tobytes()]  # the stored pixels are the dataset's pixels
            (annotation,) = Annotation.objects.filter(item=item)
            assert (annotation.kind, annotation.source) == ("class", "imported")
            assert annotation.payload == {"labels": [["normal", "pneumonia"][int(label)]]}
    assert list(project.label_classes.values_list("name", "index")) == [
        ("normal", 0),
        ("pneumonia", 1),
    ]


def test_imported_images_are_valid_secondary_capture_objects(shared_data) -> None:
    project = make_project(deidentify=False, classes=())

    import_npz(project, _npz(shared_data), class_names=["normal", "pneumonia"], limit=1)

    ds = read_dataset(Instance.objects.first())
    assert ds.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert (ds.Rows, ds.Columns, ds.BitsAllocated, ds.PhotometricInterpretation) == (
        28,
        28,
        8,
        "MONOCHROME2",
    )
    assert ds.ConversionType == "WSD"
    assert Instance.objects.values("series__study").distinct().count() == 3  # a study per patient


def test_importing_the_same_dataset_again_adds_nothing(shared_data) -> None:
    project = make_project(deidentify=True, classes=())
    import_npz(project, _npz(shared_data), class_names=["normal", "pneumonia"], limit=2)
    counts, files = row_counts(), stored_files()

    import_npz(project, _npz(shared_data), class_names=["normal", "pneumonia"], limit=2)

    assert row_counts() == counts
    assert stored_files() == files


def _png_tree(root: Path) -> Path:
    rng = np.random.default_rng(7)
    for split in ("train", "test"):
        for name, count in (("cat_scan_normal", 2), ("effusion", 1)):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                grey = rng.integers(0, 255, (20, 24), dtype=np.uint8)
                Image.fromarray(grey).save(folder / f"{split}-{name}-{i}.png")
    Image.fromarray(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)).save(
        root / "train" / "effusion" / "colour.jpg"
    )
    Image.fromarray(rng.integers(0, 65535, (8, 8), dtype=np.uint16)).save(
        root / "test" / "effusion" / "deep.png"
    )
    return root


def test_a_class_per_folder_png_tree_imports_with_labels_and_splits(tmp_path) -> None:
    root = _png_tree(tmp_path / "dataset")
    project = make_project(deidentify=True, classes=())

    count = import_image_folder(project, root)

    assert count == 8
    labels = {
        Path(item.instance.series.study.patient.patient_id).name: item
        for item in Item.objects.filter(project=project).select_related("instance")
    }
    assert len(labels) == 8
    pairs = sorted(
        (item.split, Annotation.objects.get(item=item).payload["labels"][0])
        for item in labels.values()
    )
    assert pairs.count(("train", "cat_scan_normal")) == 2
    assert pairs.count(("train", "effusion")) == 2  # one PNG + the colour JPEG
    assert pairs.count(("test", "effusion")) == 2  # one PNG + the 16-bit PNG
    deep = Instance.objects.get(bits_allocated=16)
    original = np.asarray(Image.open(root / "test" / "effusion" / "deep.png"))
    assert np.array_equal(decode_frame(deep, 1), original)


def test_arrays_that_do_not_fit_together_are_refused_before_anything_is_written() -> None:
    project = make_project(deidentify=False, classes=())
    images = np.zeros((3, 8, 8), dtype=np.uint8)
    before = row_counts()

    with pytest.raises(DatasetError, match=r"labels must lie in 0\.\.1"):
        import_labelled_arrays(project, images, np.array([0, 1, 2]), ["a", "b"])
    with pytest.raises(DatasetError, match="uint8 or uint16"):
        import_labelled_arrays(project, images.astype(np.float32), np.array([0, 1, 1]), ["a", "b"])
    with pytest.raises(DatasetError, match="unknown split"):
        import_labelled_arrays(
            project, images, np.array([0, 1, 1]), ["a", "b"], splits=["train", "dev", "test"]
        )

    assert row_counts() == before
    assert stored_files() == []
