"""Readers for labelled segmentation sets: images plus label maps, before anything is stored.

Three layouts (docs/exports.md, "Importing a labelled segmentation set"):

- the standard npz layout (`../shared/data/segmentation/busbra/README.md`): per split
  `{split}_images`, `{split}_masks` (0 background, k = class_names[k-1]), `{split}_cases`,
  optional `{split}_ids`; and `class_names`;
- a PNG folder pair: `images/NAME.png` and `masks/NAME.png`, or names equal after their first
  "_" (`bus_0001-l.png` / `mask_0001-l.png`) (a binary mask, 0/1 or 0/255, is
  class 1; otherwise the values are class numbers);
- NIfTI pairs in nnU-Net raw layout: `imagesTr/CASE_0000.nii.gz` + `labelsTr/CASE.nii.gz` (and
  `imagesTs`/`labelsTs`, imported into the test split), class names from `dataset.json`.
  NIfTI axes are (column, row[, slice]) as our NIfTI export writes them; each slice of a 3-D
  case becomes one image of that case.

Everything is read and checked here, so the importer writes nothing when any file is bad.
Pure numpy/PIL/nibabel: no Django.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SPLITS = ("train", "val", "test")
MAX_SIDE = 65535  # DICOM Rows/Columns are 16-bit


class SegmentationSourceError(ValueError):
    """The set cannot be imported as given; nothing was written."""


@dataclass
class LabelledShape:
    """A box or point of a detection set (annotations.detection_sources)."""

    kind: str  # "box" | "point"
    value: int  # 1-based class number, as in a label map
    points: list[list[float]]  # image pixels, x = column, y = row
    where: str = ""  # names it in error messages (the file, image and annotation)


@dataclass
class LabelledImage:
    image: np.ndarray  # (rows, cols) uint8 or uint16
    labels: np.ndarray  # (rows, cols) uint16: 0 background, k = class_names[k - 1]
    case: str  # the patient: images of one case share a patient (and so a split)
    name: str  # the source's own name for the image, for error messages and UIDs
    split: str = ""  # "", or an official split to record on the Item
    # A detection set's boxes and points (None for a segmentation set; [] for a negative).
    shapes: list[LabelledShape] | None = None


@dataclass
class LabelledSet:
    class_names: list[str]
    images: list[LabelledImage]
    source: str  # names the set in derived UIDs, so two sets never collide


def _check_pair(item: LabelledImage, classes: int) -> None:
    where = item.name
    if item.image.ndim != 2:
        raise SegmentationSourceError(f"{where}: image must be 2-D, got shape {item.image.shape}")
    if item.image.dtype not in (np.uint8, np.uint16):
        raise SegmentationSourceError(
            f"{where}: image must be uint8/uint16, got {item.image.dtype}"
        )
    if item.labels.shape != item.image.shape:
        raise SegmentationSourceError(
            f"{where}: mask shape {item.labels.shape} differs from image shape {item.image.shape}"
        )
    if min(item.image.shape) < 1 or max(item.image.shape) > MAX_SIDE:
        raise SegmentationSourceError(f"{where}: image size {item.image.shape} is not storable")
    if item.labels.size and int(item.labels.max()) > classes:
        raise SegmentationSourceError(
            f"{where}: mask value {int(item.labels.max())} but only {classes} class(es) are named"
        )
    if not item.case:
        raise SegmentationSourceError(f"{where}: no case (patient) id")
    if item.split not in ("", *SPLITS):
        raise SegmentationSourceError(f"{where}: unknown split {item.split!r}")


def check_set(labelled: LabelledSet) -> LabelledSet:
    names = labelled.class_names
    if not names or len(set(names)) != len(names) or any(not n for n in names):
        raise SegmentationSourceError("class_names must be a non-empty list of distinct names")
    if not labelled.images:
        raise SegmentationSourceError("the set has no images")
    split_of_case: dict[str, str] = {}
    for item in labelled.images:
        _check_pair(item, len(names))
        # One patient in two splits would leak between training and test.
        earlier = split_of_case.setdefault(item.case, item.split)
        if earlier != item.split:
            raise SegmentationSourceError(
                f"case {item.case!r} is in split {earlier or '(none)'!r} and {item.split!r}"
            )
    return labelled


def _label_array(raw: np.ndarray, where: str) -> np.ndarray:
    values = np.asarray(raw)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
            raise SegmentationSourceError(f"{where}: mask values must be whole class numbers")
    elif values.dtype.kind not in "iub":
        raise SegmentationSourceError(f"{where}: mask must be numeric, got {values.dtype}")
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise SegmentationSourceError(f"{where}: mask values must lie in 0..65535")
    return values.astype(np.uint16)


def read_npz(path: Path, *, limit: int | None = None, boxes: bool = False) -> LabelledSet:
    """The standard layout; with `boxes`, each image also gets a box per object of
    `{split}_instances` (annotations.detection_sources.boxes_from_instances)."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SegmentationSourceError(f"{path.name} is not a readable .npz file: {exc}") from exc
    images: list[LabelledImage] = []
    with archive:
        if "class_names" not in archive:
            raise SegmentationSourceError(f"{path.name} has no class_names")
        class_names = [str(n) for n in np.asarray(archive["class_names"]).reshape(-1)]
        present = [s for s in SPLITS if f"{s}_images" in archive]
        if not present:
            raise SegmentationSourceError(f"{path.name} has no {{split}}_images keys")
        for split in present:
            needed = ("masks", "cases", "instances") if boxes else ("masks", "cases")
            missing = [k for k in needed if f"{split}_{k}" not in archive]
            if missing:
                keys = ", ".join(f"{split}_{k}" for k in missing)
                raise SegmentationSourceError(f"{path.name}: {split}_images without {keys}")
            pixels = archive[f"{split}_images"][:limit]
            masks = archive[f"{split}_masks"][:limit]
            instances = archive[f"{split}_instances"][:limit] if boxes else None
            cases = [str(c) for c in archive[f"{split}_cases"][:limit]]
            ids = (
                [str(i) for i in archive[f"{split}_ids"][:limit]]
                if f"{split}_ids" in archive
                else [f"{split}-{i}" for i in range(len(pixels))]
            )
            if pixels.ndim != 3 or not (len(pixels) == len(masks) == len(cases) == len(ids)):
                raise SegmentationSourceError(
                    f"{path.name}: {split} keys disagree: images {pixels.shape}, masks "
                    f"{masks.shape}, {len(cases)} cases, {len(ids)} ids"
                )
            if instances is not None and instances.shape != masks.shape:
                raise SegmentationSourceError(
                    f"{path.name}: {split}_instances {instances.shape} differs from "
                    f"{split}_masks {masks.shape}"
                )
            for index in range(len(pixels)):
                labels = _label_array(masks[index], f"{split}_masks[{index}]")
                shapes = None
                if instances is not None:
                    from annotations.detection_sources import boxes_from_instances

                    objects = _label_array(instances[index], f"{split}_instances[{index}]")
                    shapes = boxes_from_instances(objects, labels)
                images.append(
                    LabelledImage(
                        image=pixels[index],
                        labels=labels,
                        case=cases[index],
                        name=ids[index],
                        split=split,
                        shapes=shapes,
                    )
                )
    return check_set(LabelledSet(class_names, images, f"npz:{path.name}"))


