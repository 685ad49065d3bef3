"""WADO-RS metadata (PS3.18 §10.4.1.1.2): the DICOM JSON Model (PS3.18 Annex F) per instance.

Pixel data is never inlined: (7FE0,0010) carries a BulkDataURI (PS3.18 §F.2.6) pointing at our
bulkdata resource. Available Transfer Syntax UID (0008,3002) names the stored encoding, so a
client knows what `transfer-syntax=*` will give it.

Each instance's JSON is built once and cached (Django's cache: Redis) as bytes keyed by the
object's sha256, which never changes for a stored object. Absolute links depend on the root the
request came through (/dicomweb or a project root, host and port), so the cached bytes hold a
placeholder that is replaced when the response is assembled: a series of 170 instances costs one
query and one cache round trip. In front of Redis, each web process keeps recently served objects
of stored instances (hotcache.metadata_json, bounded by size): keyed by content hash they can
never be stale, and a warm instance metadata request then needs no round trip at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import pydicom
from django.core.cache import cache

from studies.dicomweb import hotcache
from studies.dicomweb.links import instance_path
from studies.dicomweb.media import is_compressed
from studies.dicomweb.sources import source_for
from studies.models import Instance

log = logging.getLogger(__name__)

ROOT_PLACEHOLDER = "@@DICOMWEB_ROOT@@"
_KEY_VERSION = 1
_TIMEOUT_S = 30 * 24 * 3600
PIXEL_DATA = "7FE00010"
AVAILABLE_TRANSFER_SYNTAX = "00083002"
_PIXEL_TAGS = ("7FE00008", "7FE00009", PIXEL_DATA)


def cache_key(instance: Instance) -> str:
    identity = instance.sha256 or f"upstream:{instance.sop_instance_uid}"
    return f"dicomweb:meta:{_KEY_VERSION}:{identity}"


def bulkdata_path(study: str, series: str, sop: str, tag: str = PIXEL_DATA) -> str:
    return f"{instance_path(study, series, sop)}/bulkdata/{tag}"


def dataset_to_json(
    ds: pydicom.Dataset, instance: Instance, study: str, series: str
) -> dict[str, Any]:
    """The DICOM JSON object of one instance, pixel data replaced by a BulkDataURI."""
    result: dict[str, Any] = ds.to_json_dict(suppress_invalid_tags=True)
    add_pixel_reference(result, instance, study, series)
    return result


def add_pixel_reference(
    result: dict[str, Any], instance: Instance, study: str, series: str
) -> None:
    for tag in _PIXEL_TAGS:
        result.pop(tag, None)
    syntax = instance.transfer_syntax_uid
    if syntax:
        result[AVAILABLE_TRANSFER_SYNTAX] = {"vr": "UI", "Value": [syntax]}
    if instance.rows:
        # PS3.5 §8.2: encapsulated pixel data is OB; native is OW above 8 bits allocated.
        vr = "OB" if is_compressed(syntax) or (instance.bits_allocated or 8) <= 8 else "OW"
        uri = ROOT_PLACEHOLDER + bulkdata_path(study, series, instance.sop_instance_uid)
        result[PIXEL_DATA] = {"vr": vr, "BulkDataURI": uri}


def _cache_get_many(keys: list[str]) -> dict[str, bytes]:
    try:
        return cache.get_many(keys)
    except Exception as exc:  # a cache outage must not take DICOMweb down with it
        log.warning("metadata cache unavailable: %s", exc)
        return {}


def _cache_set_many(values: dict[str, bytes]) -> None:
    try:
        cache.set_many(values, timeout=_TIMEOUT_S)
    except Exception as exc:
        log.warning("metadata cache unavailable: %s", exc)


def instance_objects(
    rows: Sequence[tuple[Instance, str, str]],
) -> list[bytes]:
    """Cached JSON bytes (with ROOT_PLACEHOLDER) per (instance, study, series) row, in order."""
    keys = [cache_key(instance) for instance, _, _ in rows]
    local = {key: hotcache.metadata_json.get(key) for key in dict.fromkeys(keys)}
    found = {key: data for key, data in local.items() if data is not None}
    if len(found) < len(local):
        found.update(_cache_get_many([key for key in local if key not in found]))
    missing: dict[str, bytes] = {}
    objects = []
    for key, (instance, study, series) in zip(keys, rows, strict=True):
        data = found.get(key) or missing.get(key)
        if data is None:
            built = source_for(instance).metadata(instance, study, series)
            data = json.dumps(built, separators=(",", ":")).encode()
            missing[key] = data
        if local[key] is None and instance.sha256:
            # Only content-addressed objects: upstream ones may be re-indexed with new metadata.
            hotcache.metadata_json.put(key, data)
        objects.append(data)
    if missing:
        _cache_set_many(missing)
    return objects


def render(objects: Iterable[bytes], root: str) -> bytes:
    """A JSON array of instance objects with absolute links under `root`."""
    body = b"[" + b",".join(objects) + b"]"
    return body.replace(ROOT_PLACEHOLDER.encode(), root.encode())


def as_dicts(rows: Sequence[tuple[Instance, str, str]], root: str) -> list[dict[str, Any]]:
    """The metadata of each row as dicts (for QIDO includefield)."""
    result: list[dict[str, Any]] = json.loads(render(instance_objects(rows), root))
    return result


def forget(instance: Instance) -> None:
    try:
        cache.delete(cache_key(instance))
    except Exception as exc:
        log.warning("metadata cache unavailable: %s", exc)
