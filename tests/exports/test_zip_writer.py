"""The streaming zip writer: deterministic bytes, zip64, safe names, one copy per name."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from annotations.exports.zipstream import DeterministicZipWriter, DuplicateEntry


def write_sample(path: Path) -> None:
    with DeterministicZipWriter(path) as archive:
        archive.write_bytes("root/a.json", b'{"a": 1}\n')
        archive.write_bytes("root/images/x.png", b"\x89PNG fake but opaque bytes")
        archive.write_stream("root/big.bin", io.BytesIO(b"0123456789" * 10_000))


def test_the_same_entries_give_byte_identical_archives_at_different_times(tmp_path: Path) -> None:
    write_sample(tmp_path / "one.zip")
    time.sleep(2.1)  # zip timestamps have a 2-second resolution
    write_sample(tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_entries_read_back_with_fixed_timestamps_and_modes(tmp_path: Path) -> None:
    write_sample(tmp_path / "one.zip")
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["root/a.json", "root/images/x.png", "root/big.bin"]
        assert archive.read("root/big.bin") == b"0123456789" * 10_000
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
        assert archive.getinfo("root/images/x.png").compress_type == zipfile.ZIP_STORED
        assert archive.getinfo("root/a.json").compress_type == zipfile.ZIP_DEFLATED


def test_a_streamed_entry_declared_large_is_written_as_zip64(tmp_path: Path) -> None:
    with DeterministicZipWriter(tmp_path / "z.zip") as archive:
        archive.write_stream("big.bin", io.BytesIO(b"x" * 1000), size_hint=5 << 30)
    with zipfile.ZipFile(tmp_path / "z.zip") as archive:
        info = archive.getinfo("big.bin")
        assert archive.read("big.bin") == b"x" * 1000
    # A zip64 extra field (header id 0x0001) is present in the local header.
    raw = (tmp_path / "z.zip").read_bytes()
    assert b"\x01\x00" in raw[30 : 30 + len("big.bin") + 40]
    assert info.file_size == 1000


def test_duplicate_and_unsafe_names_are_refused(tmp_path: Path) -> None:
    with DeterministicZipWriter(tmp_path / "z.zip") as archive:
        archive.write_bytes("a.txt", b"1")
        with pytest.raises(DuplicateEntry):
            archive.write_bytes("a.txt", b"2")
        with pytest.raises(ValueError, match="unsafe"):
            archive.write_bytes("../evil.txt", b"3")
        with pytest.raises(ValueError, match="unsafe"):
            archive.write_bytes("/etc/passwd", b"3")
