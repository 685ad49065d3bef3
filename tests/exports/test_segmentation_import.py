"""Importing a labelled segmentation set: npz, PNG folder pairs, nnU-Net NIfTI pairs; the
round trip through the NIfTI export; nothing stored on bad input; the API call."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image
from rest_framework.test import APIClient

from annotations.ground_truth import ground_truth_for
from annotations.models import Annotation, Item, Membership, Role
from annotations.payloads import decode_mask
from annotations.segmentation_import import IMPORT_USERNAME, import_segmentation_path
from annotations.segmentation_sources import SegmentationSourceError
from studies.models import Instance, Patient, Study
from tests.cast import make_project
from tests.exports import factories as f

BUSBRA_ORIGINALS = "segmentation/busbra/originals"


def small_npz(path: Path, *, seed: int = 3) -> dict[str, np.ndarray]:
    """Two classes, several objects per image, every fourth image empty; 6 cases in 3 splits."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {"class_names": np.array(["cyst", "tumour"])}
    for split, count in (("train", 8), ("val", 2), ("test", 2)):
        images = rng.integers(0, 255, size=(count, 24, 20), dtype=np.uint8)
        masks = np.zeros((count, 24, 20), dtype=np.uint8)
        for index in range(count):
            if index % 4 == 1:
                continue  # an image without objects
            masks[index, 2:6, 2:7] = 1
            masks[index, 10:13, 12:18] = 1  # a second object of the same class
            if index % 2 == 0:
                masks[index, 16:22, 3:9] = 2
        arrays[f"{split}_images"] = images
        arrays[f"{split}_masks"] = masks
        arrays[f"{split}_instances"] = masks.astype(np.uint16)  # not read by the importer
        arrays[f"{split}_cases"] = np.array([f"{split}-case{i // 2}" for i in range(count)])
        arrays[f"{split}_ids"] = np.array([f"{split}-{i}" for i in range(count)])
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return arrays


