"""`manage.py import_dicom` and `manage.py import_dataset` from the command line."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotations.models import Annotation, Item
from studies.models import Instance
from tests.cast import make_project
from tests.studies.ingest_support import (
    store_dir,  # noqa: F401 (fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _ct(shared_data: Path) -> Path:
    return shared_data / "dicom" / "ct_head_phantom_philips_ingenuity"


def test_import_dicom_ingests_a_folder_and_prints_a_summary_with_reasons(shared_data) -> None:
    output = _run("import_dicom", str(_ct(shared_data)))

    assert "stored=28 duplicate=0 conflict=0 rejected=1 skipped=0" in output
    assert "README.md: not a DICOM Part 10 file" in output
    assert Instance.objects.count() == 28


def test_an_interrupted_import_continues_where_it_stopped(shared_data) -> None:
    files = sorted(_ct(shared_data).glob("*.dcm"))
    _run("import_dicom", *map(str, files[:10]))  # the run that was interrupted after 10 files

    output = _run("import_dicom", str(_ct(shared_data)))

    assert "stored=18 duplicate=0 conflict=0 rejected=1 skipped=10" in output
    assert Instance.objects.count() == 28


def test_rerunning_into_a_deidentifying_project_skips_what_it_already_holds(shared_data) -> None:
    project = make_project(deidentify=True, classes=())
    _run("import_dicom", str(_ct(shared_data)), "--project", str(project.pk))

    output = _run("import_dicom", str(_ct(shared_data)), "--project", str(project.pk))

    assert "stored=0 duplicate=0 conflict=0 rejected=1 skipped=28" in output
    assert Item.objects.filter(project=project).count() == 28


def test_an_unknown_project_is_a_clear_error(shared_data) -> None:
    with pytest.raises(CommandError, match="no project with id 999"):
        _run("import_dicom", str(_ct(shared_data)), "--project", "999")


def test_import_dataset_loads_a_medmnist_npz_subset(shared_data) -> None:
    project = make_project(deidentify=False, classes=())
    npz = shared_data / "classification" / "pneumoniamnist" / "pneumoniamnist.npz"

    output = _run(
        "import_dataset",
        str(npz),
        "--project",
        str(project.pk),
        "--limit",
        "3",
        "--classes",
        "normal,pneumonia",
    )

    assert "imported=9" in output and "items_in_project=9" in output
    assert Annotation.objects.filter(item__project=project, source="imported").count() == 9


def test_import_dataset_loads_a_class_per_folder_tree(tmp_path) -> None:
    from PIL import Image

    for name in ("normal", "nodule"):
        (tmp_path / name).mkdir()
        Image.new("L", (16, 16), color=40 if name == "normal" else 200).save(
            tmp_path / name / "a.png"
        )
    project = make_project(deidentify=False, classes=())

    output = _run("import_dataset", str(tmp_path), "--project", str(project.pk))

    assert "imported=2" in output
    labels = sorted(
        a.payload["labels"][0] for a in Annotation.objects.filter(item__project=project)
    )
    assert labels == ["nodule", "normal"]
