"""Where an instance's bytes come from: our storage, or the upstream server in proxy mode.

Views and services ask `source_for(instance)` and never care which; both kinds answer the same
five questions. Local instances use A1's storage and frame readers (studies.storage,
studies.frames); upstream ones (Instance.source == "upstream") go through upstream.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import pydicom

from studies.models import Instance

UPSTREAM = "upstream"
CHUNK = 256 * 1024


class PixelSource(Protocol):
    def read_frame(self, instance: Instance, number: int) -> tuple[bytes, str]: ...
    def decode_frame(self, instance: Instance, number: int) -> np.ndarray: ...
    def metadata(self, instance: Instance, study: str, series: str) -> dict[str, Any]: ...
    def part10_chunks(self, instance: Instance) -> Iterator[bytes]: ...
    def dataset(self, instance: Instance) -> pydicom.Dataset: ...


class LocalSource:
    def read_frame(self, instance: Instance, number: int) -> tuple[bytes, str]:
        from studies.frames import read_frame

        return read_frame(instance, number)

    def decode_frame(self, instance: Instance, number: int) -> np.ndarray:
        from studies.frames import decode_frame

        return decode_frame(instance, number)

    def metadata(self, instance: Instance, study: str, series: str) -> dict[str, Any]:
        from studies.dicomweb.metadata import dataset_to_json
        from studies.storage import read_dataset

        ds = read_dataset(instance, stop_before_pixels=True)
        return dataset_to_json(ds, instance, study, series)

    def part10_chunks(self, instance: Instance) -> Iterator[bytes]:
        from studies.storage import get_store

        with get_store().open(instance.storage_key) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def dataset(self, instance: Instance) -> pydicom.Dataset:
        from studies.storage import read_dataset

        return read_dataset(instance)


def source_for(instance: Instance) -> PixelSource:
    if instance.source == UPSTREAM and not instance.storage_key:
        from studies.dicomweb.upstream import UpstreamSource

        return UpstreamSource()
    return LocalSource()
