"""Zip archives are opened without trusting them: unsafe ones are refused whole, before any
entry is ingested, and a safe one ingests entry by entry."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from studies.archives import ArchiveLimits, UnsafeArchive, check_members
from studies.ingest import ingest_paths
from tests.studies.ingest_support import (
    pydicom_file,
    row_counts,
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]

CT = pydicom_file("CT_small.dcm")
MR = pydicom_file("MR_small.dcm")


def _zip(path: Path, entries: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def _assert_refused(path: Path, reason: str) -> None:
    before = row_counts()
    summary = ingest_paths([path])
    (outcome,) = summary.outcomes
    assert outcome.status == "rejected" and outcome.code == "unsafe_archive"
    assert reason in outcome.reason
    assert row_counts() == before
    assert stored_files() == []


def test_an_entry_that_climbs_out_with_dotdot_refuses_the_whole_archive(tmp_path) -> None:
    path = _zip(
        tmp_path / "a.zip", {"ok/ct.dcm": CT.read_bytes(), "../../evil.dcm": MR.read_bytes()}
    )
    _assert_refused(path, "climbs out of the archive")


def test_an_absolute_entry_path_refuses_the_archive(tmp_path) -> None:
    path = _zip(tmp_path / "a.zip", {"ct.dcm": CT.read_bytes(), "/etc/cron.d/x": MR.read_bytes()})
    _assert_refused(path, "is an absolute path")


def test_a_windows_drive_path_refuses_the_archive(tmp_path) -> None:
    path = _zip(tmp_path / "a.zip", {"C:\\Windows\\x.dcm": CT.read_bytes()})
    _assert_refused(path, "is an absolute path")


def test_a_symbolic_link_entry_refuses_the_archive(tmp_path) -> None:
    path = _zip(tmp_path / "a.zip", {"ct.dcm": CT.read_bytes()}, symlink="link.dcm")
    _assert_refused(path, "symbolic link")


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path) -> None:
    path = _zip(tmp_path / "bomb.zip", {"ct.dcm": CT.read_bytes(), "zeros.dcm": bytes(50_000_000)})
    assert path.stat().st_size < 200_000  # 50 MB of zeros deflate to almost nothing
    _assert_refused(path, "compression ratio")


def test_an_archive_inflating_past_the_total_limit_is_refused(tmp_path, settings) -> None:
    settings.DICOM_MAX_ARCHIVE_BYTES = 40_000
    path = _zip(tmp_path / "big.zip", {"ct.dcm": CT.read_bytes(), "mr.dcm": MR.read_bytes()})
    _assert_refused(path, "inflates to more than 40000 bytes")


def test_an_archive_with_too_many_entries_is_refused(tmp_path, settings) -> None:
    settings.DICOM_MAX_ARCHIVE_ENTRIES = 3
    path = _zip(tmp_path / "many.zip", {f"{i}.dcm": b"x" for i in range(4)})
    _assert_refused(path, "over the 3 limit")


def test_a_lying_header_is_caught_while_reading(tmp_path) -> None:
    path = _zip(tmp_path / "liar.zip", {"ct.dcm": CT.read_bytes()})
    with zipfile.ZipFile(path) as archive:
        (info,) = archive.infolist()
        info.file_size = 10  # what a forged central directory would claim
        limits = ArchiveLimits(10**9, 100, 10, 10**9)
        assert check_members(archive, limits) == [info]
        from studies.archives import _read_bounded

        with pytest.raises((UnsafeArchive, zipfile.BadZipFile)):
            _read_bounded(archive, info)


def test_a_safe_archive_ingests_each_entry_and_reports_nested_archives(tmp_path) -> None:
    inner = _zip(tmp_path / "inner.zip", {"x.dcm": CT.read_bytes()}).read_bytes()
    path = _zip(
        tmp_path / "study.zip",
        {
            "study/ct.dcm": CT.read_bytes(),
            "study/mr.dcm": MR.read_bytes(),
            "more.zip": inner,
            "notes.txt": b"hello",
        },
    )

    summary = ingest_paths([path])

    by_name = {o.source_name.split("!")[1]: o for o in summary.outcomes}
    assert by_name["study/ct.dcm"].status == "stored"
    assert by_name["study/mr.dcm"].status == "stored"
    assert by_name["more.zip"].reason == "archives inside archives are not opened"
    assert by_name["notes.txt"].code == "not_dicom"
    assert len(stored_files()) == 2


def test_a_file_that_only_looks_like_a_zip_is_rejected_as_unreadable(tmp_path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + bytes(100))

    (outcome,) = ingest_paths([path]).outcomes

    assert outcome.code == "not_dicom" and "not a readable zip archive" in outcome.reason


def test_many_small_entries_are_refused_by_the_archives_overall_ratio(tmp_path) -> None:
    """900 entries of 1 MiB of zeros (each at the per-entry floor, so no entry is checked
    alone) in a zip of about 1 MB: refused as a whole before anything is inflated (issue 14)."""
    path = tmp_path / "many-small.zip"
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ct.dcm", CT.read_bytes())
        for index in range(900):
            archive.writestr(f"z/{index}.dcm", zeros)
    assert path.stat().st_size < 2_000_000
    with zipfile.ZipFile(path) as archive, pytest.raises(UnsafeArchive, match="ratio"):
        check_members(archive, ArchiveLimits.from_settings())
    _assert_refused(path, "zip bomb")
