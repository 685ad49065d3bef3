"""Learning REST API: training runs, model versions, promotion and rollback. Thin views over
learning.services; access rules live in the querysets (outsiders get 404, members read, project
admins act)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.access import is_project_admin, project_for_member
from learning.model_settings import registry_description
from learning.models import ModelVersion, PretrainedWeights, TrainingRun
from learning.serializers import (
    ModelRegistrySerializer,
    ModelSettingsSerializer,
    ModelVersionSerializer,
    ModelVersionSummarySerializer,
    PretrainedUploadSerializer,
    PretrainedWeightsSerializer,
    QueuedRunSerializer,
    RescoreResultSerializer,
    RetrainRequestSerializer,
    TrainingRunSerializer,
)
from learning.services import pretrained, project_model, registry, runs, scoring_requests
from learning.services.registry import RegistryError
from learning.services.runs import RunError
from learning.training_config import SearchRequestSerializer, validated_run_config, validated_search


def _error(exc: RunError | RegistryError) -> Response:
    return Response({"detail": str(exc)}, status=exc.status)


class ProjectTrainingRuns(APIView):
    @extend_schema(responses=TrainingRunSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = project_for_member(request.user, project_id)
        runs.fail_stale_runs()
        queryset = TrainingRun.objects.filter(project=project).select_related("requested_by")
        return Response(TrainingRunSerializer(queryset.order_by("-pk")[:50], many=True).data)

    @extend_schema(request=RetrainRequestSerializer, responses={202: QueuedRunSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        """Retrain now: 202 with the queued run (an existing queued run when coalesced)."""
        project = project_for_member(request.user, project_id)
        try:
            runs.check_can_request_run(request.user, project)
        except RunError as exc:
            return _error(exc)
        body = request.data if isinstance(request.data, dict) else {}
        config = validated_run_config(body.get("config"))
        run, created = runs.do_request_run(project, user=request.user, config=config)
        body = TrainingRunSerializer(run).data | {"coalesced": not created}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class TrainingRunDetail(APIView):
    @extend_schema(responses=TrainingRunSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        runs.fail_stale_runs()
        run = _run_for(request, run_id)
        return Response(TrainingRunSerializer(run).data)


class TrainingRunCancel(APIView):
    @extend_schema(request=None, responses={202: TrainingRunSerializer})
    def post(self, request: Request, run_id: int) -> Response:
        run = _run_for(request, run_id)
        try:
            runs.check_can_cancel(request.user, run)
        except RunError as exc:
            return _error(exc)
        run = runs.do_cancel(run)
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ProjectModelVersions(APIView):
    @extend_schema(responses=ModelVersionSummarySerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = project_for_member(request.user, project_id)
        versions = ModelVersion.objects.filter(project=project).select_related("snapshot")
        data = ModelVersionSummarySerializer(versions.order_by("-number"), many=True).data
        return Response(data)


class ModelVersionDetail(APIView):
    @extend_schema(responses=ModelVersionSerializer)
    def get(self, request: Request, version_id: int) -> Response:
        return Response(ModelVersionSerializer(_version_for(request, version_id)).data)


class ModelVersionActivate(APIView):
    @extend_schema(request=None, responses=ModelVersionSerializer)
    def post(self, request: Request, version_id: int) -> Response:
        """Promote a candidate or roll back to an older version (project admins)."""
        version = _version_for(request, version_id)
        try:
            registry.check_can_activate(request.user, version)
        except RegistryError as exc:
            return _error(exc)
        return Response(ModelVersionSerializer(registry.activate(version)).data)


class ProjectRescore(APIView):
    @extend_schema(request=None, responses={202: RescoreResultSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        """Rescore the pool now: with the active model, or the cold-start choice if none."""
        project = project_for_member(request.user, project_id)
        try:
            what = scoring_requests.request_rescore(request.user, project)
        except RunError as exc:
            return _error(exc)
        return Response({"scoring": what}, status=status.HTTP_202_ACCEPTED)


def _run_for(request: Request, run_id: int) -> TrainingRun:
    qs = TrainingRun.objects.for_member(request.user).select_related("project", "requested_by")
    run = qs.filter(pk=run_id).first()
    if run is None:
        raise Http404("no such training run")
    return run


def _version_for(request: Request, version_id: int) -> ModelVersion:
    qs = ModelVersion.objects.for_member(request.user).select_related("project", "snapshot")
    version = qs.filter(pk=version_id).first()
    if version is None:
        raise Http404("no such model version")
    return version


class ProjectPretrainedWeights(APIView):
    """GET: the uploaded checkpoints (newest is used); POST (admins): upload one as `file`, or
    name `model_version`: a version of a project the admin belongs to, copied as the start."""

    @extend_schema(responses=PretrainedWeightsSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = project_for_member(request.user, project_id)
        rows = PretrainedWeights.objects.filter(project=project).order_by("-pk")
        return Response(PretrainedWeightsSerializer(rows, many=True).data)

    @extend_schema(
        request={
            "multipart/form-data": PretrainedUploadSerializer,
            "application/json": PretrainedUploadSerializer,
        },
        responses={201: PretrainedWeightsSerializer},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = project_for_member(request.user, project_id)
        if not is_project_admin(request.user, project):
            return Response({"detail": "only project admins upload weights"}, status=403)
        upload = request.FILES.get("file")
        source_id = request.data.get("model_version") if upload is None else None
        if upload is None and source_id in (None, ""):
            return Response(
                {"file": "attach the checkpoint as the `file` field, or name a `model_version`"},
                status=400,
            )
        try:
            if upload is not None:
                row = pretrained.do_store_pretrained(
                    project, upload, upload.name or "", request.user.pk
                )
            else:
                version = _source_version(request, source_id)
                if version is None:
                    return Response({"model_version": "no such model version"}, status=400)
                row = pretrained.do_store_version_weights(project, version, request.user.pk)
        except pretrained.PretrainedError as exc:
            return Response({"file": str(exc)}, status=400)
        return Response(PretrainedWeightsSerializer(row).data, status=status.HTTP_201_CREATED)


class ProjectHparamSearches(APIView):
    """A project's hyperparameter searches (training runs whose config holds "search"); their
    trials and scores are in each run's progress["search"]."""

    @extend_schema(responses=TrainingRunSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = project_for_member(request.user, project_id)
        runs.fail_stale_runs()
        queryset = TrainingRun.objects.filter(project=project, config__has_key="search")
        return Response(TrainingRunSerializer(queryset.order_by("-pk")[:20], many=True).data)

    @extend_schema(request=SearchRequestSerializer, responses={202: QueuedRunSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        """Start a search: 202 with its run (cancel it like any run)."""
        project = project_for_member(request.user, project_id)
        try:
            runs.check_can_request_run(request.user, project)
        except RunError as exc:
            return _error(exc)
        body = dict(request.data) if isinstance(request.data, dict) else request.data
        overrides = validated_run_config(body.pop("config", None)) if isinstance(body, dict) else {}
        search = validated_search(body)
        run, created = runs.do_request_run(
            project, user=request.user, trigger="search", config={**overrides, "search": search}
        )
        body = TrainingRunSerializer(run).data | {"coalesced": not created}
        return Response(body, status=status.HTTP_202_ACCEPTED)


def _source_version(request: Request, source_id: object) -> ModelVersion | None:
    """A classification version the user may see (an outsider's version reads as unknown)."""
    try:
        pk = int(str(source_id))
    except ValueError:
        return None
    qs = ModelVersion.objects.for_member(request.user).select_related("project")
    return qs.filter(pk=pk, project__task_type="classification").first()


class ModelArchitectures(APIView):
    """The registry of architectures and the ranges of every model setting (no torch here)."""

    @extend_schema(responses=ModelRegistrySerializer)
    def get(self, request: Request) -> Response:
        return Response(registry_description())


class ProjectModelSettings(APIView):
    """GET (members): the project's model settings. PATCH (admins): change some of them; any
    unknown key or value out of range is a 400 naming the field and why, and nothing changes."""

    @extend_schema(responses=ModelSettingsSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        project = project_for_member(request.user, project_id)
        return Response(project_model.model_settings_of(project))

    @extend_schema(request=ModelSettingsSerializer, responses=ModelSettingsSerializer)
    def patch(self, request: Request, project_id: int) -> Response:
        project = project_for_member(request.user, project_id)
        if not is_project_admin(request.user, project):
            return Response({"detail": "only project admins change model settings"}, status=403)
        try:
            return Response(project_model.do_update_model_settings(project, request.data))
        except project_model.ModelSettingsError as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
