"""Absolute DICOMweb URLs (RetrieveURL, BulkDataURI, Content-Location).

PS3.18 §8.3.2 wants absolute URIs. They are built from settings.DICOMWEB_BASE_URL when it is set
(it must carry the port, e.g. http://pacs.example:8000, or clients follow links to the wrong
place; see notes/stack-and-orthanc.md P10), else from the request's scheme and Host header,
which includes the port.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def base_url(request: HttpRequest) -> str:
    configured = (getattr(settings, "DICOMWEB_BASE_URL", "") or "").rstrip("/")
    if configured:
        return configured
    return f"{request.scheme}://{request.get_host()}"


def root_url(request: HttpRequest, project_id: int | None) -> str:
    root = f"{base_url(request)}/dicomweb"
    return f"{root}/projects/{project_id}" if project_id is not None else root


def study_path(study: str) -> str:
    return f"/studies/{study}"


def series_path(study: str, series: str) -> str:
    return f"/studies/{study}/series/{series}"


def instance_path(study: str, series: str, sop: str) -> str:
    return f"/studies/{study}/series/{series}/instances/{sop}"
