"""A deterministic, streaming zip writer.

Entries go to disk one at a time (nothing accumulates in memory) and every byte of the
archive depends only on the entries' names, contents and order: timestamps, permissions and
compression level are fixed, so the same snapshot gives a byte-identical archive. Zip64 is used
whenever a size needs it (APPNOTE 4.3.9), so archives and entries above 4 GiB work.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO

# The earliest timestamp the zip format can express; any fixed value would do.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
# -rw-r--r-- regular file, stored in the high 16 bits (APPNOTE 4.4.15, Unix host).
FILE_MODE = 0o100644 << 16
# Already-compressed payloads gain nothing from deflate; storing them is faster.
STORED_SUFFIXES = (".png", ".gz", ".jpg", ".jpeg", ".zip")
# Above this an entry written as a stream is declared zip64 up front (its size is not known
# before writing; zipfile refuses to grow past 2 GiB without it).
ZIP64_STREAM_THRESHOLD = 1 << 31


class DuplicateEntry(ValueError):
    pass


class DeterministicZipWriter:
    """Write a zip archive entry by entry. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path, "w", allowZip64=True)
        self._names: set[str] = set()
        self.entries = 0

    def __enter__(self) -> DeterministicZipWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def _info(self, name: str) -> zipfile.ZipInfo:
        if name in self._names:
            raise DuplicateEntry(f"duplicate zip entry {name!r}")
        if name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"unsafe zip entry name {name!r}")
        self._names.add(name)
        info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
        info.external_attr = FILE_MODE
        info.create_system = 3  # Unix, whatever machine writes it
        if name.lower().endswith(STORED_SUFFIXES):
            info.compress_type = zipfile.ZIP_STORED
        else:
            # zlib's default level (6): fixed, so the compressed bytes are too.
            info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def write_bytes(self, name: str, data: bytes) -> None:
        """Add one entry whose content is already in memory (one image, one JSON document)."""
        self._zip.writestr(self._info(name), data)
        self.entries += 1

    def write_stream(self, name: str, source: BinaryIO, *, size_hint: int = 0) -> None:
        """Copy a file-like object into one entry in chunks (a source DICOM, a temp file)."""
        info = self._info(name)
        with self._zip.open(info, "w", force_zip64=size_hint >= ZIP64_STREAM_THRESHOLD) as dest:
            shutil.copyfileobj(source, dest, 1 << 20)
        self.entries += 1

    def open_entry(self, name: str, *, large: bool = False) -> IO[bytes]:
        """A writable handle for one entry (for JSON written piece by piece)."""
        info = self._info(name)
        self.entries += 1
        return self._zip.open(info, "w", force_zip64=large)

    def write_lines(self, name: str, lines: Iterable[str]) -> None:
        with self.open_entry(name) as dest:
            for line in lines:
                dest.write(line.encode("utf-8"))
