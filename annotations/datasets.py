"""Seed a project from an ordinary labelled image dataset.

Each image becomes a DICOM Secondary Capture instance (PS3.3 A.8.1, one study per patient) that
goes through the same ingest service as any upload, so it is stored, indexed, de-identified when
the project asks and gets its Item. Its label is recorded as an Annotation of kind "class" with
source "imported", and official splits (MedMNIST's train/val/test) are recorded on Item.split.

UIDs are derived from the project, the image's position and its pixels (PS3.5 B.2 "2.25" UIDs),
so importing the same dataset again finds duplicates instead of creating new instances.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, SecondaryCaptureImageStorage

from annotations.models import Annotation, AnnotationSource, Item, LabelClass, Project
from studies.ingest import ingest_bytes

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
Progress = Callable[[int], None]


class DatasetError(ValueError):
    """The dataset cannot be imported as given; nothing was written."""


_UID_NAMESPACE = uuid.UUID("6f1c0a52-3f0e-5d7b-9a53-7ad1f0c0d1a1")


def _uid(*parts: object) -> str:
    # A name-based (version 5) UUID as a "2.25." UID (PS3.5 B.2): the same parts, the same UID.
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, '|'.join(map(str, parts))).int}"


def secondary_capture(
    image: np.ndarray,
    *,
    patient_id: str,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    number: int,
) -> bytes:
    """A minimal, valid Secondary Capture Image (SC Equipment module: ConversionType WSD)."""
    if image.dtype not in (np.uint8, np.uint16):
        raise DatasetError(f"images must be uint8 or uint16, got {image.dtype}")
    bits = 8 if image.dtype == np.uint8 else 16
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.PatientID = patient_id
    ds.PatientName = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyDate = ""
    ds.StudyTime = ""
    ds.StudyID = ""
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    # Generated from arrays: no text was burned in, so exports need not withhold these images.
    ds.BurnedInAnnotation = "NO"
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    ds.PatientOrientation = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(image.shape[0]), int(image.shape[1])
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(image).astype(f"<u{bits // 8}").tobytes()
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def ensure_label_classes(project: Project, class_names: Sequence[str]) -> None:
    existing = set(project.label_classes.values_list("name", flat=True))
    next_index = max(project.label_classes.values_list("index", flat=True), default=-1) + 1
    for name in class_names:
        if name not in existing:
            LabelClass.objects.create(project=project, name=name, index=next_index)
            existing.add(name)
            next_index += 1


def _validate(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    patient_ids: Sequence[str] | None,
    splits: Sequence[str] | None,
) -> None:
    if images.ndim != 3:
        raise DatasetError(f"images must have shape (N, H, W), got {images.shape}")
    if images.dtype not in (np.uint8, np.uint16):
        raise DatasetError(f"images must be uint8 or uint16, got {images.dtype}")
    count = images.shape[0]
    if labels.shape != (count,):
        raise DatasetError(f"labels must have shape ({count},), got {labels.shape}")
    if not class_names or len(set(class_names)) != len(class_names):
        raise DatasetError("class_names must be a non-empty list of distinct names")
    if count and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise DatasetError(f"labels must lie in 0..{len(class_names) - 1}")
    if patient_ids is not None and len(patient_ids) != count:
        raise DatasetError(f"patient_ids has {len(patient_ids)} entries for {count} images")
    if splits is not None:
        if len(splits) != count:
            raise DatasetError(f"splits has {len(splits)} entries for {count} images")
        unknown = set(splits) - set(SPLITS)
        if unknown:
            raise DatasetError(f"unknown split(s) {sorted(unknown)}; use {SPLITS}")


def _record_label(project: Project, item: Any, label: str, split: str, user: Any) -> None:
    if split and not item.split:  # splits are locked once assigned
        item.split = split
        item.save(update_fields=["split"])
    already = Annotation.objects.filter(
        item=item, source=AnnotationSource.IMPORTED, is_current=True, deleted=False
    ).exists()
    if not already:
        Annotation.objects.create(
            item=item,
            author=user if getattr(user, "is_authenticated", False) else None,
            source=AnnotationSource.IMPORTED,
            kind="class",
            payload={"labels": [label]},
            frame=1,
        )


def import_labelled_arrays(
    project: Project,
    images: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    *,
    patient_ids: list[str] | None = None,
    splits: list[str] | None = None,
    user: Any = None,
    source: str = "arrays",
    progress: Progress | None = None,
) -> int:
    """Import N labelled grey-scale images into `project`; returns how many were imported.

    Raises DatasetError before writing anything when the arrays do not fit together.
    `source` names the dataset; it enters the derived UIDs so two datasets never collide.
    """
    labels = np.asarray(labels).reshape(-1) if np.asarray(labels).ndim == 2 else np.asarray(labels)
    _validate(images, labels, class_names, patient_ids, splits)
    ensure_label_classes(project, class_names)
    for index in range(images.shape[0]):
        image = images[index]
        patient = patient_ids[index] if patient_ids is not None else f"{source}-{index}"
        digest = hashlib.sha256(image.tobytes()).hexdigest()
        data = secondary_capture(
            image,
            patient_id=patient,
            study_uid=_uid(project.pk, source, patient, "study"),
            series_uid=_uid(project.pk, source, patient, "series"),
            sop_uid=_uid(project.pk, source, index, digest),
            number=index + 1,
        )
        outcome = ingest_bytes(data, source_name=f"{source}[{index}]", user=user, project=project)
        if outcome.instance is None:
            raise DatasetError(f"image {index} was {outcome.status}: {outcome.reason}")
        with transaction.atomic():
            item = Item.objects.filter(project=project, instance=outcome.instance).order_by("frame")
            for target in item[:1]:
                _record_label(
                    project,
                    target,
                    class_names[int(labels[index])],
                    splits[index] if splits is not None else "",
                    user,
                )
        if progress:
            progress(1)
    return int(images.shape[0])


def import_npz(
    project: Project,
    path: str | Path,
    *,
    class_names: list[str] | None = None,
    limit: int | None = None,
    user: Any = None,
    progress: Progress | None = None,
) -> int:
    """Import a MedMNIST-format .npz (train/val/test _images and _labels); the official split
    of each image is recorded on its Item. `limit` keeps the first N images of each split."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} is not a readable .npz file: {exc}") from exc
    with archive:
        present = [s for s in SPLITS if f"{s}_images" in archive and f"{s}_labels" in archive]
        if not present:
            raise DatasetError(f"{path} has no MedMNIST keys (train_images/train_labels ...)")
        parts = {
            split: (
                archive[f"{split}_images"][:limit],
                np.asarray(archive[f"{split}_labels"][:limit]).reshape(-1).astype(np.int64),
            )
            for split in present
        }
    if class_names is None:
        class_names = list(project.label_classes.order_by("index").values_list("name", flat=True))
        highest = max(int(labels.max()) for _, labels in parts.values() if len(labels))
        if len(class_names) <= highest:
            class_names = [str(i) for i in range(highest + 1)]
    total = 0
    for split, (images, labels) in parts.items():
        total += import_labelled_arrays(
            project,
            images,
            labels,
            class_names,
            patient_ids=[f"{split}-{i}" for i in range(len(images))],
            splits=[split] * len(images),
            user=user,
            source=f"npz:{path.name}",
            progress=progress,
        )
    return total


