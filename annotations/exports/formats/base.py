"""What every format writer sees: the frozen schema, one entry at a time, and the archive."""

from __future__ import annotations

import io
import json
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar, Protocol

import numpy as np
from PIL import Image
from pydicom import Dataset

from annotations.exports.pixels import FramePixels, Window
from annotations.exports.zipstream import DeterministicZipWriter

SPLITS = ("train", "val", "test")


class Identity(Protocol):
    """How identifying values leave the platform: de-identified (default) or as stored."""

    deidentified: bool

    def patient(self, entry: dict[str, Any]) -> str: ...

    def uid(self, uid: str, entry: dict[str, Any]) -> str: ...

    def dataset(self, ds: Dataset, entry: dict[str, Any]) -> Dataset: ...


class EntryImage(Protocol):
    """Lazy access to an entry's pixels and headers, loaded at most once per entry."""

    def frames(self) -> list[FramePixels]: ...

    def datasets(self) -> list[Dataset]: ...

    def geometry(self) -> list[dict[str, Any]]: ...


def json_bytes(document: Any) -> bytes:
    """Canonical JSON: sorted keys, fixed separators, so equal content gives equal bytes."""
    return (json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def png_bytes(array: np.ndarray) -> bytes:
    """PNG with no timestamp or text chunks: the same array always encodes to the same bytes."""
    buffer = io.BytesIO()
    # uint16 grey arrays become mode "I;16" (16-bit PNG), uint8 ones "L", RGB ones "RGB".
    image = Image.fromarray(array.astype("<u2") if array.dtype == np.uint16 else array)
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def safe_name(name: str) -> str:
    """A class name as a folder or file name on every OS (ImageFolder uses folder names)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned or "class"


def case_id(entry: dict[str, Any]) -> str:
    """The file stem for an entry: its item id (not PHI), plus the frame for frame items."""
    return f"item{entry['item']:07d}"


@dataclass
class ExportContext:
    zip: DeterministicZipWriter
    schema: dict[str, Any]
    identity: Identity
    root: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    bit_depth: int = 8
    report: dict[str, Any] = field(default_factory=dict)
    should_stop: Callable[[], bool] = lambda: False

    @property
    def class_names(self) -> list[str]:
        return [c["name"] for c in self.schema["classes"]]

    @property
    def class_index(self) -> dict[str, int]:
        return {c["name"]: i for i, c in enumerate(self.schema["classes"])}

    @property
    def window(self) -> Window | None:
        center, width = self.schema.get("window_center"), self.schema.get("window_width")
        if center is None or width is None:
            return None
        return Window(float(center), float(width))

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def spool(self) -> IO[bytes]:
        """A temporary file on disk for a document written piece by piece (a manifest, a COCO
        file) while image entries go into the archive; `commit` copies it in at the end. zipfile
        allows one open write handle at a time, and memory must not hold the document."""
        return tempfile.TemporaryFile(prefix="radloop-export-")

    def commit(self, name: str, spooled: IO[bytes]) -> None:
        size = spooled.tell()
        spooled.seek(0)
        self.zip.write_stream(name, spooled, size_hint=size)  # type: ignore[arg-type]
        spooled.close()

    def count(self, fmt: str, key: str, amount: int = 1) -> None:
        bucket = self.report.setdefault("formats", {}).setdefault(fmt, {})
        bucket[key] = bucket.get(key, 0) + amount

    def skip(self, fmt: str, entry: dict[str, Any], reason: str) -> None:
        self.count(fmt, "skipped")
        skipped = self.report.setdefault("skipped", {}).setdefault(fmt, {})
        skipped.setdefault(reason, []).append(entry["item"])


class FormatWriter(ABC):
    name: ClassVar[str]
    needs_pixels: ClassVar[bool] = True

    def begin(self, ctx: ExportContext) -> None:  # noqa: B027 — optional hook
        pass

    @abstractmethod
    def add(self, ctx: ExportContext, entry: dict[str, Any], image: EntryImage) -> None: ...

    def finish(self, ctx: ExportContext) -> None:  # noqa: B027 — optional hook
        pass


def region_shapes(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in entry.get("shapes", []) if s.get("kind") in ("mask", "polygon")]


def plane_of(entry: dict[str, Any], shape: dict[str, Any]) -> int:
    """Which of the entry's planes (0-based) a shape lies on.

    `frame_keys` lists, per plane, the number a shape's "frame" refers to: the frame number
    for instance and frame items, the 1-based slice position for series items."""
    keys: list[int] = entry.get("frame_keys") or [entry.get("frame", 1)]
    frame = int(shape.get("frame", keys[0]))
    return keys.index(frame) if frame in keys else 0


def plane_names(entry: dict[str, Any], planes: int) -> list[str]:
    stem = case_id(entry)
    return [stem] if planes == 1 else [f"{stem}_{k + 1:04d}" for k in range(planes)]
