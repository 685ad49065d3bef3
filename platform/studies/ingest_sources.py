"""Turn paths (files, folders, zip archives) into named byte sources for ingest_paths."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING

from django.conf import settings

from studies.archives import UnsafeArchive, is_zip, iter_zip

if TYPE_CHECKING:
    from studies.ingest import IngestSummary

Loader = Callable[[], bytes | None]


def _reject(summary: IngestSummary, name: str, code: str, reason: str) -> Loader:
    from studies.ingest import IngestOutcome

    def load() -> None:
        summary.add(IngestOutcome(status="rejected", source_name=name, code=code, reason=reason))

    return load


def _walk(path: Path) -> Iterator[Path]:
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                yield Path(root) / name
    else:
        yield path


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(4)


def iter_archive(
    name: str, source: str | Path | bytes | IO[bytes], summary: IngestSummary
) -> Iterator[tuple[str, Loader]]:
    """Entries of a zip archive as sources; an unsafe archive becomes one rejection."""
    import io

    from studies.ingest import NOT_DICOM, UNSAFE_ARCHIVE

    handle: str | IO[bytes]
    if isinstance(source, bytes):
        handle = io.BytesIO(source)
    elif isinstance(source, str | Path):
        handle = str(source)
    else:
        handle = source
    try:
        for entry, data in iter_zip(handle):
            entry_name = f"{name}!{entry}"
            if is_zip(data[:4]):
                yield (
                    entry_name,
                    _reject(
                        summary,
                        entry_name,
                        UNSAFE_ARCHIVE,
                        "archives inside archives are not opened",
                    ),
                )
            else:
                yield entry_name, partial(bytes, data)
    except UnsafeArchive as exc:
        yield name, _reject(summary, name, UNSAFE_ARCHIVE, f"unsafe archive: {exc}")
    except (zipfile.BadZipFile, EOFError) as exc:
        yield name, _reject(summary, name, NOT_DICOM, f"not a readable zip archive: {exc}")


def iter_sources(
    paths: Iterable[str | Path], summary: IngestSummary
) -> Iterator[tuple[str, Loader]]:
    from studies.ingest import NOT_DICOM, TOO_LARGE

    limit = settings.DICOM_MAX_UPLOAD_BYTES
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            yield str(root), _reject(summary, str(root), NOT_DICOM, "no such file or folder")
            continue
        for path in _walk(root):
            name = str(path)
            if not path.is_file():
                continue
            if is_zip(_head(path)):
                yield from iter_archive(name, path, summary)
                continue
            size = path.stat().st_size
            if size > limit:
                # Refused before reading: an oversized file never enters memory.
                yield (
                    name,
                    _reject(
                        summary,
                        name,
                        TOO_LARGE,
                        f"file is {size} bytes, over the {limit} byte limit",
                    ),
                )
                continue
            yield name, path.read_bytes