def read_cases_csv(path: Path) -> dict[str, str]:
    """image name (without suffix) → case, from a CSV with ID and Case columns (BUS-BRA's
    bus_data.csv has them)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SegmentationSourceError(f"{path.name} is not a readable CSV: {exc}") from exc
    if not rows:
        return {}
    columns = {c.lower(): c for c in rows[0] if c}
    if "id" not in columns or "case" not in columns:
        raise SegmentationSourceError(f"{path.name} needs ID and Case columns")
    return {row[columns["id"]].strip(): row[columns["case"]].strip() for row in rows}


def _png(path: Path) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()
        return img
    except (UnidentifiedImageError, OSError) as exc:
        raise SegmentationSourceError(f"{path.name} is not a readable image: {exc}") from exc


def _png_image(path: Path) -> np.ndarray:
    img = _png(path)
    if img.mode in {"I;16", "I;16B", "I;16L"}:
        return np.asarray(img, dtype=np.uint16)
    if img.mode == "I":
        return np.clip(np.asarray(img), 0, 65535).astype(np.uint16)
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _png_mask(path: Path) -> np.ndarray:
    img = _png(path)
    if img.mode == "1":
        return np.asarray(img, dtype=bool).astype(np.uint16)
    if img.mode not in {"L", "P", "I", "I;16", "I;16B", "I;16L"}:
        raise SegmentationSourceError(f"{path.name}: a mask must be one channel, not {img.mode}")
    values = _label_array(np.asarray(img), path.name)
    if set(np.unique(values).tolist()) <= {0, 255}:
        values = (values > 0).astype(np.uint16)  # a binary mask saved as 0/255
    return values


def _tail(stem: str) -> str:
    return stem.split("_", 1)[1] if "_" in stem else stem


def read_png_pairs(
    root: Path,
    *,
    class_names: list[str] | None,
    cases: dict[str, str] | None = None,
    limit: int | None = None,
) -> LabelledSet:
    images_dir, masks_dir = root / "images", root / "masks"
    if not images_dir.is_dir() or not masks_dir.is_dir():
        raise SegmentationSourceError(f"{root.name} needs images/ and masks/ folders")
    files = sorted(p for p in images_dir.iterdir() if p.suffix.lower() == ".png")[:limit]
    if not files:
        raise SegmentationSourceError(f"{root.name}/images has no PNG files")
    masks = {p.stem: p for p in masks_dir.iterdir() if p.suffix.lower() == ".png"}
    # BUS-BRA and others name pairs bus_0001-l.png / mask_0001-l.png: the part after the first
    # "_" matches when the whole name does not.
    by_tail: dict[str, list[Path]] = {}
    for stem, mask_path in masks.items():
        by_tail.setdefault(_tail(stem), []).append(mask_path)
    pairs: list[LabelledImage] = []
    for file in files:
        mask_file = masks.get(file.stem)
        if mask_file is None and len(by_tail.get(_tail(file.stem), [])) == 1:
            mask_file = by_tail[_tail(file.stem)][0]
        if mask_file is None:
            raise SegmentationSourceError(f"images/{file.name} has no mask in masks/")
        case = (cases or {}).get(file.stem, file.stem)
        pairs.append(LabelledImage(_png_image(file), _png_mask(mask_file), case, file.stem))
    highest = max(int(p.labels.max()) for p in pairs)
    names = class_names or [f"class{k}" for k in range(1, max(highest, 1) + 1)]
    return check_set(LabelledSet(names, pairs, f"png:{root.name}"))


def _nifti_planes(path: Path) -> np.ndarray:
    """(slices, rows, cols) from a 2-D or 3-D NIfTI in (column, row[, slice]) axes."""
    import nibabel as nib

    try:
        image: Any = nib.load(str(path))
        data = np.asanyarray(image.dataobj)
    except Exception as exc:  # nibabel raises many types for a broken file
        raise SegmentationSourceError(f"{path.name} is not a readable NIfTI file: {exc}") from exc
    if data.ndim == 2:
        data = data[:, :, np.newaxis]
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise SegmentationSourceError(f"{path.name}: expected 2-D or 3-D data, got {data.shape}")
    return np.ascontiguousarray(data.transpose(2, 1, 0))


def _as_stored_pixels(planes: np.ndarray, where: str) -> np.ndarray:
    """Integer data that fits stays as it is (uint8 up to 255, else uint16); anything else
    (negative HU, floats) is mapped linearly from its min..max onto 0..65535."""
    if planes.dtype.kind in "iub" and planes.size and planes.min() >= 0 and planes.max() <= 65535:
        return planes.astype(np.uint8 if planes.max() <= 255 else np.uint16)
    values = planes.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise SegmentationSourceError(f"{where}: image has NaN or infinite values")
    lo, hi = float(values.min()), float(values.max())
    scaled = np.zeros_like(values) if hi <= lo else (values - lo) / (hi - lo) * 65535.0
    return np.rint(scaled).astype(np.uint16)


def _nnunet_classes(root: Path) -> list[str]:
    try:
        dataset = json.loads((root / "dataset.json").read_text(encoding="utf-8"))
        labels = dataset["labels"]
        by_value = {int(v): str(k) for k, v in labels.items()}
    except FileNotFoundError as exc:
        raise SegmentationSourceError(f"{root.name} has no dataset.json") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SegmentationSourceError(
            f"dataset.json needs labels {{name: integer}} (region labels are not supported): {exc}"
        ) from exc
    values = sorted(v for v in by_value if v != 0)
    if values != list(range(1, len(values) + 1)):
        raise SegmentationSourceError("dataset.json labels must be 0 (background), 1, 2, ... n")
    return [by_value[v] for v in values]


def _nnunet_cases(root: Path, images: str, labels: str) -> Iterator[tuple[str, Path, Path]]:
    folder = root / images
    if not folder.is_dir():
        return
    for image in sorted(folder.glob("*_0000.nii.gz")):
        case = image.name.removesuffix("_0000.nii.gz")
        label = root / labels / f"{case}.nii.gz"
        if not label.is_file():
            if images == "imagesTs":
                continue  # unlabelled test images are nnU-Net's inference input, not ours
            raise SegmentationSourceError(f"{images}/{image.name} has no {labels}/{case}.nii.gz")
        yield case, image, label


def read_nnunet(
    root: Path, *, cases: dict[str, str] | None = None, limit: int | None = None
) -> LabelledSet:
    if not (root / "imagesTr").is_dir() or not (root / "labelsTr").is_dir():
        raise SegmentationSourceError(f"{root.name} needs imagesTr/ and labelsTr/ folders")
    class_names = _nnunet_classes(root)
    pairs: list[LabelledImage] = []
    for images, labels, split in (("imagesTr", "labelsTr", ""), ("imagesTs", "labelsTs", "test")):
        for case, image_path, label_path in list(_nnunet_cases(root, images, labels))[:limit]:
            planes = _nifti_planes(image_path)
            masks = _nifti_planes(label_path)
            if planes.shape != masks.shape:
                raise SegmentationSourceError(
                    f"{case}: image {planes.shape} and label {masks.shape} differ in shape"
                )
            pixels = _as_stored_pixels(planes, image_path.name)
            patient = (cases or {}).get(case, case)
            for z in range(planes.shape[0]):
                name = case if planes.shape[0] == 1 else f"{case}[{z}]"
                pairs.append(
                    LabelledImage(
                        pixels[z], _label_array(masks[z], label_path.name), patient, name, split
                    )
                )
    if not pairs:
        raise SegmentationSourceError(f"{root.name}/imagesTr has no CASE_0000.nii.gz files")
    return check_set(LabelledSet(class_names, pairs, f"nnunet:{root.name}"))


def read_labelled_set(
    path: Path,
    *,
    class_names: list[str] | None = None,
    cases: dict[str, str] | None = None,
    limit: int | None = None,
    boxes: bool = False,
) -> LabelledSet:
    """Read whichever of the layouts `path` is; with `boxes` (a detection project), the npz's
    boxes come from its instances, and a COCO folder or JSON is read too."""
    if path.is_file() and path.suffix == ".npz":
        return read_npz(path, limit=limit, boxes=boxes)
    if boxes:
        from annotations.detection_sources import is_coco, read_coco

        if is_coco(path):
            return read_coco(path, cases=cases, limit=limit)
        raise SegmentationSourceError(
            f"{path.name}: boxes come from a standard-layout .npz (its instances) or a COCO "
            "folder (instances JSON with its images)"
        )
    if path.is_dir() and (path / "imagesTr").is_dir():
        return read_nnunet(path, cases=cases, limit=limit)
    if path.is_dir() and (path / "images").is_dir():
        return read_png_pairs(path, class_names=class_names, cases=cases, limit=limit)
    raise SegmentationSourceError(
        f"{path.name} is neither a .npz file, a folder with images/ and masks/, nor an nnU-Net "
        "raw dataset (imagesTr/, labelsTr/, dataset.json)"
    )
