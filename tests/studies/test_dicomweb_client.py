"""dicomweb-client, a DICOMweb client nobody here wrote, stores every shared DICOM file through
STOW-RS on a live server, then searches, and retrieves metadata, frames (as stored and
transcoded), whole instances and rendered images; every frame it gets back decodes to exactly
what pydicom decodes from the original file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRLittleEndian
from rest_framework.authtoken.models import Token

EXPLICIT_LE = "1.2.840.10008.1.2.1"


def _files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "dicom").rglob("*.dcm"))


def _original_frames(path: Path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    array = ds.pixel_array
    return array if int(ds.get("NumberOfFrames", 1) or 1) > 1 else array[np.newaxis]


def _client_dataset(metadata: dict, frame: bytes, syntax: str) -> pydicom.Dataset:
    """A dataset made only of what the server sent: its metadata and one frame's bytes."""
    attributes = {k: v for k, v in metadata.items() if "BulkDataURI" not in v}
    ds = pydicom.Dataset.from_json(attributes)
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.NumberOfFrames = 1
    if UID(syntax).is_encapsulated:
        ds.add_new(0x7FE00010, "OB", encapsulate([bytes(frame)]))
    else:
        ds.add_new(0x7FE00010, "OW" if ds.BitsAllocated > 8 else "OB", bytes(frame))
    return ds


def _decoded_by_pydicom(metadata: dict, frame: bytes, syntax: str) -> np.ndarray:
    return _client_dataset(metadata, frame, syntax).pixel_array


@pytest.fixture
def client(live_server, make_user, settings) -> DICOMwebClient:  # type: ignore[no-untyped-def]
    # dicomweb-client sends `Host` without the port, so links are built from the configured base
    # (the deployment setting that exists for exactly this; notes/stack-and-orthanc.md P10).
    settings.DICOMWEB_BASE_URL = live_server.url
    admin = make_user("admin", superuser=True)
    token = Token.objects.create(user=admin)
    return DICOMwebClient(
        url=f"{live_server.url}/dicomweb", headers={"Authorization": f"Token {token.key}"}
    )


@pytest.fixture
def stored(client: DICOMwebClient, shared_data: Path) -> dict[str, Path]:
    """Every shared file stored through STOW-RS, by SOP Instance UID."""
    by_uid = {}
    for path in _files(shared_data):
        ds = pydicom.dcmread(path)
        response = client.store_instances([ds])
        referenced = response.ReferencedSOPSequence
        assert [item.ReferencedSOPInstanceUID for item in referenced] == [ds.SOPInstanceUID]
        assert "FailedSOPSequence" not in response
        by_uid[ds.SOPInstanceUID] = path
    return by_uid


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_every_shared_file_round_trips_through_dicomweb_client(client, stored, shared_data):
    assert len(stored) == len(_files(shared_data)) >= 200

    studies = client.search_for_studies()
    study_uids = {s["0020000D"]["Value"][0] for s in studies}
    assert study_uids == {
        pydicom.dcmread(p, stop_before_pixels=True).StudyInstanceUID for p in stored.values()
    }

    instances = []
    for study_uid in study_uids:
        for series in client.search_for_series(study_uid):
            series_uid = series["0020000E"]["Value"][0]
            found = client.search_for_instances(study_uid, series_uid)
            assert len(found) == series["00201209"]["Value"][0]
            instances += [(study_uid, series_uid, i["00080018"]["Value"][0]) for i in found]
    assert sorted(sop for _, _, sop in instances) == sorted(stored)

    for study_uid, series_uid, sop in instances:
        original = _original_frames(stored[sop])
        metadata = client.retrieve_instance_metadata(study_uid, series_uid, sop)
        native = metadata["00083002"]["Value"][0]
        assert metadata["7FE00010"]["BulkDataURI"].startswith(client.base_url)
        numbers = list(range(1, len(original) + 1))
        as_stored = client.retrieve_instance_frames(
            study_uid, series_uid, sop, numbers, media_types=(("application/octet-stream", "*"),)
        )
        for index, frame in enumerate(as_stored):
            np.testing.assert_array_equal(
                _decoded_by_pydicom(metadata, frame, native),
                original[index],
                err_msg=f"{sop} frame {index + 1}",
            )
        uncompressed = client.retrieve_instance_frames(
            study_uid,
            series_uid,
            sop,
            numbers[:1],
            media_types=(("application/octet-stream", EXPLICIT_LE),),
        )
        np.testing.assert_array_equal(
            _decoded_by_pydicom(metadata, uncompressed[0], EXPLICIT_LE),
            original[0],
            err_msg=f"{sop} transcoded",
        )


