"""`import_dicom --workers N`: files parsed and checked in N processes give the same index rows
as one process, bad files keep their reasons, and progress reaches stderr (decision 0190)."""

from __future__ import annotations

import multiprocessing.util
import os
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from studies.models import Instance, Patient, Series, Study
from tests.studies.ingest_support import (
    store_dir,  # noqa: F401 (fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]


@pytest.fixture
def folder(shared_data: Path, tmp_path: Path) -> Path:
    """Twelve CT slices, a text file and a slice cut in half, in nested folders."""
    source = sorted((shared_data / "dicom" / "ct_head_phantom_philips_ingenuity").glob("*.dcm"))
    root = tmp_path / "import"
    (root / "a" / "b").mkdir(parents=True)
    for index, path in enumerate(source[:12]):
        shutil.copy(path, root / ("a" if index % 2 else "a/b") / path.name)
    (root / "notes.txt").write_text("not a DICOM file at all, but long enough " * 10)
    data = source[12].read_bytes()
    (root / "a" / "cut.dcm").write_bytes(data[: len(data) // 2])
    return root


def import_folder(folder: Path, workers: int) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(
        "import_dicom", str(folder), "--workers", str(workers), "--progress-every", "0.1",
        stdout=out, stderr=err,
    )  # fmt: skip
    return out.getvalue(), err.getvalue()


def content(model: type, *skip: str) -> list[str]:
    return [
        f.attname
        for f in model._meta.concrete_fields  # type: ignore[attr-defined]
        if f.attname not in ("id", "created_at", *skip)
    ]


def index_rows() -> dict[str, list[tuple[object, ...]]]:
    """Every index row's content, foreign keys as the parent's UID, without ids and times."""
    rows = {
        "patients": Patient.objects.values_list(*content(Patient)),
        "studies": Study.objects.values_list("patient__patient_id", *content(Study, "patient_id")),
        "series": Series.objects.values_list(
            "study__study_instance_uid", *content(Series, "study_id")
        ),
        "instances": Instance.objects.values_list(
            "series__series_instance_uid", *content(Instance, "series_id")
        ),
    }
    return {table: sorted(query, key=repr) for table, query in rows.items()}


def forget_index() -> None:
    Instance.objects.all().delete()
    Series.objects.all().delete()
    Study.objects.all().delete()
    Patient.objects.all().delete()


def test_two_processes_index_the_same_rows_as_one_and_report_the_bad_files(folder) -> None:  # type: ignore[no-untyped-def]
    one_out, _ = import_folder(folder, workers=1)
    one = index_rows()
    forget_index()

    two_out, two_err = import_folder(folder, workers=2)

    assert index_rows() == one
    assert len(one["instances"]) == 12
    for output in (one_out, two_out):
        assert "stored=12 duplicate=0 conflict=0 rejected=2 skipped=0" in output
        assert "notes.txt: not a DICOM Part 10 file" in output
        assert "cut.dcm: file is truncated" in output
    final = two_err.strip().splitlines()[-1]
    assert final.startswith("import_dicom: 14/14 files (100%)") and "files/s" in final
    assert "rejected: " in final and "x not a DICOM Part 10 file" in final


def test_a_rerun_with_workers_skips_what_is_stored(folder) -> None:  # type: ignore[no-untyped-def]
    import_folder(folder, workers=2)

    output, _ = import_folder(folder, workers=2)

    assert "stored=0 duplicate=0 conflict=0 rejected=2 skipped=12" in output
    assert Instance.objects.count() == 12


class _Marker:
    """A registrant for multiprocessing's after-fork hooks (held weakly: keep a reference)."""

    def __init__(self, path: Path) -> None:
        self.path = path


def _touch(marker: _Marker) -> None:
    marker.path.write_text(str(os.getpid()))


def test_the_parents_after_fork_hooks_never_run_in_a_check_process(folder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """kombu registers such a hook for Celery's connection pool: in a forked child it closes the
    parent's Redis channel by reading the reply of a BRPOP the parent (a process consuming
    tasks, like the tests' in-process worker) is waiting on; the parent reads it first and the
    child waits for ever, and the import with it (seen in the suite). Check processes are fresh
    interpreters: no hook of the parent runs there, and no socket of the parent is shared."""
    marker = _Marker(tmp_path / "after-fork-ran")
    multiprocessing.util.register_after_fork(marker, _touch)

    output, _ = import_folder(folder, workers=2)

    assert "stored=12" in output
    assert not marker.path.exists(), f"an after-fork hook ran in process {marker.path.read_text()}"
