"""POST /api/v1/uploads/ (multipart: one or more `files`, optional `project`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studies.upload_schema import UploadRequestSerializer, UploadResultSerializer
from studies.uploads import check_upload_target, do_upload, outcome_json


class UploadView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": UploadRequestSerializer}, responses=UploadResultSerializer
    )
    def post(self, request: Request) -> Response:
        project = check_upload_target(request.user, request.data.get("project"))
        files = request.FILES.getlist("files")
        if not files:
            return Response({"files": ["attach one or more files (DICOM or .zip)"]}, status=400)
        summary = do_upload(files, project=project, user=request.user)
        return Response(
            {
                "counts": summary.counts,
                "results": [outcome_json(o) for o in summary.outcomes],
            }
        )