def _digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def _masks_by_image(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for split in ("train", "val", "test"):
        for image, mask in zip(arrays[f"{split}_images"], arrays[f"{split}_masks"], strict=True):
            out[_digest(image)] = mask
    return out


def _stored_label_map(item: Item, class_names: list[str]) -> np.ndarray:
    rows, cols = item.instance.rows, item.instance.columns
    out = np.zeros((rows, cols), dtype=np.uint16)
    for annotation in Annotation.objects.filter(item=item, is_current=True, kind="mask"):
        payload = annotation.payload
        out[decode_mask(payload["size"], payload["counts"])] = (
            class_names.index(payload["label"]) + 1
        )
    return out


def test_npz_import_stores_instances_masks_negatives_splits_and_patients(
    db: None, tmp_path: Path
) -> None:
    from studies.frames import decode_frame

    arrays = small_npz(tmp_path / "set.npz")
    project = make_project(name="Lesions", task_type="segmentation", classes=[])
    result = import_segmentation_path(project, tmp_path / "set.npz")
    assert result.images == 12
    items = f.items_of(project)
    assert len(items) == 12 and all(item.completed for item in items)
    expected = _masks_by_image(arrays)
    names = ["cyst", "tumour"]
    assert list(project.label_classes.order_by("index").values_list("name", flat=True)) == names
    empty = 0
    for item in items:
        pixels = decode_frame(item.instance, 1)
        mask = expected[_digest(pixels)]
        assert np.array_equal(_stored_label_map(item, names), mask)
        current = Annotation.objects.filter(item=item, is_current=True)
        assert {a.author.username for a in current} == {IMPORT_USERNAME}
        assert {a.source for a in current} == {"imported"}
        # One mask per class present, not one per object.
        assert current.filter(kind="mask").count() == len(set(np.unique(mask)) - {0})
        if not mask.any():
            empty += 1
            assert [a.payload for a in current] == [{"labels": []}]
    assert empty == result.negatives == 4
    assert result.masks == sum(len(set(np.unique(m)) - {0}) for m in expected.values())
    # Splits recorded; a case's images share a patient (de-identified, so not the case id).
    splits = {item.split for item in items}
    assert splits == {"train", "val", "test"}
    by_patient: dict[str, set[str]] = {}
    for item in items:
        by_patient.setdefault(item.patient_key, set()).add(item.split)
    assert len(by_patient) == 6 and all(len(s) == 1 for s in by_patient.values())
    assert not Patient.objects.filter(patient_id__startswith="train-case").exists()
    # Ground truth: negatives are truth with no shapes, not missing.
    truth = ground_truth_for(project)
    assert len(truth) == 12
    assert sum(1 for t in truth.values() if not t.shapes) == 4
    # A second import of the same file changes nothing.
    again = import_segmentation_path(project, tmp_path / "set.npz")
    assert again.masks == 0 and Item.objects.filter(project=project).count() == 12


def test_png_pairs_from_the_busbra_originals(db: None, shared_data: Path) -> None:
    from studies.frames import decode_frame

    root = shared_data / BUSBRA_ORIGINALS
    project = make_project(
        name="BUS-BRA", task_type="segmentation", classes=["lesion"], deidentify=False
    )
    call_command(
        "import_segmentation",
        str(root),
        "--project",
        str(project.pk),
        "--cases",
        str(root / "bus_data.csv"),
        "--limit",
        "6",
        stdout=io.StringIO(),
    )
    items = f.items_of(project)
    assert len(items) == 6
    for item in items:
        instance = item.instance
        name = Path(next(p for p in (root / "images").iterdir() if _png_matches(p, instance))).name
        with Image.open(root / "masks" / name.replace("bus_", "mask_")) as img:
            mask = np.asarray(img.convert("L")) > 0
        assert np.array_equal(
            decode_frame(instance, 1), np.asarray(Image.open(root / "images" / name).convert("L"))
        )
        assert np.array_equal(_stored_label_map(item, ["lesion"]) > 0, mask)
    # BUS-BRA's Case column is the patient: bus_0001-l and bus_0001-r are one patient.
    patients = {item.instance.series.study.patient.patient_id for item in items}
    assert patients <= {str(i) for i in range(1, 30)}
    assert len(patients) < len(items)


def _png_matches(path: Path, instance: Instance) -> bool:
    from studies.frames import decode_frame

    with Image.open(path) as img:
        pixels = np.asarray(img.convert("L"))
    if pixels.shape != (instance.rows, instance.columns):
        return False
    return bool(np.array_equal(pixels, decode_frame(instance, 1)))


def _nnunet_folder(root: Path, count: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    (root / "dataset.json").write_text(
        json.dumps(
            {
                "channel_names": {"0": "CT"},
                "labels": {"background": 0, "liver": 1, "tumour": 2},
                "numTraining": count,
                "file_ending": ".nii.gz",
            }
        )
    )
    expected = {}
    for case in range(count):
        # CT values: negative HU, so the importer rescales to uint16.
        image = rng.integers(-1000, 1000, size=(18, 22)).astype(np.int16)  # (rows, cols)
        labels = np.zeros((18, 22), dtype=np.uint8)
        if case:
            labels[3:9, 4:12] = 1
            labels[5:7, 6:8] = 2
        nib.save(
            nib.Nifti1Image(image.T.copy(), np.eye(4)), root / "imagesTr" / f"c{case}_0000.nii.gz"
        )
        nib.save(nib.Nifti1Image(labels.T.copy(), np.eye(4)), root / "labelsTr" / f"c{case}.nii.gz")
        expected[f"c{case}"] = labels
    return expected


def test_nifti_pairs_in_nnunet_layout(db: None, tmp_path: Path) -> None:
    expected = _nnunet_folder(tmp_path / "Dataset001_Liver")
    project = make_project(name="Liver", task_type="segmentation", classes=[], deidentify=False)
    result = import_segmentation_path(project, tmp_path / "Dataset001_Liver")
    assert result.images == 4 and result.negatives == 1 and result.masks == 6
    names = list(project.label_classes.order_by("index").values_list("name", flat=True))
    assert names == ["liver", "tumour"]
    for item in f.items_of(project):
        case = item.instance.series.study.patient.patient_id
        assert np.array_equal(_stored_label_map(item, names), expected[case])


def test_round_trip_import_then_nifti_export_gives_the_same_masks(
    db: None, tmp_path: Path, export
) -> None:  # type: ignore[no-untyped-def]
    arrays = small_npz(tmp_path / "set.npz", seed=5)
    project = make_project(name="Round trip", task_type="segmentation", classes=[])
    import_segmentation_path(project, tmp_path / "set.npz")
    root = export(project, ["nifti"]) / "nifti"
    expected = _masks_by_image(arrays)
    files = sorted(root.glob("*/labels/*.nii.gz"))
    assert len(files) == 12
    for labels_file in files:
        image_file = labels_file.parent.parent / "images" / labels_file.name
        pixels = np.asarray(nib.load(image_file).dataobj)[:, :, 0].T.astype(np.uint8)
        labels = np.asarray(nib.load(labels_file).dataobj)[:, :, 0].T
        assert np.array_equal(labels, expected[_digest(pixels)])


def test_bad_input_stores_nothing(db: None, tmp_path: Path) -> None:
    small_npz(tmp_path / "good.npz")
    project = make_project(name="Lesions", task_type="segmentation", classes=[])
    # A mask naming a class the set does not have, in the last image of the last split.
    with np.load(tmp_path / "good.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["test_masks"][-1, 0, 0] = 7
    np.savez(tmp_path / "bad.npz", **arrays)  # type: ignore[arg-type]
    before = (Instance.objects.count(), Study.objects.count(), Annotation.objects.count())
    with pytest.raises(SegmentationSourceError, match="mask value 7"):
        import_segmentation_path(project, tmp_path / "bad.npz")
    # A PNG pair with a missing mask.
    folder = tmp_path / "pairs"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "images" / "a.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "images" / "b.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "masks" / "a.png")
    with pytest.raises(SegmentationSourceError, match=r"b\.png has no mask"):
        import_segmentation_path(project, folder)
    assert (Instance.objects.count(), Study.objects.count(), Annotation.objects.count()) == before
    assert not project.label_classes.exists()
    # A classification project refuses masks; the command says so in one line.
    other = make_project(name="Films", task_type="classification", classes=["a"])
    with pytest.raises(CommandError, match="segmentation project"):
        call_command("import_segmentation", str(tmp_path / "good.npz"), "--project", str(other.pk))


def test_the_api_call_imports_for_an_admin_only(db: None, tmp_path: Path, make_user) -> None:  # type: ignore[no-untyped-def]
    small_npz(tmp_path / "set.npz")
    project = make_project(name="Lesions", task_type="segmentation", classes=[])
    admin, annotator = make_user("seg-admin"), make_user("seg-annotator")
    Membership.objects.create(project=project, user=admin, role=Role.ADMIN)
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    url = f"/api/v1/projects/{project.pk}/import-segmentation"
    client = APIClient()
    client.force_authenticate(annotator)
    with (tmp_path / "set.npz").open("rb") as handle:
        assert client.post(url, {"file": handle}, format="multipart").status_code == 403
    client.force_authenticate(admin)
    bad = io.BytesIO(b"not an archive")
    bad.name = "set.npz"
    response = client.post(url, {"file": bad}, format="multipart")
    assert response.status_code == 400, response.content
    assert Item.objects.filter(project=project).count() == 0
    # A zip of an nnU-Net folder.
    _nnunet_folder(tmp_path / "Dataset002_Liver")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for file in sorted((tmp_path / "Dataset002_Liver").rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(tmp_path))
    buffer.seek(0)
    buffer.name = "liver.zip"
    response = client.post(url, {"file": buffer}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["images"] == 4
    with (tmp_path / "set.npz").open("rb") as handle:
        response = client.post(url, {"file": handle}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["images"] == 12  # its classes are added beside the project's
    assert Item.objects.filter(project=project).count() == 16
