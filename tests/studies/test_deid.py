"""De-identification per the PS3.15 Basic profile at ingest, for projects that ask for it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from studies.deid import DeidContext, deidentify, find_phi, shift_date, shift_datetime
from studies.ingest import ingest_bytes
from studies.models import DeidentificationMap, Instance, Study
from studies.storage import read_dataset
from tests.cast import make_project
from tests.studies.ingest_support import (
    pydicom_file,
    rewrite,
    store_dir,  # noqa: F401 (fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]


def _ct_series(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "dicom" / "ct_head_phantom_philips_ingenuity").glob("*.dcm"))


def _days(a: str, b: str) -> int:
    return (dt.datetime.strptime(a, "%Y%m%d") - dt.datetime.strptime(b, "%Y%m%d")).days


def test_a_deidentified_series_has_no_phi_left_while_the_original_has_plenty(
    shared_data: Path,
) -> None:
    project = make_project(deidentify=True, classes=())
    files = _ct_series(shared_data)

    outcomes = [ingest_bytes(p.read_bytes(), project=project) for p in files]

    assert {o.status for o in outcomes} == {"stored"}
    original_phi = find_phi(pydicom.dcmread(files[0]))
    assert any(entry.startswith("PatientName") for entry in original_phi)
    assert any(entry.startswith("StudyInstanceUID") for entry in original_phi)
    assert any(entry.startswith("InstitutionName") for entry in original_phi)
    assert any("private attribute" in entry for entry in original_phi)
    for outcome in outcomes:
        assert outcome.instance is not None and outcome.instance.deidentified
        ds = read_dataset(outcome.instance)
        assert find_phi(ds) == []
        assert ds.PatientIdentityRemoved == "YES"
        codes = {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
        assert codes == {"113100", "113107"}
        assert not any(element.tag.is_private for element in ds)


def test_uids_are_remapped_consistently_across_the_study_and_kept_in_the_map(
    shared_data: Path,
) -> None:
    project = make_project(deidentify=True, classes=())
    files = _ct_series(shared_data)
    originals = [pydicom.dcmread(p, stop_before_pixels=True) for p in files]

    for path in files:
        ingest_bytes(path.read_bytes(), project=project)

    (study,) = Study.objects.all()
    original_study = originals[0].StudyInstanceUID
    assert study.study_instance_uid != original_study
    uid_map = dict(
        DeidentificationMap.objects.filter(kind="uid").values_list("original", "replacement")
    )
    assert uid_map[original_study] == study.study_instance_uid
    stored = [read_dataset(i) for i in Instance.objects.order_by("instance_number")]
    assert {ds.SeriesInstanceUID for ds in stored} == {uid_map[originals[0].SeriesInstanceUID]}
    assert {ds.FrameOfReferenceUID for ds in stored} == {uid_map[originals[0].FrameOfReferenceUID]}
    assert {ds.SOPInstanceUID for ds in stored} == {uid_map[o.SOPInstanceUID] for o in originals}
    for ds in stored:
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.SOPClassUID == originals[0].SOPClassUID  # class UIDs are not identifying
    assert set(
        DeidentificationMap.objects.filter(kind="uid").values_list("original_study_uid", flat=True)
    ) == {original_study}


def test_dates_are_shifted_by_one_per_patient_offset_recorded_in_the_map(shared_data: Path) -> None:
    project = make_project(deidentify=True, classes=())
    mr = sorted((shared_data / "dicom" / "mr_brain_t1_mprage_philips_ingenia").glob("*.dcm"))[0]
    original = pydicom.dcmread(mr, stop_before_pixels=True)
    later_study = rewrite(
        mr,
        StudyInstanceUID=pydicom.uid.generate_uid(),
        SeriesInstanceUID=pydicom.uid.generate_uid(),
        SOPInstanceUID=pydicom.uid.generate_uid(),
        StudyDate=shift_date(original.StudyDate, 30),
    )

    first = ingest_bytes(mr.read_bytes(), project=project).instance
    second = ingest_bytes(later_study, project=project).instance
    assert first is not None and second is not None

    (patient_row,) = DeidentificationMap.objects.filter(kind="patient")
    assert patient_row.original == original.PatientID
    assert -3650 <= patient_row.date_shift_days <= -365
    a, b = read_dataset(first), read_dataset(second)
    assert a.PatientID == b.PatientID == patient_row.replacement
    assert _days(a.StudyDate, original.StudyDate) == patient_row.date_shift_days
    assert _days(b.StudyDate, a.StudyDate) == 30  # intervals between studies survive
    assert _days(a.SeriesDate, original.SeriesDate) == patient_row.date_shift_days
    assert a.LongitudinalTemporalInformationModified == "MODIFIED"
    assert first.series.study.patient == second.series.study.patient


def test_ingesting_the_same_original_again_is_a_duplicate_not_a_second_copy() -> None:
    project = make_project(deidentify=True, classes=())
    path = pydicom_file("CT_small.dcm")

    first = ingest_bytes(path.read_bytes(), project=project)
    again = ingest_bytes(path.read_bytes(), project=project)

    assert (first.status, again.status) == ("stored", "duplicate")
    assert Instance.objects.count() == 1


def test_ultrasound_without_a_burned_in_statement_is_flagged(shared_data: Path) -> None:
    project = make_project(deidentify=True, classes=())
    us = shared_data / "dicom" / "single_files" / "us_rgb_ge_j2k_lossless.dcm"
    mr = shared_data / "dicom" / "single_files" / "ts_mr_siemens_explicit_le.dcm"

    flagged = ingest_bytes(us.read_bytes(), project=project).instance
    clear = ingest_bytes(mr.read_bytes(), project=project).instance

    assert flagged is not None and flagged.burned_in_annotation == "YES"
    assert clear is not None and clear.burned_in_annotation == ""


def _crafted() -> Dataset:
    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "MRN-42"
    ds.PatientBirthDate = "19700101"
    ds.PatientAge = "055Y"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesInstanceUID = "1.2.3.4.5"
    ds.SOPInstanceUID = "1.2.3.4.5.6"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.StudyDate = "20200315"
    ds.AcquisitionDateTime = "20200315101500.000000+0100"
    ds.InstitutionName = "St Elsewhere"
    ds.OperatorsName = "Smith^John"
    ds.ProtocolName = "Head for Jane Doe"
    ds.Modality = "CT"
    ds.BodyPartExamined = "HEAD"
    other = Dataset()
    other.PatientID = "OLD-MRN"
    ds.OtherPatientIDsSequence = [other]
    reference = Dataset()
    reference.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    reference.ReferencedSOPInstanceUID = "1.2.3.4.5.7"
    reference.add_new(0x00404037, "PN", "Nurse^Ann")  # HumanPerformerName: X in the table
    ds.ReferencedImageSequence = [reference]
    ds.add_new(0x00091010, "LO", "vendor secret")
    ds.add_new(0x50000010, "US", 1)  # curve data group
    ds.add_new(0x60003000, "OW", b"\x00\x01")  # overlay data
    return ds


def test_the_basic_profile_actions_apply_inside_sequences_and_to_repeating_groups() -> None:
    original = _crafted()
    phi = find_phi(original)
    assert "PatientName (0010,0010)" in phi
    assert "OtherPatientIDsSequence (0010,1002)" in phi
    assert "ReferencedImageSequence[0].HumanPerformerName (0040,4037)" in phi
    assert "private attribute (0009,1010)" in phi

    ds = deidentify(_crafted(), context=DeidContext())

    assert find_phi(ds) == []
    shift = DeidentificationMap.objects.get(kind="patient").date_shift_days
    assert ds.StudyDate == shift_date("20200315", shift)
    assert ds.AcquisitionDateTime == shift_date("20200315", shift) + "101500.000000+0100"
    for gone in ("PatientAge", "OtherPatientIDsSequence"):  # X: removed
        assert gone not in ds
    assert not ds.InstitutionName  # X/Z/D: emptied, still present
    assert ds.PatientBirthDate == ""
    assert not ds.OperatorsName  # emptied (Z), still present
    assert ds.ProtocolName == "ANONYMIZED"
    assert (ds.Modality, ds.BodyPartExamined) == ("CT", "HEAD")  # kept (K)
    assert 0x00091010 not in ds and 0x50000010 not in ds and 0x60003000 not in ds
    (reference,) = ds.ReferencedImageSequence
    assert (
        reference.ReferencedSOPInstanceUID
        == DeidentificationMap.objects.get(original="1.2.3.4.5.7").replacement
    )
    assert 0x00404037 not in reference


def test_date_shifting_keeps_precision_and_time_parts() -> None:
    assert shift_date("20200301", -1) == "20200229"
    assert shift_date("202003", -31) == "202001"
    assert shift_date("2020", -400) == "2018"
    assert shift_date("not a date", 5) == ""
    assert shift_datetime("20200301120000+0000", -1) == "20200229120000+0000"


def test_the_deidentification_map_is_readable_by_superusers_only(
    client, make_user, django_user_model
) -> None:
    from django.contrib.auth.models import Permission

    ds = _crafted()
    deidentify(ds, context=DeidContext())
    staff = make_user("staff")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="studies"))
    url = "/admin/studies/deidentificationmap/"

    client.force_login(staff)
    assert client.get(url).status_code == 403
    client.force_login(make_user("root", superuser=True))
    response = client.get(url)
    assert response.status_code == 200
    assert b"MRN-42" in response.content
