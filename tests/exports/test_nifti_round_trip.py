"""NIfTI files and the nnU-Net layout read back with nibabel equal the database."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np

from annotations.exports.geometry import label_map
from annotations.ground_truth import ground_truth_for
from annotations.models import Item
from studies.frames import decode_frame


def expected_labels(item_id: int, truth, rows: int, cols: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    return label_map(truth[item_id].shapes, {"brain": 0, "lesion": 1}, rows, cols)


def test_images_are_in_modality_units_and_labels_match_the_shapes(
    segmentation_project, export
) -> None:
    root = export(segmentation_project, ["nifti"]) / "nifti"
    truth = ground_truth_for(segmentation_project)
    checked = 0
    for item in Item.objects.filter(project=segmentation_project).select_related("instance"):
        instance = item.instance
        image = nib.load(root / item.split / "images" / f"item{item.pk:07d}.nii.gz")
        labels = nib.load(root / item.split / "labels" / f"item{item.pk:07d}.nii.gz")
        # NIfTI axes are (column, row, slice); DICOM arrays are (row, column).
        pixels = np.asarray(image.dataobj)[:, :, 0].T
        stored = decode_frame(instance, 1).astype(np.float64)
        modality = stored * (instance.rescale_slope or 1.0) + (instance.rescale_intercept or 0.0)
        assert np.allclose(pixels, modality)
        painted = np.asarray(labels.dataobj)[:, :, 0].T
        assert np.array_equal(
            painted, expected_labels(item.pk, truth, instance.rows, instance.columns)
        )
        assert set(np.unique(painted)) == {0, 1, 2}
        # The voxel size is the DICOM pixel spacing (row spacing is along the second axis).
        row_mm, col_mm = instance.pixel_spacing
        assert np.allclose(image.header.get_zooms()[:2], (col_mm, row_mm), atol=1e-4)
        assert np.allclose(image.affine, labels.affine)
        checked += 1
    assert checked == 5


def test_the_nnunet_raw_layout_has_dataset_json_channels_and_matching_cases(
    segmentation_project, export
) -> None:
    from annotations.models import Item as ItemModel

    # The last item is an MR slice already in the locked test split; the other slice of the
    # same patient joins it, the three CT slices (another patient) stay in training.
    items = list(ItemModel.objects.filter(project=segmentation_project).order_by("pk"))
    ItemModel.objects.filter(pk=items[-1].pk).update(split="test")
    root = export(segmentation_project, ["nnunet"]) / "nnunet"
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    assert folder.name == f"Dataset{segmentation_project.pk:03d}_HeadCTlesions"
    dataset = json.loads((folder / "dataset.json").read_text())
    assert dataset["labels"] == {"background": 0, "brain": 1, "lesion": 2}
    assert dataset["channel_names"] == {"0": "CT"}
    assert dataset["file_ending"] == ".nii.gz"
    train_cases = sorted(p.name.removesuffix(".nii.gz") for p in (folder / "labelsTr").iterdir())
    assert sorted(p.name for p in (folder / "imagesTr").iterdir()) == [
        f"{case}_0000.nii.gz" for case in train_cases
    ]
    assert dataset["numTraining"] == len(train_cases) == 3
    assert sorted(p.name for p in (folder / "imagesTs").iterdir()) == [
        f"item{item.pk:07d}_0000.nii.gz" for item in items[-2:]
    ]
    for item in items[-2:]:
        image = nib.load(folder / "imagesTs" / f"item{item.pk:07d}_0000.nii.gz")
        label = nib.load(folder / "labelsTs" / f"item{item.pk:07d}.nii.gz")
        assert image.shape == label.shape
    folds = json.loads((root / "splits_final.json").read_text())
    assert sorted(folds[0]["train"] + folds[0]["val"]) == train_cases