@pytest.mark.django_db(transaction=True)
def test_compressed_files_come_back_as_stored_transcoded_and_rendered(client, shared_data):
    single = sorted((shared_data / "dicom" / "single_files").glob("*.dcm"))
    for path in single:
        ds = pydicom.dcmread(path)
        client.store_instances([ds])
        st, se, sop = ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID
        original = _original_frames(path)

        metadata = client.retrieve_instance_metadata(st, se, sop)
        assert metadata["00083002"]["Value"] == [ds.file_meta.TransferSyntaxUID]
        (frame,) = client.retrieve_instance_frames(
            st, se, sop, [1], media_types=(("application/octet-stream", "*"),)
        )
        native = ds.file_meta.TransferSyntaxUID
        np.testing.assert_array_equal(_decoded_by_pydicom(metadata, frame, native), original[0])

        (frame,) = client.retrieve_instance_frames(
            st, se, sop, [1], media_types=(("application/octet-stream", EXPLICIT_LE),)
        )
        np.testing.assert_array_equal(
            _decoded_by_pydicom(metadata, frame, EXPLICIT_LE), original[0], err_msg=path.name
        )

        whole = client.retrieve_instance(
            st, se, sop, media_types=(("application/dicom", EXPLICIT_LE),)
        )
        assert whole.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert whole.SOPInstanceUID == sop
        np.testing.assert_array_equal(_original_frames_of(whole), original, err_msg=path.name)

        as_stored = client.retrieve_instance(st, se, sop)  # dicomweb-client asks for "*"
        assert as_stored.file_meta.TransferSyntaxUID == native

        for media_type, image_format in (("image/jpeg", "JPEG"), ("image/png", "PNG")):
            rendered = client.retrieve_instance_rendered(st, se, sop, media_types=(media_type,))
            image = Image.open(io.BytesIO(rendered))
            assert image.format == image_format
            assert image.size == (ds.Columns, ds.Rows)


def _original_frames_of(ds: pydicom.Dataset) -> np.ndarray:
    array = ds.pixel_array
    return array if int(ds.get("NumberOfFrames", 1) or 1) > 1 else array[np.newaxis]


@pytest.mark.django_db(transaction=True)
def test_searches_match_names_dates_modalities_and_paginate(client, shared_data):
    folder = shared_data / "dicom" / "single_files"
    names = [
        "ts_mr_siemens_explicit_le.dcm",
        "cr_chest_philips_j2k_lossy.dcm",
        "cr_leg_fuji_j2k_lossless.dcm",
    ]
    for name in names:
        client.store_instances([pydicom.dcmread(folder / name)])
    assert len(client.search_for_studies()) == 3

    cr = client.search_for_studies(search_filters={"ModalitiesInStudy": "CR"})
    assert [s["00080061"]["Value"] for s in cr] == [["CR"], ["CR"]]
    mr = client.search_for_studies(search_filters={"ModalitiesInStudy": "MR,CT"})
    assert [s["00080061"]["Value"] for s in mr] == [["MR"]]

    name = cr[0]["00100010"]["Value"][0]["Alphabetic"]
    by_name = client.search_for_studies(search_filters={"PatientName": name[:3].lower() + "*"})
    assert cr[0]["0020000D"] in [s["0020000D"] for s in by_name]
    date = cr[0]["00080020"]["Value"][0]
    assert cr[0] in client.search_for_studies(search_filters={"StudyDate": f"{date}-{date}"})
    assert client.search_for_studies(search_filters={"StudyDate": "-19000101"}) == []

    first = client.search_for_instances(limit=1)
    second = client.search_for_instances(limit=1, offset=1)
    assert len(first) == len(second) == 1 and first != second
    assert len(client.search_for_instances(get_remaining=True)) == 3
