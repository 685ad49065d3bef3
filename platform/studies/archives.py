"""Opening zip archives from users without trusting them.

Every entry is checked before any is read: a path that climbs out (`..`) or is absolute, a
symbolic link, an encrypted entry, too many entries, a declared total above
DICOM_MAX_ARCHIVE_BYTES, or a compression ratio above DICOM_MAX_ARCHIVE_RATIO (a zip bomb), of
one entry or of the archive as a whole, makes the whole archive unsafe, so nothing from it is
ingested. Reading is bounded too: an entry that inflates past its declared size is cut off and
the archive reported, since headers can lie.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import IO

from django.conf import settings

# Entries smaller than this are never called bombs: tiny files compress wildly (runs of zeros).
_RATIO_FLOOR_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024


class UnsafeArchive(ValueError):
    """The archive is refused as a whole; the message names the entry and the rule."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int
    max_ratio: float
    max_entries: int
    max_entry_bytes: int

    @classmethod
    def from_settings(cls) -> ArchiveLimits:
        return cls(
            max_total_bytes=getattr(settings, "DICOM_MAX_ARCHIVE_BYTES", 8 * 1024**3),
            max_ratio=float(getattr(settings, "DICOM_MAX_ARCHIVE_RATIO", 100)),
            max_entries=getattr(settings, "DICOM_MAX_ARCHIVE_ENTRIES", 100_000),
            max_entry_bytes=settings.DICOM_MAX_UPLOAD_BYTES,
        )


def is_zip(head: bytes) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _unsafe_name(name: str) -> str | None:
    if "\x00" in name:
        return "contains a NUL byte"
    windows = PureWindowsPath(name)
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or windows.is_absolute() or windows.drive:
        return "is an absolute path"
    if ".." in posix.parts:
        return "climbs out of the archive with '..'"
    return None


def check_members(archive: zipfile.ZipFile, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    """The file entries to read, after checking every entry; raises UnsafeArchive."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise UnsafeArchive(
            f"archive has {len(infos)} entries, over the {limits.max_entries} limit"
        )
    total = compressed = 0
    files = []
    for info in infos:
        problem = _unsafe_name(info.filename)
        if problem:
            raise UnsafeArchive(f"entry {info.filename!r} {problem}")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeArchive(f"entry {info.filename!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise UnsafeArchive(f"entry {info.filename!r} is encrypted")
        if info.is_dir():
            continue
        if info.file_size > limits.max_entry_bytes:
            raise UnsafeArchive(
                f"entry {info.filename!r} inflates to {info.file_size} bytes, over the "
                f"{limits.max_entry_bytes} byte per-file limit"
            )
        if info.file_size > _RATIO_FLOOR_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise UnsafeArchive(
                    f"entry {info.filename!r} has compression ratio {ratio:.0f}:1, over "
                    f"{limits.max_ratio:.0f}:1 (zip bomb)"
                )
        total += info.file_size
        compressed += info.compress_size
        if total > limits.max_total_bytes:
            raise UnsafeArchive(
                f"archive inflates to more than {limits.max_total_bytes} bytes (zip bomb)"
            )
        files.append(info)
    # The archive as a whole: many entries each under the per-entry floor (900 x 1 MiB of
    # zeros in a 1 MB zip) pass every per-entry check yet inflate to hundreds of times the
    # upload; refused before a byte is inflated.
    if total > _RATIO_FLOOR_BYTES and total / max(compressed, 1) > limits.max_ratio:
        raise UnsafeArchive(
            f"archive inflates {total} bytes from {compressed} "
            f"(ratio {total / max(compressed, 1):.0f}:1, over {limits.max_ratio:.0f}:1; zip bomb)"
        )
    return files


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    parts, size = [], 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > info.file_size:
                raise UnsafeArchive(f"entry {info.filename!r} inflates past its declared size")
            parts.append(chunk)
    return b"".join(parts)


def iter_zip(
    source: str | IO[bytes], limits: ArchiveLimits | None = None
) -> Iterator[tuple[str, bytes]]:
    """(entry name, bytes) for each file entry, after the whole archive passed the checks.

    Raises UnsafeArchive before yielding anything when the archive breaks a rule, and
    zipfile.BadZipFile when it is not a readable zip.
    """
    limits = limits or ArchiveLimits.from_settings()
    with zipfile.ZipFile(source) as archive:
        for info in check_members(archive, limits):
            if info.filename.startswith("__MACOSX/"):
                continue  # Finder's resource forks, never DICOM
            yield info.filename, _read_bounded(archive, info)