def _load_grey(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.mode in {"I;16", "I;16B", "I;16L"}:
                return np.asarray(img, dtype=np.uint16)
            if img.mode == "I":
                return np.clip(np.asarray(img), 0, 65535).astype(np.uint16)
            return np.asarray(img.convert("L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f"{path} is not a readable image: {exc}") from exc


def _class_folders(root: Path) -> list[tuple[str, Path, str]]:
    """(split, folder, class) triples: root/<class>/ or root/<split>/<class>/."""
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if dirs and all(d.name in SPLITS for d in dirs):
        return [
            (split.name, c, c.name)
            for split in dirs
            for c in sorted(p for p in split.iterdir() if p.is_dir())
        ]
    return [("", d, d.name) for d in dirs]


def import_image_folder(
    project: Project,
    path: str | Path,
    *,
    limit: int | None = None,
    user: Any = None,
    progress: Progress | None = None,
) -> int:
    """Import a folder per class of PNG/JPEG images (optionally under train/val/test folders).

    Colour images are converted to grey scale; 16-bit PNGs stay 16-bit. `limit` keeps the first
    N images of each class folder. The patient of an image is its file name without suffix.
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    folders = _class_folders(root)
    class_names = sorted({name for _, _, name in folders})
    if not class_names:
        raise DatasetError(f"{root} has no class folders")
    total = 0
    for split, folder, name in folders:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
        for file in files:
            image = _load_grey(file)
            total += import_labelled_arrays(
                project,
                image[np.newaxis],
                np.array([class_names.index(name)]),
                class_names,
                patient_ids=[file.stem],
                splits=[split] if split else None,
                user=user,
                source=f"folder:{file.relative_to(root)}",
                progress=progress,
            )
    return total
