"""Pixels and headers of a snapshot entry, read from our storage one entry at a time.

Frames are read with `studies.frames.decode_frame` (only that frame's bytes leave storage);
full datasets (for DICOM SEG and its source instances) with `studies.storage.read_dataset`,
then passed through the export's Identity (de-identified by default) before any writer sees
them. Nothing is kept after the entry is written, so memory stays flat however large the
snapshot is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from pydicom import Dataset
from pydicom.pixels import apply_color_lut

from annotations.exports.formats.base import Identity
from annotations.exports.pixels import FramePixels, Window
from studies.frames import decode_frame
from studies.models import Instance
from studies.storage import read_dataset

PREFETCH = 500


class InstanceRows:
    """Instance rows for the entries about to be written, fetched in chunks."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self._entries = entries
        self._rows: dict[int, Instance] = {}
        self._fetched_upto = 0

    def get(self, pk: int, position: int) -> Instance:
        if pk not in self._rows:
            self._fetch(position)
        if pk not in self._rows:
            raise LookupError(f"instance {pk} of the snapshot no longer exists")
        return self._rows[pk]

    def _fetch(self, position: int) -> None:
        window = self._entries[position : position + PREFETCH]
        wanted = {pk for entry in window for pk, _frame in entry.get("frames", [])}
        self._rows = dict(Instance.objects.in_bulk(list(wanted)))


class StoredEntryImage:
    """EntryImage backed by our storage (see formats.base.EntryImage)."""

    def __init__(
        self, entry: dict[str, Any], position: int, rows: InstanceRows, identity: Identity
    ) -> None:
        self.entry = entry
        self._position = position
        self._rows = rows
        self._identity = identity
        self._frames: list[FramePixels] | None = None
        self._datasets: list[Dataset] | None = None
        self._headers: dict[int, Dataset] = {}

    def _instances(self) -> Iterator[tuple[Instance, int]]:
        for pk, frame in self.entry.get("frames", []):
            yield self._rows.get(pk, self._position), frame

    def _header(self, instance: Instance) -> Dataset:
        if instance.pk not in self._headers:
            self._headers[instance.pk] = read_dataset(instance, stop_before_pixels=True)
        return self._headers[instance.pk]

    def frames(self) -> list[FramePixels]:
        if self._frames is None:
            self._frames = [self._frame(instance, n) for instance, n in self._instances()]
        return self._frames

    def _frame(self, instance: Instance, number: int) -> FramePixels:
        stored = decode_frame(instance, number)
        photometric = instance.photometric_interpretation or "MONOCHROME2"
        if photometric == "PALETTE COLOR":
            # Indices into the palette (PS3.3 C.7.6.3.1.5); the colours live in the header.
            stored = apply_color_lut(stored, self._header(instance))
            photometric = "RGB"
        elif stored.ndim == 3:
            photometric = "RGB"  # pydicom converts YBR to RGB when decoding
        window = None
        if instance.window_center is not None and instance.window_width:
            window = Window(float(instance.window_center), float(instance.window_width))
        return FramePixels(
            stored=np.asarray(stored),
            photometric=photometric,
            slope=instance.rescale_slope if instance.rescale_slope is not None else 1.0,
            intercept=instance.rescale_intercept if instance.rescale_intercept is not None else 0.0,
            signed=bool(instance.pixel_representation),
            default_window=window,
        )

    def datasets(self) -> list[Dataset]:
        if self._datasets is None:
            seen: dict[int, Dataset] = {}
            for instance, _frame in self._instances():
                if instance.pk not in seen:
                    seen[instance.pk] = self._identity.dataset(read_dataset(instance), self.entry)
            self._datasets = list(seen.values())
        return self._datasets

    def burned_in(self) -> bool:
        """Whether any source instance may carry identifying text in its pixels."""
        return any(instance.burned_in_annotation == "YES" for instance, _ in self._instances())

    def geometry(self) -> list[dict[str, Any]]:
        return [
            {
                "pixel_spacing": instance.pixel_spacing,
                "image_orientation": instance.image_orientation,
                "image_position": instance.image_position,
            }
            for instance, _frame in self._instances()
        ]


def entry_images(
    entries: list[dict[str, Any]], identity: Identity
) -> Iterable[tuple[dict[str, Any], StoredEntryImage]]:
    rows = InstanceRows(entries)
    for position, entry in enumerate(entries):
        yield entry, StoredEntryImage(entry, position, rows, identity)
