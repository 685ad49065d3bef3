"""Proxy mode: an upstream DICOMweb server (Orthanc, dcm4chee) is the source of truth.

`manage.py index_upstream` copies the upstream's index into our tables through QIDO-RS and
series metadata (Instance.source == "upstream", no stored bytes), so searches and access
control are ours. Pixels and whole objects are fetched on demand through WADO-RS, always as
stored (`transfer-syntax=*`, so an upstream that cannot transcode, like Debian's Orthanc with
JPEG 2000, still works; we decode ourselves when a client wants uncompressed data), and frames
are kept in a bounded on-disk cache with least-recently-used eviction.

Settings: DICOMWEB_UPSTREAM_URL (the upstream's DICOMweb root), DICOMWEB_UPSTREAM_CACHE_DIR,
DICOMWEB_UPSTREAM_CACHE_BYTES, DICOMWEB_UPSTREAM_TIMEOUT_S, and the upstream's credentials:
DICOMWEB_UPSTREAM_USER + DICOMWEB_UPSTREAM_PASSWORD (HTTP basic, RFC 7617: Orthanc's
RegisteredUsers, dcm4chee behind a proxy) or DICOMWEB_UPSTREAM_BEARER_TOKEN (RFC 6750: dcm4chee
with Keycloak, cloud DICOM stores). They are sent only to the upstream, never shown to clients.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from studies.dicomweb import multipart
from studies.dicomweb.links import instance_path
from studies.dicomweb.media import EXPLICIT_VR_LITTLE_ENDIAN, MEDIA_TYPE_OF_SYNTAX, parse_media_type
from studies.models import Instance

_SYNTAX_OF_MEDIA_TYPE = {media: syntax for syntax, media in reversed(MEDIA_TYPE_OF_SYNTAX.items())}
NATIVE_FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
NATIVE_INSTANCES = 'multipart/related; type="application/dicom"; transfer-syntax=*'


class UpstreamError(RuntimeError):
    """The upstream server failed or answered something we cannot use."""


def upstream_url() -> str:
    url = (getattr(settings, "DICOMWEB_UPSTREAM_URL", "") or "").rstrip("/")
    if not url:
        raise UpstreamError("DICOMWEB_UPSTREAM_URL is not set (proxy mode is off)")
    return url


def upstream_session() -> requests.Session:
    """A session carrying the configured upstream credentials (basic or bearer, not both)."""
    user = getattr(settings, "DICOMWEB_UPSTREAM_USER", "") or ""
    password = getattr(settings, "DICOMWEB_UPSTREAM_PASSWORD", "") or ""
    token = getattr(settings, "DICOMWEB_UPSTREAM_BEARER_TOKEN", "") or ""
    if token and (user or password):
        raise ImproperlyConfigured(
            "set DICOMWEB_UPSTREAM_USER/DICOMWEB_UPSTREAM_PASSWORD (basic) or "
            "DICOMWEB_UPSTREAM_BEARER_TOKEN, not both"
        )
    if password and not user:
        raise ImproperlyConfigured(
            "DICOMWEB_UPSTREAM_PASSWORD is set without DICOMWEB_UPSTREAM_USER"
        )
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    elif user:
        session.auth = (user, password)
    return session


class UpstreamClient:
    def __init__(self, base: str | None = None) -> None:
        self.base = (base or upstream_url()).rstrip("/")
        self.session = upstream_session()
        self.timeout = float(getattr(settings, "DICOMWEB_UPSTREAM_TIMEOUT_S", 30))

    def _get(
        self, path: str, accept: str, params: dict[str, Any] | None = None
    ) -> requests.Response:
        response = self.session.get(
            self.base + path, headers={"Accept": accept}, params=params, timeout=self.timeout
        )
        if response.status_code == 204:
            return response
        if response.status_code in (401, 403):
            raise UpstreamError(
                f"upstream GET {path} answered {response.status_code}: check "
                "DICOMWEB_UPSTREAM_USER/DICOMWEB_UPSTREAM_PASSWORD or "
                "DICOMWEB_UPSTREAM_BEARER_TOKEN"
            )
        if response.status_code != 200:
            raise UpstreamError(f"upstream GET {path} answered {response.status_code}")
        return response

    def json(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        response = self._get(path, "application/dicom+json", params)
        return [] if response.status_code == 204 or not response.content else response.json()

    def search(self, path: str, page: int = 500) -> Iterator[dict[str, Any]]:
        """A QIDO-RS search read to its end with limit/offset (bounded by what the upstream has)."""
        offset = 0
        while True:
            found = self.json(path, {"limit": page, "offset": offset})
            yield from found
            if len(found) < page:
                return
            offset += len(found)

    def _parts(self, path: str, accept: str) -> list[multipart.Part]:
        response = self._get(path, accept)
        boundary = parse_media_type(response.headers.get("Content-Type", "")).params.get("boundary")
        if not boundary:  # a single-part answer (PS3.18 allows it for one frame)
            headers = {"content-type": response.headers.get("Content-Type", "")}
            return [multipart.Part(headers, response.content)]
        return multipart.parse(response.content, boundary)

    def frame(self, study: str, series: str, sop: str, number: int) -> tuple[bytes, str]:
        (part,) = self._parts(f"{instance_path(study, series, sop)}/frames/{number}", NATIVE_FRAMES)
        media = parse_media_type(part.content_type)
        syntax = media.transfer_syntax or _SYNTAX_OF_MEDIA_TYPE.get(
            media.media_type, EXPLICIT_VR_LITTLE_ENDIAN
        )
        return part.body, syntax

    def instance(self, study: str, series: str, sop: str) -> bytes:
        (part,) = self._parts(instance_path(study, series, sop), NATIVE_INSTANCES)
        return part.body


class FrameCache:
    """Frames on disk under ROOT/ab/<sha256(sop/frame)>, first line the transfer syntax.

    Reads touch the file's mtime; when a write takes the total over `max_bytes`, the least
    recently used files are deleted until it is back under 90% of it. Each process keeps a
    running total and rescans the folder when evicting, so concurrent processes stay bounded.
    """

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root, self.max_bytes = Path(root), max_bytes
        self._total: int | None = None
        self._lock = threading.Lock()

    def _path(self, sop: str, number: int) -> Path:
        digest = hashlib.sha256(f"{sop}/{number}".encode()).hexdigest()
        return self.root / digest[:2] / digest

    def get(self, sop: str, number: int) -> tuple[bytes, str] | None:
        path = self._path(sop, number)
        try:
            data = path.read_bytes()
            os.utime(path)
        except FileNotFoundError:
            return None
        syntax, _, frame = data.partition(b"\n")
        return frame, syntax.decode()

    def put(self, sop: str, number: int, frame: bytes, syntax: str) -> None:
        path = self._path(sop, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        with os.fdopen(fd, "wb") as out:
            out.write(syntax.encode() + b"\n" + frame)
        os.replace(tmp, path)
        with self._lock:
            if self._total is None:
                self._total = self.size()
            else:
                self._total += len(frame) + len(syntax) + 1
            if self._total > self.max_bytes:
                self._total = self._evict()

    def files(self) -> list[os.DirEntry[str]]:
        if not self.root.exists():
            return []
        entries = []
        for folder in os.scandir(self.root):
            if folder.is_dir():
                entries += [e for e in os.scandir(folder.path) if not e.name.startswith(".")]
        return entries

    def size(self) -> int:
        return sum(entry.stat().st_size for entry in self.files())

    def _evict(self) -> int:
        entries = sorted(self.files(), key=lambda e: e.stat().st_mtime)
        total = sum(e.stat().st_size for e in entries)
        target = int(self.max_bytes * 0.9)
        for entry in entries:
            if total <= target:
                break
            try:
                size = entry.stat().st_size
                os.unlink(entry.path)
                total -= size
            except FileNotFoundError:
                continue
        return total


_caches: dict[tuple[str, int], FrameCache] = {}


def frame_cache() -> FrameCache:
    root = str(
        getattr(settings, "DICOMWEB_UPSTREAM_CACHE_DIR", "")
        or Path(settings.DATA_DIR) / "upstream-cache"
    )
    limit = int(getattr(settings, "DICOMWEB_UPSTREAM_CACHE_BYTES", 2 * 1024**3))
    key = (root, limit)
    if key not in _caches:
        _caches[key] = FrameCache(Path(root), limit)
    return _caches[key]


def _uids(instance: Instance) -> tuple[str, str, str]:
    series = instance.series
    return series.study.study_instance_uid, series.series_instance_uid, instance.sop_instance_uid


class UpstreamSource:
    """PixelSource for Instance.source == "upstream" (see sources.py)."""

    def read_frame(self, instance: Instance, number: int) -> tuple[bytes, str]:
        cache = frame_cache()
        cached = cache.get(instance.sop_instance_uid, number)
        if cached is not None:
            return cached
        frame, syntax = UpstreamClient().frame(*_uids(instance), number)
        cache.put(instance.sop_instance_uid, number, frame, syntax)
        return frame, syntax

    def decode_frame(self, instance: Instance, number: int) -> np.ndarray:
        from studies.frames import decode_frame_bytes, decode_options

        frame, syntax = self.read_frame(instance, number)
        return decode_frame_bytes(frame, syntax, decode_options(instance))

    def metadata(self, instance: Instance, study: str, series: str) -> dict[str, Any]:
        path = instance_path(study, series, instance.sop_instance_uid) + "/metadata"
        found = UpstreamClient().json(path)
        if len(found) != 1:
            raise UpstreamError(
                f"upstream metadata of {instance.sop_instance_uid} is not one object"
            )
        return upstream_attributes(found[0], instance, study, series)

    def part10_chunks(self, instance: Instance) -> Iterator[bytes]:
        yield UpstreamClient().instance(*_uids(instance))

    def dataset(self, instance: Instance) -> pydicom.Dataset:
        return pydicom.dcmread(BytesIO(UpstreamClient().instance(*_uids(instance))))


def upstream_attributes(
    attributes: dict[str, Any], instance: Instance, study: str, series: str
) -> dict[str, Any]:
    """Upstream metadata with its bulk data links dropped and ours added (access stays ours)."""
    from studies.dicomweb.metadata import add_pixel_reference

    kept = {tag: value for tag, value in attributes.items() if "BulkDataURI" not in value}
    kept = {tag: value for tag, value in kept.items() if not tag.startswith("0002")}
    add_pixel_reference(kept, instance, study, series)
    return dict(sorted(kept.items()))
