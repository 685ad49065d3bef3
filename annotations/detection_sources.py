"""Readers for labelled detection sets: images plus boxes, before anything is stored.

Two layouts (docs/exports.md, "Importing a labelled set"):

- the standard npz layout (`../shared/data/segmentation/busbra/README.md`): a box per object
  of `{split}_instances` (1..n, one id per object), the tightest box around its pixels, its class
  the most common non-zero value of `{split}_masks` under it (read by segmentation_sources);
- COCO: a folder (or .zip) with one or more instances JSON files (`images`, `annotations`,
  `categories`) and the images they name (PNG or JPEG, found by their `file_name` or base name
  anywhere in the folder). A JSON whose name says train, val or test fills that split; an
  image's patient is its `patient` or `case` field, the cases CSV, or else the image itself.
  `bbox` [x, y, width, height] becomes a box, a one-keypoint annotation a point; an image without
  annotations is a negative ("no findings").

Every box is checked here (finite, positive width and height, inside the image, a known
category) and refused with the image, the annotation and the reason, so nothing is written.
Pure numpy/PIL: no Django.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from annotations.payloads import ImageGeometry, LabelSchema, PayloadError, validate_payload
from annotations.segmentation_sources import (
    SPLITS,
    LabelledImage,
    LabelledSet,
    LabelledShape,
    SegmentationSourceError,
    check_set,
)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def boxes_from_instances(instances: np.ndarray, labels: np.ndarray) -> list[LabelledShape]:
    """One box per object id of an instance map, in pixel-edge coordinates (a one-pixel object
    at column c, row r is [[c, r], [c + 1, r + 1]], as COCO's bbox counts it)."""
    out: list[LabelledShape] = []
    for object_id in (int(v) for v in np.unique(instances) if v):
        rows, cols = np.nonzero(instances == object_id)
        values = labels[rows, cols]
        values = values[values > 0]
        value = int(np.bincount(values).argmax()) if values.size else 1
        points: list[list[float]] = [
            [int(cols.min()), int(rows.min())],
            [int(cols.max()) + 1, int(rows.max()) + 1],
        ]
        out.append(LabelledShape("box", value, points))
    return out


def check_shapes(entry: LabelledImage, class_names: list[str]) -> None:
    """Each shape through the API's own payload rules (annotations.payloads)."""
    schema = LabelSchema("detection", tuple(class_names))
    rows, cols = entry.image.shape
    for number, shape in enumerate(entry.shapes or []):
        where = shape.where or f"{entry.name}: object {number}"
        if not 1 <= shape.value <= len(class_names):
            raise SegmentationSourceError(
                f"{where}: class {shape.value} is not one of the {len(class_names)} named"
            )
        payload = {"label": class_names[shape.value - 1], "points": shape.points}
        try:
            validate_payload(shape.kind, payload, schema=schema, image=ImageGeometry(rows, cols))
        except PayloadError as exc:
            raise SegmentationSourceError(f"{where}: {exc}") from exc


# COCO ----------------------------------------------------------------------------------------


def _coco_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found = []
    for path in sorted(root.rglob("*.json")):
        try:
            head = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if isinstance(head, dict) and {"images", "annotations", "categories"} <= set(head):
            found.append(path)
    if not found:
        raise SegmentationSourceError(f"{root.name} holds no COCO instances JSON")
    return found


def is_coco(path: Path) -> bool:
    try:
        return bool(_coco_files(path))
    except SegmentationSourceError:
        return False


def _split_of(path: Path) -> str:
    name = path.stem.lower()
    for split, words in (("train", ("train",)), ("val", ("val",)), ("test", ("test",))):
        if any(w in name for w in words):
            return split
    return ""


def _image_index(root: Path) -> dict[str, list[Path]]:
    index: dict[str, list[Path]] = {}
    for path in root.rglob("*"):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            index.setdefault(path.name, []).append(path)
    return index


def _find_image(root: Path, json_path: Path, file_name: str, index: dict[str, list[Path]]) -> Path:
    relative = Path(file_name)
    if relative.is_absolute() or ".." in relative.parts:
        raise SegmentationSourceError(f"{json_path.name}: unsafe file_name {file_name!r}")
    for base in (json_path.parent, json_path.parent.parent, root):
        if (base / relative).is_file():
            return base / relative
    candidates = [p for p in index.get(relative.name, []) if str(p).endswith(str(relative))]
    candidates = candidates or index.get(relative.name, [])
    if len(candidates) != 1:
        why = "not found" if not candidates else f"{len(candidates)} files of that name"
        raise SegmentationSourceError(f"{json_path.name}: image {file_name!r}: {why}")
    return candidates[0]


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in {"I;16", "I;16B", "I;16L"}:
                return np.asarray(img, dtype=np.uint16)
            return np.asarray(img.convert("L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise SegmentationSourceError(f"{path.name} is not a readable image: {exc}") from exc


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def coco_shape(ann: dict[str, Any], value: int, where: str) -> LabelledShape:
    """One COCO annotation as a box (bbox) or a point (one keypoint); refused with a reason."""
    keypoints = ann.get("keypoints")
    if keypoints and ann.get("num_keypoints", 0) >= 1:
        if len(keypoints) < 3 or not all(_number(v) for v in keypoints[:2]):
            raise SegmentationSourceError(f"{where}: keypoints must be finite [x, y, v]")
        return LabelledShape("point", value, [[keypoints[0], keypoints[1]]], where)
    bbox = ann.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise SegmentationSourceError(f"{where}: bbox must be [x, y, width, height]")
    if not all(_number(v) for v in bbox):
        raise SegmentationSourceError(f"{where}: bbox values must be finite numbers (no NaN/inf)")
    x, y, width, height = (float(v) for v in bbox)
    if width < 0 or height < 0:
        raise SegmentationSourceError(f"{where}: bbox has a negative size ({width:g} x {height:g})")
    if width == 0 or height == 0:
        raise SegmentationSourceError(f"{where}: bbox has a zero size ({width:g} x {height:g})")
    corners = [[_tidy(x), _tidy(y)], [_tidy(x + width), _tidy(y + height)]]
    return LabelledShape("box", value, corners, where)


def _tidy(value: float) -> float:
    return int(value) if float(value).is_integer() else value


def read_coco(
    path: Path, *, cases: dict[str, str] | None = None, limit: int | None = None
) -> LabelledSet:
    root = path if path.is_dir() else path.parent
    files = _coco_files(path)
    index = _image_index(root)
    class_names: list[str] = []
    images: list[LabelledImage] = []
    for json_path in files:
        data = json.loads(json_path.read_text(encoding="utf-8"))
        categories = sorted(data["categories"], key=lambda c: c.get("id", 0))
        names = [str(c.get("name", "")) for c in categories]
        if class_names and names != class_names:
            raise SegmentationSourceError(f"{json_path.name}: categories differ from the others")
        class_names = names
        value_of = {c.get("id"): number for number, c in enumerate(categories, start=1)}
        by_image: dict[Any, list[dict[str, Any]]] = {}
        for ann in data["annotations"]:
            by_image.setdefault(ann.get("image_id"), []).append(ann)
        split = _split_of(json_path)
        for record in data["images"][:limit]:
            file_name = str(record.get("file_name", ""))
            image = _read_image(_find_image(root, json_path, file_name, index))
            stem = Path(file_name).stem
            where = f"{json_path.name}: image {file_name!r}"
            if (record.get("height"), record.get("width")) not in (
                (None, None),
                (image.shape[0], image.shape[1]),
            ):
                raise SegmentationSourceError(
                    f"{where}: the JSON says {record.get('width')}x{record.get('height')}, the "
                    f"file is {image.shape[1]}x{image.shape[0]}"
                )
            shapes = []
            for ann in by_image.get(record.get("id"), []):
                at = f"{where}, annotation {ann.get('id')}"
                if ann.get("category_id") not in value_of:
                    raise SegmentationSourceError(
                        f"{at}: category_id {ann.get('category_id')!r} is not a category"
                    )
                shapes.append(coco_shape(ann, value_of[ann["category_id"]], at))
            case = str(record.get("patient") or record.get("case") or "")
            case = case or (cases or {}).get(stem, "") or stem
            entry = LabelledImage(
                image=image,
                labels=np.zeros(image.shape, dtype=np.uint16),
                case=case,
                name=stem,
                split=split if split in SPLITS else "",
                shapes=shapes,
            )
            images.append(entry)
    labelled = check_set(LabelledSet(class_names, images, f"coco:{root.name}"))
    for entry in labelled.images:
        check_shapes(entry, class_names)
    return labelled
