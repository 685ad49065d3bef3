"""Export API (docs/api.md, "Exports"). Thin views over annotations.exports.services."""

from __future__ import annotations

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.exports import services
from annotations.exports.models import ExportJob
from annotations.exports.runner import archive_root
from annotations.exports.serializers import (
    ExportJobSerializer,
    ExportRequestSerializer,
    SnapshotSerializer,
)
from annotations.exports.snapshots import schema_of
from learning.models import DatasetSnapshot


def _job(request: Request, job_id: int) -> ExportJob:
    job = ExportJob.objects.for_user(request.user).select_related("snapshot").filter(pk=job_id)
    found = job.first()
    if found is None:
        raise Http404("no such export")
    return found


class ProjectSnapshots(APIView):
    """GET: the project's snapshots, newest first. POST: freeze the current ground truth
    (201 when new, 200 when the labels are unchanged since an existing snapshot)."""

    @extend_schema(responses=SnapshotSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = services.check_can_export(request.user, project_id)
        snapshots = DatasetSnapshot.objects.filter(project=project).order_by("-created_at", "-id")
        return Response(SnapshotSerializer(snapshots, many=True).data)

    @extend_schema(request=None, responses={200: SnapshotSerializer, 201: SnapshotSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project = services.check_can_export(request.user, project_id)
        known = set(DatasetSnapshot.objects.filter(project=project).values_list("pk", flat=True))
        snapshot = services.do_freeze_snapshot(request.user, project)
        code = status.HTTP_200_OK if snapshot.pk in known else status.HTTP_201_CREATED
        return Response(SnapshotSerializer(snapshot).data, status=code)


class SnapshotDetail(APIView):
    @extend_schema(responses=SnapshotSerializer)
    def get(self, request: Request, snapshot_id: int) -> Response:
        snapshot = DatasetSnapshot.objects.filter(pk=snapshot_id).first()
        if snapshot is None:
            raise Http404("no such snapshot")
        services.check_can_export(request.user, snapshot.project_id)
        return Response(SnapshotSerializer(snapshot).data)


class ProjectExports(APIView):
    """GET: the project's export jobs. POST {"formats": [...], "snapshot"?: id, "options"?:
    {"deidentify", "bit_depth", "include_burned_in"}} → 202 with the queued job."""

    @extend_schema(responses=ExportJobSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = services.check_can_export(request.user, project_id)
        jobs = ExportJob.objects.filter(project=project).select_related("snapshot")
        return Response(ExportJobSerializer(jobs, many=True).data)

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportJobSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project = services.check_can_export(request.user, project_id)
        export_request = services.check_export_request(request.user, project, request.data)
        job = services.do_create_export(request.user, project, export_request)
        return Response(ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportDetail(APIView):
    @extend_schema(responses=ExportJobSerializer)
    def get(self, request: Request, job_id: int) -> Response:
        return Response(ExportJobSerializer(_job(request, job_id)).data)


class ExportCancel(APIView):
    @extend_schema(request=None, responses=ExportJobSerializer)
    def post(self, request: Request, job_id: int) -> Response:
        job = _job(request, job_id)
        try:
            job = services.do_cancel(job)
        except services.ExportFinished as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ExportJobSerializer(job).data)


class ExportDownload(APIView):
    """The archive as application/zip; 409 while not finished, 410 once expired or deleted."""

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request: Request, job_id: int) -> Response | FileResponse:
        job = _job(request, job_id)
        path = services.archive_path(job)
        if path is None:
            code = status.HTTP_409_CONFLICT if job.status in ("queued", "running") else 410
            return Response({"detail": f"no archive to download (export {job.status})"}, code)
        name = f"{archive_root(schema_of(job.snapshot))}.zip"
        response = FileResponse(
            path.open("rb"), as_attachment=True, filename=name, content_type="application/zip"
        )
        response["ETag"] = f'"{job.sha256}"'
        return response
