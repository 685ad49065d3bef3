"""Real labelled projects for the export tests, and the cast (tests/cast.py) playing on them."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from annotations.models import Project
from tests.cast import Cast, make_project
from tests.exports import factories as f

CT_FOLDER = "dicom/ct_head_phantom_philips_ingenuity"
MR_FOLDER = "dicom/mr_brain_t1_mprage_philips_ingenia"


@pytest.fixture
def cast(cast: Cast, classification_project: Project) -> Cast:
    """alice administers the classification project, erin may export it, rita reviews without
    the export right, anna annotates; otto is in no project."""
    return cast.on(classification_project, "alice", "erin", "rita", "anna")


@pytest.fixture
def classification_project(db: None) -> Project:
    """12 small chest images of 6 patients (2 each), labelled "normal"/"pneumonia" on import."""
    project = make_project(
        name="Chest films", task_type="classification", classes=["normal", "pneumonia"]
    )
    rng = np.random.default_rng(7)
    for index in range(12):
        pixels = rng.integers(0, 255, size=(20, 24), dtype=np.uint8)
        data = f.secondary_capture(pixels, f"PAT-{index // 2}", study_date="20200102")
        outcome = f.ingest_bytes(data, source_name=f"img{index}", project=project)
        assert outcome.status == "stored", outcome.reason
    for index, item in enumerate(f.items_of(project)):
        f.imported(item, "class", {"labels": ["pneumonia" if index % 3 == 0 else "normal"]})
    return project


@pytest.fixture
def segmentation_project(db: None, shared_data: Path) -> Project:
    """Real CT and MR slices, as stored (de-identification only at export), with masks and
    polygons; one item read by two doctors."""
    project = make_project(
        name="Head CT lesions",
        task_type="segmentation",
        classes=["brain", "lesion"],
        deidentify=False,
    )
    ct = sorted((shared_data / CT_FOLDER).glob("*.dcm"))[:3]
    mr = sorted((shared_data / MR_FOLDER).glob("*.dcm"))[80:82]
    instances = f.ingest_files(project, ct + mr)
    assert len(instances) == 5
    for index, item in enumerate(f.items_of(project)):
        rows, cols = item.instance.rows, item.instance.columns
        brain = f.disc(rows, cols, (rows / 2, cols / 2), rows / 4 + index)
        f.imported(
            item, "mask", {"label": "brain", "size": [rows, cols], "counts": f.row_major_rle(brain)}
        )
        x, y = cols / 2 + 3 * index, rows / 2
        f.imported(
            item,
            "polygon",
            {"label": "lesion", "points": [[x, y], [x + 20, y], [x + 20, y + 12], [x, y + 15]]},
        )
    return project


def extract(archive: Path, into: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None
        zf.extractall(into)
        roots = {name.split("/")[0] for name in zf.namelist()}
    assert len(roots) == 1, roots
    return into / roots.pop()


ALL_SEGMENTATION_FORMATS = [
    "csv",
    "json",
    "imagefolder",
    "coco",
    "nifti",
    "nnunet",
    "dicom_seg",
    "monai",
]


@pytest.fixture
def export(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Freeze the project's ground truth, write the archive, and return the extracted root."""
    from annotations.exports.runner import ExportOptions, write_archive
    from annotations.exports.snapshots import freeze_snapshot

    def run(project: Project, formats: list[str], **options: Any) -> Path:
        snapshot = freeze_snapshot(project)
        name = f"export-{len(list(tmp_path.glob('*.zip')))}"
        result = write_archive(
            snapshot, formats, tmp_path / f"{name}.zip", options=ExportOptions(**options)
        )
        return extract(result.path, tmp_path / name)

    return run
