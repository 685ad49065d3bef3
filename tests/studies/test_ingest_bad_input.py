"""The bad-input corpus: each file is rejected with its reason, and the database and the
storage folder are exactly as they were before."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from django.db import connection
from pydicom.encaps import encapsulate

from studies.ingest import ingest_bytes
from tests.cast import make_project
from tests.studies.ingest_support import (
    pydicom_file,
    rewrite,
    row_counts,
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]


def _with_syntax(path: Path, syntax: str) -> bytes:
    """The file's pixels wrapped as one fragment under another (encapsulated) syntax."""
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = syntax
    ds.PixelData = encapsulate([ds.PixelData])
    ds["PixelData"].VR = "OB"
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


CT = pydicom_file("CT_small.dcm")
RLE = pydicom_file("MR_small_RLE.dcm")

CORPUS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "a text file": (lambda: b"patient notes\n" * 40, "not_dicom", "no 'DICM' prefix"),
    "an empty file": (lambda: b"", "not_dicom", "no 'DICM' prefix"),
    "a PNG image": (
        lambda: b"\x89PNG\r\n\x1a\n" + bytes(300),
        "not_dicom",
        "no 'DICM' prefix",
    ),
    "a file cut inside its header": (lambda: CT.read_bytes()[:500], "truncated", "truncated"),
    "a file cut inside native pixel data": (
        lambda: CT.read_bytes()[:20000],
        "truncated",
        "truncated",
    ),
    "a file cut inside encapsulated pixel data": (
        lambda: RLE.read_bytes()[:-200],
        "truncated",
        "truncated",
    ),
    "a file without pixel data (RT plan)": (
        lambda: pydicom_file("rtplan.dcm").read_bytes(),
        "no_pixel_data",
        "no Pixel Data",
    ),
    "a structured report": (
        lambda: pydicom_file("test-SR.dcm").read_bytes(),
        "no_pixel_data",
        "no Pixel Data",
    ),
    "an MPEG-2 video (no decoder here)": (
        lambda: _with_syntax(CT, "1.2.840.10008.1.2.4.100"),
        "unsupported_transfer_syntax",
        "unsupported transfer syntax 1.2.840.10008.1.2.4.100",
    ),
    "a 12-bit JPEG Extended file pylibjpeg cannot decode": (
        lambda: pydicom_file("JPEG-lossy.dcm").read_bytes(),
        "undecodable",
        "cannot be decoded",
    ),
    "a file without SOP Instance UID": (
        lambda: rewrite(CT, SOPInstanceUID=None),
        "missing_attribute",
        "SOPInstanceUID is missing",
    ),
    "a file with a malformed Study Instance UID": (
        lambda: rewrite(CT, StudyInstanceUID="1.2.abc.3"),
        "invalid_uid",
        "not a valid UID",
    ),
}


@pytest.mark.parametrize("case", list(CORPUS))
def test_bad_input_is_rejected_with_its_reason_and_leaves_nothing_behind(
    case: str, make_user
) -> None:
    make_data, code, reason = CORPUS[case]
    project = make_project(deidentify=True, classes=())
    before = row_counts()

    outcome = ingest_bytes(make_data(), source_name=case, project=project)

    assert (outcome.status, outcome.code) == ("rejected", code), outcome.reason
    assert reason in outcome.reason
    assert outcome.instance is None
    assert row_counts() == before
    assert stored_files() == []


def test_a_file_over_the_configured_size_is_refused_before_parsing(settings) -> None:
    settings.DICOM_MAX_UPLOAD_BYTES = 10_000
    before = row_counts()

    outcome = ingest_bytes(CT.read_bytes())

    assert outcome.code == "too_large"
    assert "over the 10000 byte limit" in outcome.reason
    assert row_counts() == before
    assert stored_files() == []


def _fail_instance_inserts() -> None:
    # A real database failure in the middle of indexing (after patient/study/series rows and
    # the stored bytes were written), raised by the database itself.
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TRIGGER refuse_instances BEFORE INSERT ON studies_instance "
                "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
            )
        else:
            cursor.execute(
                "CREATE FUNCTION refuse_instances() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'disk quota exceeded'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_instances BEFORE INSERT ON studies_instance "
                "FOR EACH ROW EXECUTE FUNCTION refuse_instances()"
            )


def test_when_indexing_fails_the_stored_bytes_and_rows_are_removed() -> None:
    project = make_project(deidentify=True, classes=())
    _fail_instance_inserts()
    before = row_counts()

    with pytest.raises(Exception, match="disk quota exceeded"):
        ingest_bytes(CT.read_bytes(), project=project)

    assert row_counts() == before  # no patient, study, series or de-identification map rows
    assert stored_files() == []
