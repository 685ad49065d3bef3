"""Index an upstream DICOMweb server into our tables (proxy mode; `manage.py index_upstream`).

Per study (QIDO-RS) and series (QIDO-RS), one WADO-RS series metadata request gives every
instance's attributes; rows are created with source="upstream" and no stored bytes. Running it
again adds what is new and leaves known instances alone. The metadata is put in our metadata
cache at once, so the first viewer to open a study does not wait for the upstream.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydicom
from django.db import transaction

from studies.dicomweb import metadata as metadata_cache
from studies.dicomweb.links import series_path, study_path
from studies.dicomweb.upstream import UpstreamClient, UpstreamError, upstream_attributes
from studies.indexing import image_fields, index_series, text
from studies.models import Instance

TRANSFER_SYNTAX = "00020010"
AVAILABLE_TRANSFER_SYNTAX = "00083002"


@dataclass
class IndexSummary:
    studies: int = 0
    series: int = 0
    instances_new: int = 0
    instances_known: int = 0


def _value(attributes: dict[str, Any], tag: str) -> Any:
    values = attributes.get(tag, {}).get("Value") or [None]
    return values[0]


def _dataset(attributes: dict[str, Any]) -> pydicom.Dataset:
    plain = {
        t: v for t, v in attributes.items() if "BulkDataURI" not in v and "InlineBinary" not in v
    }
    return pydicom.Dataset.from_json(plain)


def _syntax(client: UpstreamClient, attributes: dict[str, Any], uids: tuple[str, str, str]) -> str:
    syntax = _value(attributes, TRANSFER_SYNTAX) or _value(attributes, AVAILABLE_TRANSFER_SYNTAX)
    if syntax:
        return str(syntax)
    _, syntax = client.frame(*uids, 1)  # the upstream says it only in the frame's media type
    return syntax


@transaction.atomic
def _index_instance(attributes: dict[str, Any], syntax: str) -> Instance:
    ds = _dataset(attributes)
    fields = image_fields(ds)
    # The upstream's QIDO/metadata may leave Rows/Columns out of sparse objects; keep None then.
    return Instance.objects.create(
        series=index_series(ds),
        transfer_syntax_uid=syntax,
        burned_in_annotation=text(ds, "BurnedInAnnotation", 3),
        source="upstream",
        storage_key="",
        sha256="",
        **fields,
    )


def index_upstream(
    *,
    project: Any = None,
    client: UpstreamClient | None = None,
    progress: Callable[[str], None] | None = None,
) -> IndexSummary:
    from studies.projects_seam import projects

    client = client or UpstreamClient()
    summary = IndexSummary()
    for study_json in client.search("/studies"):
        study_uid = str(_value(study_json, "0020000D"))
        summary.studies += 1
        for series_json in client.search(study_path(study_uid) + "/series"):
            series_uid = str(_value(series_json, "0020000E"))
            summary.series += 1
            found = client.json(series_path(study_uid, series_uid) + "/metadata")
            for attributes in found:
                sop = str(_value(attributes, "00080018"))
                instance = Instance.objects.filter(sop_instance_uid=sop).first()
                if instance is not None:
                    summary.instances_known += 1
                else:
                    if not _value(attributes, "00280010"):
                        continue  # not an image: nothing for a viewer to label
                    syntax = _syntax(client, attributes, (study_uid, series_uid, sop))
                    instance = _index_instance(attributes, syntax)
                    summary.instances_new += 1
                    cached = upstream_attributes(attributes, instance, study_uid, series_uid)
                    metadata_cache._cache_set_many(
                        {metadata_cache.cache_key(instance): json.dumps(cached).encode()}
                    )
                if project is not None:
                    projects().create_items(project, [instance])
            if progress:
                progress(f"{study_uid} / {series_uid}: {len(found)} instance(s)")
    return summary


__all__ = ["IndexSummary", "UpstreamError", "index_upstream"]
