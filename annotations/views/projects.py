"""Projects, label schema, members, study attachment."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access
from annotations.models import ColdStart, Membership, Project, Role, SuggestionMode, TaskType
from annotations.serializers import (
    MemberAddedSerializer,
    MemberAddSerializer,
    MemberChangeSerializer,
    MemberSerializer,
    ProjectChoicesSerializer,
    ProjectDetailSerializer,
    ProjectSerializer,
    ProjectWriteSerializer,
)
from annotations.services.attach import check_attach_request, do_attach
from annotations.services.counts import with_counts
from annotations.services.errors import Forbidden
from annotations.services.members import (
    do_add_member,
    do_change_member,
    do_remove_member,
    send_invitation,
)
from annotations.services.projects import do_create_project, do_update_project
from annotations.services.segmentation_upload import import_uploaded_set
from learning.strategy_names import (
    COLD_START_DESCRIPTIONS,
    DEFAULT_STRATEGY_BY_TASK,
    STRATEGY_DESCRIPTIONS,
    STRATEGY_NAMES,
    strategies_for,
)


class ProjectFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Project
        fields = ["name", "task_type", "unit"]


def _projects(request: Request) -> QuerySet[Project]:
    visible = Project.objects.for_member(request.user).prefetch_related("label_classes")
    return with_counts(visible, request.user).order_by("pk")


class ProjectList(generics.ListCreateAPIView[Project]):
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter

    def get_queryset(self) -> QuerySet[Project]:
        return _projects(self.request)

    @extend_schema(request=ProjectWriteSerializer, responses={201: ProjectSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = access.signed_in(request)
        if not access.may_create_projects(user):
            raise Forbidden("only site administrators and project creators create projects")
        write = ProjectWriteSerializer(data=request.data)
        write.is_valid(raise_exception=True)
        project = do_create_project(user, dict(write.validated_data))
        shown = _projects(request).get(pk=project.pk)
        return Response(
            ProjectSerializer(shown, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ProjectDetail(APIView):
    @extend_schema(responses=ProjectDetailSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        project = access.project_for_member(request.user, project_id)
        shown = _projects(request).get(pk=project.pk)
        return Response(ProjectDetailSerializer(shown, context={"request": request}).data)

    @extend_schema(request=ProjectWriteSerializer, responses=ProjectDetailSerializer)
    def patch(self, request: Request, project_id: int) -> Response:
        project = access.project_for_member(request.user, project_id)
        access.require_admin(request.user, project)
        write = ProjectWriteSerializer(project, data=request.data, partial=True)
        write.is_valid(raise_exception=True)
        do_update_project(project, dict(write.validated_data))
        shown = _projects(request).get(pk=project.pk)
        return Response(ProjectDetailSerializer(shown, context={"request": request}).data)


class ProjectChoices(APIView):
    """What the settings page offers: task types, strategies per task and cold starts, each
    with a line on what it does, suggestion modes and roles (learning.strategy_names)."""

    @extend_schema(responses=ProjectChoicesSerializer)
    def get(self, request: Request) -> Response:
        return Response(
            {
                "task_types": [value for value, _ in TaskType.choices],
                "strategies": [
                    {"name": name, "description": STRATEGY_DESCRIPTIONS[name]}
                    for name in STRATEGY_NAMES
                ],
                "strategies_by_task": {
                    task: list(strategies_for(task)) for task, _ in TaskType.choices
                },
                "default_strategy_by_task": DEFAULT_STRATEGY_BY_TASK,
                "cold_starts": [
                    {"name": value, "description": COLD_START_DESCRIPTIONS[value]}
                    for value, _ in ColdStart.choices
                ],
                "suggestion_modes": [
                    {"name": value, "description": label} for value, label in SuggestionMode.choices
                ],
                "roles": [value for value, _ in Role.choices],
                "can_create": access.may_create_projects(request.user),
                "invite_signup": settings.ALLOW_INVITE_SIGNUP,
            }
        )


class MemberList(APIView):
    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = access.project_for_member(request.user, project_id)
        members = Membership.objects.filter(project=project).select_related("user")
        return Response(MemberSerializer(members.order_by("pk"), many=True).data)

    @extend_schema(
        request=MemberAddSerializer,
        responses={200: MemberAddedSerializer, 201: MemberAddedSerializer},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = access.project_for_member(request.user, project_id)
        access.require_admin(request.user, project)
        write = MemberAddSerializer(data=request.data)
        write.is_valid(raise_exception=True)
        change = do_add_member(project, dict(write.validated_data))
        shown = change.membership
        shown.invite_link = None  # type: ignore[attr-defined]
        shown.invite_email_error = ""  # type: ignore[attr-defined]
        if change.invite_path is not None:
            link = request.build_absolute_uri(change.invite_path)
            shown.invite_link = link  # type: ignore[attr-defined]
            shown.invite_email_error = send_invitation(  # type: ignore[attr-defined]
                shown.user.email, link, project, request.user
            )
        code = status.HTTP_201_CREATED if change.created else status.HTTP_200_OK
        return Response(MemberAddedSerializer(shown).data, status=code)


class MemberDetail(APIView):
    @extend_schema(request=MemberChangeSerializer, responses=MemberSerializer)
    def patch(self, request: Request, project_id: int, user_id: int) -> Response:
        project = access.project_for_member(request.user, project_id)
        access.require_admin(request.user, project)
        write = MemberChangeSerializer(data=request.data)
        write.is_valid(raise_exception=True)
        membership = do_change_member(project, user_id, dict(write.validated_data))
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, user_id: int) -> Response:
        project = access.project_for_member(request.user, project_id)
        access.require_admin(request.user, project)
        do_remove_member(project, user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class Attach(APIView):
    @extend_schema(
        request=inline_serializer(
            "AttachRequest",
            {
                "study_uids": serializers.ListField(child=serializers.CharField(), required=False),
                "series_uids": serializers.ListField(child=serializers.CharField(), required=False),
                "sop_instance_uids": serializers.ListField(
                    child=serializers.CharField(), required=False
                ),
                "query": serializers.DictField(required=False),
            },
        ),
        responses=inline_serializer(
            "AttachResult",
            {
                "studies": serializers.IntegerField(),
                "series": serializers.IntegerField(),
                "instances": serializers.IntegerField(),
                "items_created": serializers.IntegerField(),
            },
        ),
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = access.project_for_member(request.user, project_id)
        access.require_admin(request.user, project)
        instances = check_attach_request(request.user, request.data)
        return Response(do_attach(project, instances))


class ImportSegmentation(APIView):
    """Images with masks (a standard-layout .npz, or a .zip of a PNG folder pair or an nnU-Net
    raw folder) into a segmentation project, or with boxes (the npz's instances, or a .zip of a
    COCO folder) into a detection project; admins only (docs/exports.md)."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "ImportSegmentationRequest", {"file": serializers.FileField()}
            )
        },
        responses=inline_serializer(
            "ImportSegmentationResult",
            {
                "images": serializers.IntegerField(),
                "masks": serializers.IntegerField(),
                "negatives": serializers.IntegerField(),
                "items_in_project": serializers.IntegerField(),
                "boxes": serializers.IntegerField(),
            },
        ),
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = access.project_for_member(request.user, project_id)
        access.require_admin(request.user, project)
        result = import_uploaded_set(project, request.FILES.get("file"), request.user)
        return Response(
            {
                "images": result.images,
                "masks": result.masks,
                "negatives": result.negatives,
                "items_in_project": result.items_in_project,
                "boxes": result.boxes,
            }
        )
