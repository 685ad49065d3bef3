"""Every real file in the shared corpus ingests, and each stored frame decodes to exactly what
pydicom decodes from the original file (native, RLE, JPEG-LS, JPEG 2000, multi-frame)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studies.frames import decode_frame, read_frame
from studies.ingest import ingest_bytes
from studies.models import Instance
from tests.studies.ingest_support import (
    decode_standalone,
    expected_frames,
    pydicom_file,
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]


def _dicom_files(shared_data: Path) -> list[Path]:
    return sorted(p for p in (shared_data / "dicom").rglob("*") if p.is_file())


def test_every_dicom_file_in_the_shared_corpus_is_stored_and_only_readmes_are_rejected(
    shared_data: Path,
) -> None:
    outcomes = {
        p: ingest_bytes(p.read_bytes(), source_name=p.name) for p in _dicom_files(shared_data)
    }

    rejected = {p.name: o.reason for p, o in outcomes.items() if o.status == "rejected"}
    assert set(rejected) == {"README.md"}, rejected
    assert all("no 'DICM' prefix" in reason for reason in rejected.values())
    stored = [o for o in outcomes.values() if o.status == "stored"]
    assert len(stored) == 28 + 170 + 10
    assert Instance.objects.count() == len(stored)
    assert len(stored_files()) == len(stored)


def test_each_frame_of_each_single_file_decodes_to_pydicoms_decode_of_the_original(
    shared_data: Path,
) -> None:
    checked = {}
    for path in sorted((shared_data / "dicom" / "single_files").glob("*.dcm")):
        instance = ingest_bytes(path.read_bytes(), source_name=path.name).instance
        assert instance is not None, path.name
        expected = expected_frames(path)
        assert instance.number_of_frames == len(expected)
        for number, want in enumerate(expected, start=1):
            data, syntax = read_frame(instance, number)
            assert np.array_equal(decode_standalone(data, syntax, path), want), (path.name, number)
            assert np.array_equal(decode_frame(instance, number), want), (path.name, number)
        checked[path.name] = instance.transfer_syntax_uid
    assert set(checked.values()) >= {
        "1.2.840.10008.1.2.1",  # native
        "1.2.840.10008.1.2.5",  # RLE
        "1.2.840.10008.1.2.4.80",  # JPEG-LS
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
        "1.2.840.10008.1.2.4.91",  # JPEG 2000
    }


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",  # signed 16-bit native
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline, YBR_FULL_422 → RGB
        "SC_rgb_rle_2frame.dcm",  # multi-frame colour RLE
        "SC_ybr_full_422_uncompressed.dcm",  # native, subsampled chroma
        "liver_1frame.dcm",  # 1-bit packed SEG frame
        "MR_small_bigendian.dcm",
        "image_dfl.dcm",  # deflated: no offsets, read through pydicom instead
    ],
)
def test_pydicom_test_files_frames_round_trip_through_storage(name: str) -> None:
    path = pydicom_file(name)
    instance = ingest_bytes(path.read_bytes(), source_name=name).instance
    assert instance is not None
    for number, want in enumerate(expected_frames(path), start=1):
        assert np.array_equal(decode_frame(instance, number), want), (name, number)


def test_a_jpeg2000_frame_split_over_many_fragments_is_joined_from_its_byte_ranges(
    shared_data: Path,
) -> None:
    path = shared_data / "dicom" / "single_files" / "cr_chest_philips_j2k_lossy.dcm"
    instance = ingest_bytes(path.read_bytes()).instance
    assert instance is not None

    (entry,) = instance.frame_offsets
    assert len(entry) // 2 > 1  # several [offset, length] pairs for one frame
    data, _ = read_frame(instance, 1)
    assert len(data) == sum(entry[1::2])
    assert data[:4] == b"\xff\x4f\xff\x51"  # a J2K codestream starts with SOC + SIZ


def test_native_frame_offsets_cover_exactly_one_frame_each(shared_data: Path) -> None:
    path = shared_data / "dicom" / "single_files" / "seg_liver_qiicr.dcm"
    instance = ingest_bytes(path.read_bytes()).instance
    assert instance is not None

    frame_bytes = 512 * 512 // 8  # 1 bit per pixel
    assert [entry[1] for entry in instance.frame_offsets] == [frame_bytes] * 3
    starts = [entry[0] for entry in instance.frame_offsets]
    assert starts == [starts[0] + i * frame_bytes for i in range(3)]
