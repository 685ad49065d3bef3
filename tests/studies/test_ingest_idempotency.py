"""Ingest is idempotent on SOP Instance UID: the same bytes again are a duplicate, other bytes
under a known UID are a conflict and the stored object stays as it was."""

from __future__ import annotations

import pytest

from annotations.models import Item
from studies.ingest import ingest_bytes
from studies.models import Instance
from studies.storage import get_store
from tests.cast import make_project
from tests.studies.ingest_support import (
    pydicom_file,
    rewrite,
    row_counts,
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]

CT = pydicom_file("CT_small.dcm")


def test_the_same_file_twice_is_a_duplicate_and_adds_nothing() -> None:
    first = ingest_bytes(CT.read_bytes(), source_name="a")
    counts, files = row_counts(), stored_files()

    again = ingest_bytes(CT.read_bytes(), source_name="b")

    assert (first.status, again.status) == ("stored", "duplicate")
    assert again.instance == first.instance
    assert row_counts() == counts
    assert stored_files() == files


def test_other_content_under_a_known_uid_is_a_conflict_and_the_stored_object_is_kept() -> None:
    first = ingest_bytes(CT.read_bytes())
    assert first.instance is not None
    counts, files = row_counts(), stored_files()

    changed = ingest_bytes(rewrite(CT, SeriesDescription="edited elsewhere"))

    assert changed.status == "conflict"
    assert changed.code == "conflict"
    assert first.instance.sop_instance_uid in changed.reason
    instance = Instance.objects.get()
    assert instance.sha256 == first.instance.sha256
    with get_store().open(instance.storage_key) as fh:
        assert fh.read() == CT.read_bytes()
    assert row_counts() == counts
    assert stored_files() == files


def test_the_stored_object_is_the_received_bytes_under_their_sha256() -> None:
    import hashlib

    instance = ingest_bytes(CT.read_bytes()).instance
    assert instance is not None

    assert instance.sha256 == hashlib.sha256(CT.read_bytes()).hexdigest()
    assert instance.storage_key == instance.sha256 == instance.received_sha256
    assert [p.name for p in stored_files()] == [instance.sha256]


def test_a_duplicate_ingested_into_another_project_is_attached_to_it_too() -> None:
    chest, brain = (
        make_project(name="chest", deidentify=False, classes=()),
        make_project(name="brain", deidentify=False, classes=()),
    )

    first = ingest_bytes(CT.read_bytes(), project=chest)
    second = ingest_bytes(CT.read_bytes(), project=brain)
    third = ingest_bytes(CT.read_bytes(), project=brain)

    assert (first.status, second.status, third.status) == ("stored", "duplicate", "duplicate")
    assert (first.items_created, second.items_created, third.items_created) == (1, 1, 0)
    assert Item.objects.filter(instance=first.instance).count() == 2


def test_a_frame_project_gets_one_item_per_frame_and_a_series_project_one_per_series() -> None:
    frames, series = (
        make_project(name="frames", unit="frame", deidentify=False, classes=()),
        make_project(name="series", unit="series", deidentify=False, classes=()),
    )
    path = pydicom_file("SC_rgb_rle_2frame.dcm")

    outcome = ingest_bytes(path.read_bytes(), project=frames)
    ingest_bytes(path.read_bytes(), project=series)
    assert outcome.instance is not None

    assert sorted(frames.items.values_list("frame", flat=True)) == [1, 2]
    (item,) = series.items.all()
    assert item.series == outcome.instance.series and item.instance is None


def test_items_carry_the_patient_key_used_for_patient_level_splits() -> None:
    project = make_project(deidentify=False, classes=())

    ingest_bytes(CT.read_bytes(), project=project)

    (item,) = project.items.all()
    assert item.patient_key == "1CT1"  # CT_small's Patient ID


def test_objects_without_a_patient_id_get_a_patient_per_study_not_one_shared_patient() -> None:
    from pydicom.uid import generate_uid

    from studies.models import Patient

    def anonymous(name: str, study: str) -> bytes:
        return rewrite(
            CT,
            PatientID="",
            PatientName=name,
            StudyInstanceUID=study,
            SOPInstanceUID=generate_uid(),
        )

    study_a, study_b = generate_uid(), generate_uid()
    ingest_bytes(anonymous("Doe^Jane", study_a))
    ingest_bytes(anonymous("Doe^Jane", study_a))  # a second image of the same study
    ingest_bytes(anonymous("Roe^Richard", study_b))

    assert sorted(Patient.objects.values_list("patient_name", flat=True)) == [
        "Doe^Jane",
        "Roe^Richard",
    ]
