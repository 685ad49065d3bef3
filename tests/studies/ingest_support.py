"""Fixtures and helpers for the ingest, storage, de-identification and dataset tests.

Every test gets its own empty storage folder, so "nothing was stored" is a file listing.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate

from studies.models import DeidentificationMap, Instance, Patient, Series, Study


@pytest.fixture
def store_dir(settings: Any, tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "store"
    settings.DICOM_STORAGE_DIR = root
    settings.DICOM_STORAGE_BACKEND = "filesystem"
    yield root


def stored_files(root: Path | None = None) -> list[Path]:
    """Files in the storage folder (the current test's, by default)."""
    from django.conf import settings

    root = Path(settings.DICOM_STORAGE_DIR) if root is None else root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def row_counts() -> dict[str, int]:
    from annotations.models import Annotation, Item

    return {
        "patients": Patient.objects.count(),
        "studies": Study.objects.count(),
        "series": Series.objects.count(),
        "instances": Instance.objects.count(),
        "items": Item.objects.count(),
        "annotations": Annotation.objects.count(),
        "deid_map": DeidentificationMap.objects.count(),
    }


def pydicom_file(name: str) -> Path:
    return Path(pydicom.data.get_testdata_file(name))


def expected_frames(path: Path) -> list[np.ndarray]:
    """pydicom's own decode of the original file, one array per frame."""
    ds = pydicom.dcmread(path)
    array = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return [array[i] for i in range(frames)] if frames > 1 else [array]


def decode_standalone(frame: bytes, syntax: str, original: Path) -> np.ndarray:
    """Decode one frame's bytes with pydicom, independently of studies.frames: a fresh
    single-frame dataset carrying the original's Image Pixel module and only these bytes."""
    source = pydicom.dcmread(original, stop_before_pixels=True)
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    for keyword in (
        "Rows",
        "Columns",
        "SamplesPerPixel",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "PhotometricInterpretation",
        "PlanarConfiguration",
    ):
        if keyword in source:
            setattr(ds, keyword, source[keyword].value)
    ds.NumberOfFrames = 1
    uid = pydicom.uid.UID(syntax)
    ds.PixelData = encapsulate([frame]) if uid.is_encapsulated else frame
    if "PixelData" in ds:
        ds["PixelData"].VR = "OB" if uid.is_encapsulated or ds.BitsAllocated <= 8 else "OW"
    return ds.pixel_array


def rewrite(path: Path, **changes: Any) -> bytes:
    """The file at `path` with some attributes changed, written back as Part 10 bytes."""
    ds = pydicom.dcmread(path)
    for keyword, value in changes.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    if changes.get("SOPInstanceUID"):
        ds.file_meta.MediaStorageSOPInstanceUID = changes["SOPInstanceUID"]
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
