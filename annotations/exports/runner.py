"""Write one archive for a snapshot and a set of formats: the export's pure core.

Callers (the Celery task, `manage.py export_dataset`, the benchmark) pass callbacks for progress
and cancellation; this module knows nothing about jobs or Celery. The archive is written to a
temporary name beside the destination and renamed into place only when complete, so a crash or
a cancellation never leaves a partial file under the final name.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotations.exports.formats import WRITERS, canonical_formats
from annotations.exports.formats.base import ExportContext, json_bytes
from annotations.exports.identity import build_identity
from annotations.exports.snapshots import schema_of
from annotations.exports.sources import entry_images
from annotations.exports.zipstream import DeterministicZipWriter
from learning.models import DatasetSnapshot

ProgressCallback = Callable[[int, int], None]
ARCHIVE_LAYOUT = 1


class ExportCancelled(Exception):
    """The job was cancelled while the archive was being written."""


class ExportFailed(Exception):
    """An item could not be written; the message names the item and the format."""


@dataclass(frozen=True)
class ExportOptions:
    deidentify: bool = True
    bit_depth: int = 8  # imagefolder PNGs: 8 (windowed) or 16 (stored values)
    # With de-identification on, images whose pixels may carry burned-in text (PS3.15 E.1.1:
    # the Basic profile does not clean pixels) are left out of image formats unless this is set.
    include_burned_in: bool = False

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ExportOptions:
        return cls(
            deidentify=bool(raw.get("deidentify", True)),
            bit_depth=int(raw.get("bit_depth", 8)),
            include_burned_in=bool(raw.get("include_burned_in", False)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "deidentify": self.deidentify,
            "bit_depth": self.bit_depth,
            "include_burned_in": self.include_burned_in,
        }


@dataclass
class ArchiveResult:
    path: Path
    size_bytes: int
    sha256: str
    report: dict[str, Any] = field(default_factory=dict)


def archive_root(schema: dict[str, Any]) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", schema.get("project_name", "")).strip("-").lower()
    return f"{slug or 'project'}-{schema['snapshot_hash'][:12]}"


def write_archive(
    snapshot: DatasetSnapshot,
    formats: list[str],
    destination: Path,
    *,
    options: ExportOptions | None = None,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ArchiveResult:
    options = options or ExportOptions()
    if options.bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {options.bit_depth}")
    names = canonical_formats(formats)
    schema = schema_of(snapshot)
    entries: list[dict[str, Any]] = snapshot.entries
    identity = build_identity(options.deidentify)
    identity.prepare(entries)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    stop = should_stop or (lambda: False)
    writers = [WRITERS[name]() for name in names]
    report: dict[str, Any] = {"formats": {name: {} for name in names}}
    withhold_pixels = options.deidentify and not options.include_burned_in
    try:
        with DeterministicZipWriter(partial) as archive:
            ctx = ExportContext(
                zip=archive,
                schema=schema,
                identity=identity,
                root=archive_root(schema),
                entries=entries,
                bit_depth=options.bit_depth,
                report=report,
            )
            for writer in writers:
                writer.begin(ctx)
            for done, (entry, image) in enumerate(entry_images(entries, identity), start=1):
                if stop():
                    raise ExportCancelled()
                withhold = withhold_pixels and image.burned_in()
                for writer in writers:
                    if withhold and writer.needs_pixels:
                        ctx.skip(writer.name, entry, "burned-in annotation possible")
                        continue
                    try:
                        writer.add(ctx, entry, image)
                    except Exception as exc:
                        # All or nothing: a dataset missing items silently is worse than none.
                        raise ExportFailed(
                            f"item {entry['item']} ({writer.name}): {type(exc).__name__}: {exc}"
                        ) from exc
                if progress:
                    progress(done, len(entries))
            for writer in writers:
                writer.finish(ctx)
            archive.write_bytes(
                ctx.path("dataset_info.json"), json_bytes(dataset_info(schema, names, options, ctx))
            )
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ArchiveResult(
        path=destination,
        size_bytes=destination.stat().st_size,
        sha256=file_sha256(destination),
        report=report,
    )


def dataset_info(
    schema: dict[str, Any], formats: list[str], options: ExportOptions, ctx: ExportContext
) -> dict[str, Any]:
    """What the archive is: only facts fixed by the snapshot and the choices, never the time it
    was written (the archive must be byte-identical for the same snapshot)."""
    splits = Counter(entry["split"] for entry in ctx.entries)
    return {
        "archive_layout": ARCHIVE_LAYOUT,
        "project": schema.get("project_name", ""),
        "task_type": schema["task_type"],
        "multi_label": schema.get("multi_label", False),
        "classes": [
            {"index": i, "name": c["name"], "color": c.get("color", "")}
            for i, c in enumerate(schema["classes"])
        ],
        "snapshot": schema["snapshot_hash"],
        "items": len(ctx.entries),
        "splits": dict(sorted(splits.items())),
        "formats": formats,
        "options": options.as_dict(),
        "deidentification": (
            "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile; UIDs remapped "
            "consistently per study, dates shifted per patient, patients pseudonymised"
            if options.deidentify
            else "none: identifying attributes are exported as stored"
        ),
        "report": ctx.report,
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
