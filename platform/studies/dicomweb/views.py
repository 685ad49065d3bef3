"""DICOMweb HTTP endpoints (PS3.18 §10): thin views over the services in this package.

Every view is wrapped by `dicomweb_view`: authentication (session or token, 401 otherwise),
the scope of the root it was called under (global or a project), and DicomwebError → response.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from studies.dicomweb import metadata, multipart, pixels, qido, rendering, retrieve, stow
from studies.dicomweb.access import access_events, log_access
from studies.dicomweb.auth import authenticate
from studies.dicomweb.errors import DicomwebError, bad_request, not_acceptable, not_found
from studies.dicomweb.links import instance_path
from studies.dicomweb.media import (
    DICOM_JSON,
    choose_instance_encoding,
    choose_rendered_type,
    parse_accept,
)
from studies.dicomweb.scope import Scope, scope_for
from studies.models import Instance

Response = HttpResponseBase
View = Callable[..., Response]
_INSTANCE_FIELDS = (
    "id",
    "sop_instance_uid",
    "sop_class_uid",
    "transfer_syntax_uid",
    "number_of_frames",
    "rows",
    "columns",
    "samples_per_pixel",
    "bits_allocated",
    "bits_stored",
    "pixel_representation",
    "photometric_interpretation",
    "planar_configuration",
    "frame_offsets",
    "storage_key",
    "source",
    "sha256",
    "window_center",
    "window_width",
    "rescale_slope",
    "rescale_intercept",
)


def dicomweb_view(methods: tuple[str, ...]) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @csrf_exempt  # session requests are CSRF-checked in authenticate(); tokens need none
        @wraps(view)
        def wrapper(
            request: HttpRequest, *args: Any, project_id: int | None = None, **kwargs: Any
        ) -> Response:
            try:
                if request.method not in methods:
                    raise DicomwebError(405, f"{request.method} is not allowed here")
                user = authenticate(request)
                scope = scope_for(request, user, project_id)
                return view(request, scope, *args, **kwargs)
            except DicomwebError as error:
                response = error.response()
                if error.status == 405:
                    response["Allow"] = ", ".join(methods)
                return response

        # Every DICOMweb view's GETs, and its token-authenticated writes, may take the short
        # middleware path (lean_reads.py).
        wrapper.dicomweb_read = True  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _json(body: Any, *, warnings: list[str] | None = None, status: int = 200) -> Response:
    content = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":"))
    response = HttpResponse(content, status=status, content_type=DICOM_JSON)
    if warnings:
        # PS3.18 §8.3.4 / RFC 7234 §5.5: Warning: 299 <agent> "<text>"
        response["Warning"] = ", ".join(f'299 radloop "{w}"' for w in warnings)
    return response


def _accept(request: HttpRequest) -> list[Any]:
    # PS3.18 §8.3.3.1: an `accept` query parameter overrides the Accept header.
    return parse_accept(request.GET.get("accept") or request.META.get("HTTP_ACCEPT"))


# -- QIDO-RS and STOW-RS ------------------------------------------------------------------------


def _search(request: HttpRequest, scope: Scope, level: str, **where: str | None) -> Response:
    scope.check_project()
    if (
        where.get("study") is not None
        and not scope.studies().filter(study_instance_uid=where["study"]).exists()
    ):
        raise not_found("study")
    query = qido.parse_query(request.GET, level)
    if level == "study":
        objects, more = qido.search_studies(scope, query)
    elif level == "series":
        objects, more = qido.search_series(scope, query, study=where.get("study"))
    else:
        objects, more = qido.search_instances(scope, query, **where)  # type: ignore[arg-type]
    if more:
        query.warnings.append("There are more results; ask again with offset and limit")
    log_access(request, "qido", qido.study_uids(objects), project=scope.project_id, level=level)
    return _json(objects, warnings=query.warnings)


def _store(request: HttpRequest, scope: Scope, study: str | None) -> Response:
    scope.check_project()
    boundary = stow.check_stow_request(request.META.get("CONTENT_TYPE", ""), scope.can_store())
    parts = multipart.parse(_request_body(request), boundary)
    project = _project(scope)

    def audit(result: stow.StowResult) -> list[Any]:
        return access_events(
            request,
            "stow",
            result.studies,
            project=scope.project_id,
            stored=len(result.referenced),
            failed=len(result.failed),
        )

    result = stow.store_parts(
        parts, root=scope.root, user=scope.user, project=project, study=study, audit=audit
    )
    return _json(result.dataset(scope.root), warnings=result.reasons, status=result.status)


def _request_body(request: HttpRequest) -> bytes:
    """The STOW-RS body, never more than DICOM_MAX_UPLOAD_BYTES however it is framed (413)."""
    limit = settings.DICOM_MAX_UPLOAD_BYTES
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        raise DicomwebError(413, f"the body is {declared} bytes, over the {limit} byte limit")
    # A chunked upload has no Content-Length; WSGI servers that de-chunk (gunicorn) mark the
    # input as terminated, so it can be read to its end (PEP 3333 + wsgi.input_terminated):
    # read in pieces and stop past the limit, so a client cannot make us buffer any size.
    chunked = request.META.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    if chunked and not declared and request.META.get("wsgi.input_terminated"):
        stream, pieces, size = request.META["wsgi.input"], [], 0
        while piece := stream.read(min(1024 * 1024, limit + 1 - size)):
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                raise DicomwebError(413, f"the chunked body is over the {limit} byte limit")
        return b"".join(pieces)
    return request.body


def _project(scope: Scope) -> Any:
    if scope.project_id is None:
        return None
    from studies.projects_seam import projects

    return projects().find_project(scope.project_id)


@dicomweb_view(("GET", "POST"))
def studies(request: HttpRequest, scope: Scope) -> Response:
    if request.method == "POST":
        return _store(request, scope, None)
    return _search(request, scope, "study")


@dicomweb_view(("GET",))
def all_series(request: HttpRequest, scope: Scope) -> Response:
    return _search(request, scope, "series")


@dicomweb_view(("GET",))
def all_instances(request: HttpRequest, scope: Scope) -> Response:
    return _search(request, scope, "instance", study=None, series=None)


@dicomweb_view(("GET",))
def study_series(request: HttpRequest, scope: Scope, study: str) -> Response:
    return _search(request, scope, "series", study=study)


@dicomweb_view(("GET",))
def study_instances(request: HttpRequest, scope: Scope, study: str) -> Response:
    return _search(request, scope, "instance", study=study, series=None)


@dicomweb_view(("GET",))
def series_instances(request: HttpRequest, scope: Scope, study: str, series: str) -> Response:
    return _search(request, scope, "instance", study=study, series=series)


# -- WADO-RS: instances and metadata ------------------------------------------------------------


def _instances(
    scope: Scope, study: str, series: str | None = None, sop: str | None = None
) -> list[Instance]:
    queryset = scope.instances().filter(series__study__study_instance_uid=study)
    if series is not None:
        queryset = queryset.filter(series__series_instance_uid=series)
    if sop is not None:
        queryset = queryset.filter(sop_instance_uid=sop)
    found = list(
        queryset.select_related("series")
        .only(*_INSTANCE_FIELDS, "series", "series__series_instance_uid")
        .order_by("series__series_number", "series_id", "instance_number", "pk")
    )
    if not found:
        raise not_found("instance" if sop else "series" if series else "study")
    return found


def _retrieve(
    request: HttpRequest,
    scope: Scope,
    study: str,
    series: str | None = None,
    sop: str | None = None,
) -> Response:
    instances = _instances(scope, study, series, sop)
    encoding = retrieve.check_encoding(choose_instance_encoding(_accept(request)))
    retrieve.check_available(instances, encoding)
    log_access(request, "wado-retrieve", [study], project=scope.project_id, series=series, sop=sop)
    if not encoding.multipart and len(instances) == 1:
        return StreamingHttpResponse(
            retrieve.instance_chunks(instances[0], encoding), content_type="application/dicom"
        )
    boundary = multipart.new_boundary()
    return StreamingHttpResponse(
        retrieve.multipart_stream(instances, encoding, boundary),
        content_type=retrieve.response_type(encoding, boundary),
    )


def _metadata(
    request: HttpRequest,
    scope: Scope,
    study: str,
    series: str | None = None,
    sop: str | None = None,
) -> Response:
    if series is not None and sop is not None:
        # One instance: the access-checked row comes from hotcache, as on the frame path.
        rows = [(scope.instance(study, series, sop, *_INSTANCE_FIELDS), study, series)]
    else:
        rows = [(i, study, i.series.series_instance_uid) for i in _instances(scope, study, series)]
    if not any(
        m.media_type in ("*/*", "application/*", DICOM_JSON, "application/json")
        for m in _accept(request)
    ):
        raise not_acceptable("metadata is available as application/dicom+json")
    body = metadata.render(metadata.instance_objects(rows), scope.root)
    log_access(request, "wado-metadata", [study], project=scope.project_id, series=series, sop=sop)
    return _json(body)


@dicomweb_view(("GET", "POST"))
def study(request: HttpRequest, scope: Scope, study: str) -> Response:
    if request.method == "POST":
        return _store(request, scope, study)
    return _retrieve(request, scope, study)


@dicomweb_view(("GET",))
def series(request: HttpRequest, scope: Scope, study: str, series: str) -> Response:
    return _retrieve(request, scope, study, series)


@dicomweb_view(("GET",))
def instance(request: HttpRequest, scope: Scope, study: str, series: str, sop: str) -> Response:
    return _retrieve(request, scope, study, series, sop)


@dicomweb_view(("GET",))
def study_metadata(request: HttpRequest, scope: Scope, study: str) -> Response:
    return _metadata(request, scope, study)


@dicomweb_view(("GET",))
def series_metadata(request: HttpRequest, scope: Scope, study: str, series: str) -> Response:
    return _metadata(request, scope, study, series)


@dicomweb_view(("GET",))
def instance_metadata(
    request: HttpRequest, scope: Scope, study: str, series: str, sop: str
) -> Response:
    return _metadata(request, scope, study, series, sop)


# -- WADO-RS: frames, bulk data, rendered, thumbnails ------------------------------------------


@dicomweb_view(("GET",))
def frames(
    request: HttpRequest, scope: Scope, study: str, series: str, sop: str, frame_list: str
) -> Response:
    found = scope.instance(study, series, sop, *_INSTANCE_FIELDS)
    numbers = pixels.parse_frame_list(frame_list, found.number_of_frames)
    location = scope.root + instance_path(study, series, sop)
    body = pixels.frames_body(found, numbers, _accept(request), location)
    log_access(request, "wado-frames", [study], project=scope.project_id)
    return HttpResponse(body.content, content_type=body.content_type)


@dicomweb_view(("GET",))
def bulkdata(
    request: HttpRequest, scope: Scope, study: str, series: str, sop: str, tag: str
) -> Response:
    found = scope.instance(study, series, sop, *_INSTANCE_FIELDS)
    body = pixels.bulkdata_body(found, tag, _accept(request), scope.root, study, series)
    log_access(request, "wado-bulkdata", [study], project=scope.project_id)
    return HttpResponse(body.content, content_type=body.content_type)


def render_options(
    request: HttpRequest, default_viewport: tuple[int, int] | None = None
) -> rendering.RenderOptions:
    media_type = choose_rendered_type(_accept(request))
    if media_type is None:
        raise not_acceptable("rendered images are available as image/jpeg or image/png")
    viewport, region = rendering.parse_viewport(request.GET.get("viewport"))
    return rendering.RenderOptions(
        media_type=media_type,
        window=rendering.parse_window(request.GET.get("window")),
        viewport=viewport or default_viewport,
        region=region,
        quality=rendering.parse_quality(request.GET.get("quality")),
    )


def _rendered(
    request: HttpRequest,
    scope: Scope,
    found: Instance,
    number: int,
    study: str,
    options: rendering.RenderOptions,
    action: str,
) -> Response:
    if not found.rows:
        raise not_found("pixel data")
    if not 1 <= number <= found.number_of_frames:
        count = found.number_of_frames
        raise DicomwebError(
            404, f"frame {number} not found: the instance has {count} frame{'s' * (count != 1)}"
        )
    series_uid = found.series.series_instance_uid
    content = rendering.render_frame(found, number, study, series_uid, options)
    log_access(request, action, [study], project=scope.project_id)
    return HttpResponse(content, content_type=options.media_type)


@dicomweb_view(("GET",))
def instance_rendered(
    request: HttpRequest,
    scope: Scope,
    study: str,
    series: str,
    sop: str,
    frame_list: str | None = None,
) -> Response:
    # A multi-frame instance rendered as one image shows its first frame (or the one asked for).
    number = _one_frame(frame_list) if frame_list else 1
    found = _instances(scope, study, series, sop)[0]
    return _rendered(request, scope, found, number, study, render_options(request), "wado-rendered")


def _one_frame(frame_list: str) -> int:
    """The frame number of a rendered or thumbnail request: one per request, counted from 1."""
    numbers = frame_list.split(",")
    if len(numbers) != 1 or not numbers[0].isdigit():
        raise bad_request(
            f"frame {frame_list!r}: rendered frames and thumbnails are one frame per request"
        )
    if int(numbers[0]) < 1:
        raise bad_request("frame 0: frame numbers start at 1 (PS3.18 §8.3.5.1)")
    return int(numbers[0])


def _middle(instances: list[Instance]) -> Instance:
    images = [i for i in instances if i.rows] or instances
    return images[len(images) // 2]


@dicomweb_view(("GET",))
def thumbnail(
    request: HttpRequest,
    scope: Scope,
    study: str,
    series: str | None = None,
    sop: str | None = None,
    frame_list: str | None = None,
) -> Response:
    """A small rendered image of one frame, or of the instance (its middle frame), or of the
    middle instance of a series/study."""
    number = _one_frame(frame_list) if frame_list else None
    found = _middle(_instances(scope, study, series, sop))
    options = render_options(request, rendering.THUMBNAIL_VIEWPORT)
    number = number or (found.number_of_frames + 1) // 2
    return _rendered(request, scope, found, number, study, options, "wado-thumbnail")


@dicomweb_view(("GET",))
def series_rendered(request: HttpRequest, scope: Scope, study: str, series: str) -> Response:
    found = _middle(_instances(scope, study, series))
    return _rendered(request, scope, found, 1, study, render_options(request), "wado-rendered")
