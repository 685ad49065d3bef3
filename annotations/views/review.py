"""Review queue, adjudication, agreement, and a doctor's own history."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access
from annotations.models import Annotation, Item, Project, Submission, TaskType
from annotations.serializers import (
    AnnotationSerializer,
    HistoryEntrySerializer,
    InstanceSummarySerializer,
    ReviewRequestSerializer,
    ReviewResultSerializer,
    instance_summary,
)
from annotations.services.agreement_report import agreement_report
from annotations.services.review import check_review, do_review, review_queue


class ReviewItemSerializer(serializers.ModelSerializer[Item]):
    # DRF moves declared fields off the class, so this does not clash with Serializer.instance.
    instance = serializers.SerializerMethodField()  # type: ignore[assignment]
    annotations = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = ["id", "frame", "reads_done", "review_reason", "instance", "annotations"]

    @extend_schema_field(InstanceSummarySerializer(allow_null=True))
    def get_instance(self, item: Item) -> dict[str, Any] | None:
        return instance_summary(item)

    @extend_schema_field(AnnotationSerializer(many=True))
    def get_annotations(self, item: Item) -> Any:
        return AnnotationSerializer(item.current_annotations, many=True).data  # type: ignore[attr-defined]


class ReviewQueue(generics.ListAPIView[Item]):
    """Items waiting for adjudication, with every reader's current annotations."""

    serializer_class = ReviewItemSerializer

    def get_queryset(self) -> QuerySet[Item]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Item.objects.none()
        user = access.signed_in(self.request)
        project = access.project_for_member(user, self.kwargs["project_id"])
        access.require_reviewer(user, project)
        current = Annotation.objects.filter(is_current=True, deleted=False).select_related("author")
        return (
            review_queue(project)
            .select_related("instance__series__study", "series__study")
            .prefetch_related(
                Prefetch(
                    "annotations", queryset=current.order_by("pk"), to_attr="current_annotations"
                )
            )
        )


class ReviewItem(APIView):
    @extend_schema(
        request=ReviewRequestSerializer,
        responses={201: ReviewResultSerializer},
    )
    def post(self, request: Request, item_id: int) -> Response:
        user = access.signed_in(request)
        item = access.item_for_member(user, item_id)
        access.require_reviewer(user, item.project)
        review = do_review(user, check_review(item, request.data))
        return Response(
            {"id": review.pk, "item": item.pk, "payload": review.payload, "note": review.note},
            status=status.HTTP_201_CREATED,
        )


class Agreement(APIView):
    @extend_schema(
        responses=inline_serializer(
            "AgreementReport",
            {
                "project": serializers.IntegerField(),
                "task_type": serializers.ChoiceField(TaskType.choices),
                "items_with_reads": serializers.IntegerField(),
                "items_reviewed": serializers.IntegerField(),
                # Present by task type: inter-reader statistics (docs/workflow.md, "Agreement").
                "classification": serializers.DictField(required=False),
                "shapes": serializers.DictField(required=False),
            },
        )
    )
    def get(self, request: Request, project_id: int) -> Response:
        user = access.signed_in(request)
        project = access.project_for_member(user, project_id)
        access.require_reviewer(user, project)
        return Response(agreement_report(project))


class MyHistory(generics.ListAPIView[Submission]):
    """The caller's submitted reads, newest first; ?project= narrows to one project."""

    serializer_class = HistoryEntrySerializer

    @extend_schema(parameters=[OpenApiParameter("project", int, required=False)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Submission]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Submission.objects.none()
        user = access.signed_in(self.request)
        mine = Submission.objects.filter(
            user_id=user.pk,
            item__project__in=Project.objects.for_member(user),
        )
        raw = self.request.query_params.get("project")
        if raw is not None:
            project_id = int(raw) if raw.isdigit() else 0
            mine = mine.filter(item__project=access.project_for_member(user, project_id))
        return mine.select_related("item__instance__series__study", "item__series__study").order_by(
            "-created_at", "-pk"
        )
