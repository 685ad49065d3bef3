"""POST /api/v1/uploads/ (multipart: one or more `files`, optional `project`; optional
Idempotency-Key header: a retry with the same key replays the first answer, decision 0935)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studies.upload_receipts import KeyReused, answer_once, check_upload_key, fingerprint
from studies.upload_schema import UploadRequestSerializer, UploadResultSerializer
from studies.uploads import check_upload_target, do_upload, outcome_json

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="one per request (kept across retries): a retry replays the first answer",
)


class UploadView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": UploadRequestSerializer},
        responses={200: UploadResultSerializer, 409: None},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request) -> Response:
        project_id = request.data.get("project")
        project = check_upload_target(request.user, project_id)
        key = check_upload_key(request.headers.get("Idempotency-Key"))
        files = request.FILES.getlist("files")
        if not files:
            return Response({"files": ["attach one or more files (DICOM or .zip)"]}, status=400)

        def ingest() -> dict[str, Any]:
            summary, file_of = do_upload(files, project=project, user=request.user)
            return {
                "counts": summary.counts,
                "results": [
                    outcome_json(o, i) for o, i in zip(summary.outcomes, file_of, strict=True)
                ],
            }

        try:
            answer = answer_once(request.user, key, fingerprint(project_id, files), ingest)
        except KeyReused as exc:
            return Response({"Idempotency-Key": [str(exc)]}, status=409)
        return Response(answer)
