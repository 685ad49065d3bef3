"""WADO-URI (PS3.18 §9): GET /wado?requestType=WADO&studyUID=..&seriesUID=..&objectUID=..

contentType=application/dicom returns the Part 10 object (transferSyntax=UID picks the encoding,
default Explicit VR Little Endian, PS3.18 §9.1.2.1.5; `*` sends it as stored); image/jpeg (the
default) and image/png return a rendered frame (frameNumber, or `frame` as Cornerstone's
wadouri image ids spell it; windowCenter/windowWidth; rows/columns as the viewport).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

from core.params import MAX_DATABASE_ID, bounded_int
from studies.dicomweb import rendering, retrieve
from studies.dicomweb.access import log_access
from studies.dicomweb.errors import bad_request, not_acceptable
from studies.dicomweb.media import EXPLICIT_VR_LITTLE_ENDIAN, InstanceEncoding
from studies.dicomweb.scope import Scope
from studies.dicomweb.views import _instances, _rendered, dicomweb_view


def _required(request: HttpRequest, name: str) -> str:
    value = request.GET.get(name, "").strip()
    if not value:
        raise bad_request(f"WADO-URI parameter {name} is required")
    return value


def _int(request: HttpRequest, *names: str, maximum: int = MAX_DATABASE_ID) -> int | None:
    for name in names:
        raw = request.GET.get(name)
        if raw:
            try:
                return bounded_int(raw, name, minimum=1, maximum=maximum)
            except ValueError as exc:
                raise bad_request(str(exc)) from exc
    return None


def _render_options(request: HttpRequest, media_type: str) -> rendering.RenderOptions:
    center, width = request.GET.get("windowCenter"), request.GET.get("windowWidth")
    if bool(center) != bool(width):
        raise bad_request("windowCenter and windowWidth go together")
    window = rendering.parse_window(f"{center},{width}") if center else None
    # The rendered endpoint's viewport cap: rows/columns are the same request in WADO-URI.
    rows = _int(request, "rows", maximum=rendering.MAX_VIEWPORT)
    columns = _int(request, "columns", maximum=rendering.MAX_VIEWPORT)
    viewport = None
    if rows or columns:
        viewport = (columns or rendering.MAX_VIEWPORT, rows or rendering.MAX_VIEWPORT)
    quality = rendering.parse_quality(request.GET.get("imageQuality"))
    return rendering.RenderOptions(media_type, window, viewport, None, quality)


@dicomweb_view(("GET",))
def wado_uri(request: HttpRequest, scope: Scope) -> HttpResponseBase:
    if request.GET.get("requestType") != "WADO":
        raise bad_request("requestType=WADO is required (PS3.18 §9.1.2.1.1)")
    study = _required(request, "studyUID")
    found = _instances(
        scope, study, _required(request, "seriesUID"), _required(request, "objectUID")
    )[0]
    content_type = (request.GET.get("contentType") or "image/jpeg").split(",")[0].strip().lower()
    if content_type == "application/dicom":
        syntax = request.GET.get("transferSyntax") or EXPLICIT_VR_LITTLE_ENDIAN
        encoding = InstanceEncoding(syntax, multipart=False)
        retrieve.check_available([found], encoding)
        log_access(request, "wado-uri", [study], project=scope.project_id)
        return StreamingHttpResponse(
            retrieve.instance_chunks(found, encoding), content_type="application/dicom"
        )
    if content_type not in rendering_types():
        raise not_acceptable(f"contentType {content_type!r} is not available")
    number = _int(request, "frameNumber", "frame", maximum=2**31 - 1) or 1
    return _rendered(
        request, scope, found, number, study, _render_options(request, content_type), "wado-uri"
    )


def rendering_types() -> tuple[str, ...]:
    return ("image/jpeg", "image/png")
