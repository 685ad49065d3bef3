"""Dashboard, heat map and study report endpoints: thin views over reports.services."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access
from reports.models import HeatMap, HeatMapStatus
from reports.serializers import Dashboard, HeatmapPending, ReportLink, ReportPreparing, Workers
from reports.services import dashboard, workers
from reports.services.heatmap_dicom import heatmap_dicom
from reports.services.heatmaps import check_can_see_heatmap, do_request_heatmap
from reports.services.report_pdf import render_pdf
from reports.services.study_report import build_report, check_can_see_report, report_links


def _heatmap_responses(media_type: str) -> dict[object, object]:
    return {
        (200, media_type): OpenApiTypes.BINARY,
        202: OpenApiResponse(HeatmapPending, description="queued or running: poll again"),
        422: OpenApiResponse(HeatmapPending, description="the explanation failed"),
    }


def _pending_or_failed(heatmap: HeatMap) -> Response:
    if heatmap.status == HeatMapStatus.FAILED:
        return Response({"status": "failed", "detail": heatmap.error}, status=422)
    # 202 while the infer queue computes it; poll again (RFC 9110 §10.2.3 Retry-After).
    return Response({"status": heatmap.status}, status=202, headers={"Retry-After": "2"})


class ItemHeatmap(APIView):
    @extend_schema(responses=_heatmap_responses("image/png"))
    def get(self, request: Request, item_id: int) -> Response | FileResponse:
        item, version = check_can_see_heatmap(access.signed_in(request), item_id)
        heatmap = do_request_heatmap(item, version).heatmap
        if heatmap.status != HeatMapStatus.READY:
            return _pending_or_failed(heatmap)
        response = FileResponse(open(heatmap.png_path, "rb"), content_type="image/png")  # noqa: SIM115
        response["X-Model-Version"] = str(version.number)
        response["Cache-Control"] = "private, max-age=3600"
        return response


class ItemHeatmapDicom(APIView):
    @extend_schema(responses=_heatmap_responses("application/dicom"))
    def get(self, request: Request, item_id: int) -> Response | HttpResponse:
        item, version = check_can_see_heatmap(access.signed_in(request), item_id)
        heatmap = do_request_heatmap(item, version).heatmap
        if heatmap.status != HeatMapStatus.READY:
            return _pending_or_failed(heatmap)
        response = HttpResponse(heatmap_dicom(heatmap), content_type="application/dicom")
        response["Content-Disposition"] = f'attachment; filename="heatmap-item-{item.pk}.dcm"'
        return response


class ProjectDashboard(APIView):
    @extend_schema(responses=Dashboard)
    def get(self, request: Request, project_id: int) -> Response:
        user = access.signed_in(request)
        project = access.project_for_member(user, project_id)
        access.require_reviewer(user, project)
        return Response(dashboard.project_dashboard(project))


class ProjectWorkers(APIView):
    @extend_schema(responses=Workers)
    def get(self, request: Request, project_id: int) -> Response:
        user = access.signed_in(request)
        access.require_reviewer(user, access.project_for_member(user, project_id))
        return Response({"workers": workers.alive_workers(), "queues": workers.queue_lengths()})


class StudyReportPage(APIView):
    @extend_schema(
        responses={
            (200, "text/html"): OpenApiTypes.STR,
            (202, "text/html"): OpenApiTypes.STR,
        }
    )
    def get(self, request: Request, project_id: int, study_uid: str) -> HttpResponse:
        user = access.signed_in(request)
        project, study = check_can_see_report(user, project_id, study_uid)
        report = build_report(project, study, user)
        pdf_url = f"/api/v1/projects/{project.pk}/studies/{study.study_instance_uid}/report.pdf"
        context = {"report": report, "pdf_url": pdf_url}
        if report.pending:
            # 202 and a page that reloads itself until every heat map is computed.
            page = render(request._request, "reports/study_report_pending.html", context)
            page.status_code = 202
            page["Retry-After"] = "2"
            return page
        return render(request._request, "reports/study_report.html", context)


class StudyReportPdf(APIView):
    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            202: OpenApiResponse(
                ReportPreparing, description="heat maps still being computed: poll again"
            ),
        }
    )
    def get(self, request: Request, project_id: int, study_uid: str) -> HttpResponse | Response:
        user = access.signed_in(request)
        project, study = check_can_see_report(user, project_id, study_uid)
        report = build_report(project, study, user)
        if report.pending:
            return Response(
                {"status": "preparing", "pending_heatmaps": report.pending},
                status=202,
                headers={"Retry-After": "2"},
            )
        response = HttpResponse(render_pdf(report), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="ai-report-{study.pk}.pdf"'
        return response


class StudyReportLinks(APIView):
    """The AI reports of a study the caller may read, one per project holding it."""

    @extend_schema(responses=ReportLink(many=True))
    def get(self, request: Request, study_uid: str) -> Response:
        return Response(report_links(access.signed_in(request), study_uid))
