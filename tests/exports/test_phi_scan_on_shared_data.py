"""Every file of a default (de-identified) export of the real shared DICOM data is free of PHI.

The project stores the files as received (de-identification off at ingest), so what is proven
here is the export's own de-identification: find_phi on every exported DICOM object, and no
original identifying value (patient name/ID, dates, institution, UIDs) in any manifest, JSON,
DICOM header, NIfTI header or PNG chunk.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pydicom
import pytest

from annotations.models import Item
from studies.deid import find_phi
from tests.cast import make_project
from tests.exports import factories as f
from tests.exports.conftest import ALL_SEGMENTATION_FORMATS

IDENTIFYING = (
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "PatientBirthDate",
    "StudyDate",
    "SeriesDate",
    "AcquisitionDate",
    "ContentDate",
    "InstitutionName",
    "InstitutionAddress",
    "ReferringPhysicianName",
    "AccessionNumber",
    "StationName",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "FrameOfReferenceUID",
)


def shared_files(shared_data: Path, *, everything: bool) -> list[Path]:
    files = sorted((shared_data / "dicom" / "single_files").glob("*.dcm"))
    series = [
        sorted((shared_data / "dicom" / name).glob("*.dcm"))
        for name in ("ct_head_phantom_philips_ingenuity", "mr_brain_t1_mprage_philips_ingenia")
    ]
    for slices in series:
        files += slices if everything else slices[:3]
    return files


def original_values(paths: list[Path]) -> set[str]:
    values: set[str] = set()
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        for keyword in IDENTIFYING:
            raw = ds.get(keyword)
            for value in raw if isinstance(raw, pydicom.multival.MultiValue) else [raw]:
                text = str(value or "").strip()
                if len(text) >= 4:  # shorter strings match by chance (e.g. "OB", "HEAD" is 4)
                    values.add(text)
    return values


def png_chunk_types(path: Path) -> list[bytes]:
    data = path.read_bytes()
    position, types = 8, []
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        types.append(kind)
        position += 12 + length
    return types


def leaks(originals: set[str], texts: list[str]) -> list[str]:
    """Original values found among `texts`: as a whole value (or token), or, for values long
    enough not to occur by chance (UIDs, names), anywhere inside one."""
    return sorted({v for v in originals for t in texts if t == v or (len(v) >= 10 and v in t)})


def tokens(text: str) -> list[str]:
    return [t for t in re.split(r'[\s,:;|"\[\]{}]+', text) if t]


def dicom_texts(ds: pydicom.Dataset) -> list[str]:
    texts = []
    for element in ds.iterall():
        if element.VR not in ("SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN") and element.value:
            texts.append(str(element.value))
    return texts


@pytest.mark.parametrize(
    "everything", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["sample", "all"]
)
def test_a_default_export_of_the_shared_data_contains_no_phi(
    db, shared_data, export, everything
) -> None:
    project = make_project(
        name="Shared data", task_type="segmentation", classes=["region"], deidentify=False
    )
    paths = shared_files(shared_data, everything=everything)
    f.ingest_files(project, paths)
    for item in f.items_of(project):
        if item.instance.sop_class_uid == "1.2.840.10008.5.1.4.1.1.66.4":
            continue  # the SEG file among the shared data is not an image to label
        rows, cols = item.instance.rows, item.instance.columns
        points = [[cols * 0.3, rows * 0.3], [cols * 0.6, rows * 0.35], [cols * 0.45, rows * 0.7]]
        f.imported(item, "polygon", {"label": "region", "points": points}, frame=1)
    root = export(project, ALL_SEGMENTATION_FORMATS)
    originals = original_values(paths)
    assert any(v.startswith("CompressedSamples") for v in originals)  # the scan has teeth
    counts = {"dcm": 0, "text": 0, "nii": 0, "png": 0}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".dcm":
            ds = pydicom.dcmread(path)
            assert find_phi(ds) == [], path
            assert leaks(originals, dicom_texts(ds)) == [], path
            counts["dcm"] += 1
        elif path.suffix in (".csv", ".json"):
            text = path.read_text()
            assert leaks(originals, [text, *tokens(text)]) == [], path
            counts["text"] += 1
        elif path.name.endswith(".nii.gz"):
            import gzip

            with gzip.open(path) as fh:
                header = fh.read(352).decode("latin-1")
            assert leaks(originals, [header, *tokens(header)]) == [], path
            counts["nii"] += 1
        elif path.suffix == ".png":
            chunks = png_chunk_types(path)
            assert not {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"} & set(chunks), path
            counts["png"] += 1
    assert all(counts.values()), counts
    info = json.loads((root / "dataset_info.json").read_text())
    # Ultrasound (burned-in text possible) stays out of every image format, and says so.
    withheld = set(info["report"]["skipped"]["dicom_seg"]["burned-in annotation possible"])
    us_items = {i.pk for i in Item.objects.filter(project=project, instance__series__modality="US")}
    assert us_items and us_items <= withheld
