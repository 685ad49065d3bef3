"""Review queue, adjudication, agreement, and a doctor's own history."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet
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
from annotations.models import Annotation, Item, Project, Review, Submission, TaskType
from annotations.serializers import (
    AnnotationSerializer,
    HistoryEntrySerializer,
    InstanceSummarySerializer,
    ReviewRequestSerializer,
    ReviewResultSerializer,
    instance_summary,
)
from annotations.services.agreement_report import agreement_report
from annotations.services.annotate import parse_if_match
from annotations.services.review import (
    MAX_FLAG_NOTE,
    QUEUE_STATES,
    check_flag,
    check_review,
    do_flag,
    do_review,
    review_queue,
)
from annotations.views.work import IF_MATCH, with_etag


class ReaderSerializer(serializers.Serializer[Any]):
    """One reader of an item, in the order they submitted (the review screen's keys 1..9)."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    submitted_at = serializers.DateTimeField()


class AdjudicationSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField()
    reviewer = serializers.IntegerField()
    reviewer_name = serializers.CharField()
    accepted_reader = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class ReviewItemSerializer(serializers.ModelSerializer[Item]):
    # DRF moves declared fields off the class, so this does not clash with Serializer.instance.
    instance = serializers.SerializerMethodField()  # type: ignore[assignment]
    annotations = serializers.SerializerMethodField()
    readers = serializers.SerializerMethodField()
    adjudication = serializers.SerializerMethodField()
    comments = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id", "frame", "reads_done", "review_state", "review_reason", "instance",
            "annotations", "readers", "adjudication", "comments",
        ]  # fmt: skip

    @extend_schema_field(InstanceSummarySerializer(allow_null=True))
    def get_instance(self, item: Item) -> dict[str, Any] | None:
        return instance_summary(item)

    @extend_schema_field(AnnotationSerializer(many=True))
    def get_annotations(self, item: Item) -> Any:
        return AnnotationSerializer(item.current_annotations, many=True).data  # type: ignore[attr-defined]

    @extend_schema_field(ReaderSerializer(many=True))
    def get_readers(self, item: Item) -> list[dict[str, Any]]:
        return [
            {"id": s.user_id, "username": s.user.get_username(), "submitted_at": s.created_at}
            for s in item.reads  # type: ignore[attr-defined]
        ]

    @extend_schema_field(AdjudicationSerializer(allow_null=True))
    def get_adjudication(self, item: Item) -> dict[str, Any] | None:
        reviews: list[Review] = item.newest_reviews  # type: ignore[attr-defined]
        if not reviews:
            return None
        review = reviews[0]
        return {
            "version": review.version,
            "reviewer": review.reviewer_id,
            "reviewer_name": review.reviewer.get_username(),
            "accepted_reader": review.accepted_reader_id,
            "note": review.note,
            "created_at": review.created_at,
        }

    def get_comments(self, item: Item) -> int:
        """How many comments the item has (GET /items/{id}/comments lists them)."""
        return int(item.n_comments)  # type: ignore[attr-defined]


class ReviewQueue(generics.ListAPIView[Item]):
    """Items waiting for adjudication (?state=reviewed: adjudicated; all: both), with every
    reader, their current annotations, the newest adjudication and the number of comments."""

    serializer_class = ReviewItemSerializer

    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=list(QUEUE_STATES), required=False)]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Item]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Item.objects.none()
        user = access.signed_in(self.request)
        project = access.project_for_member(user, self.kwargs["project_id"])
        access.require_reviewer(user, project)
        current = Annotation.objects.filter(is_current=True, deleted=False).select_related("author")
        state = self.request.query_params.get("state", "pending")
        return (
            review_queue(project, state)
            .select_related("instance__series__study", "series__study")
            .annotate(n_comments=Count("comments"))
            .prefetch_related(
                Prefetch(
                    "annotations", queryset=current.order_by("pk"), to_attr="current_annotations"
                ),
                Prefetch(
                    "submissions",
                    queryset=Submission.objects.select_related("user").order_by("created_at", "pk"),
                    to_attr="reads",
                ),
                Prefetch(
                    "reviews",
                    queryset=Review.objects.select_related("reviewer").order_by("-version"),
                    to_attr="newest_reviews",
                ),
            )
        )


class ReviewItem(APIView):
    @extend_schema(
        parameters=[IF_MATCH],
        request=ReviewRequestSerializer,
        responses={201: ReviewResultSerializer},
    )
    def post(self, request: Request, item_id: int) -> Response:
        user = access.signed_in(request)
        item = access.item_for_member(user, item_id)
        access.require_reviewer(user, item.project)
        base = parse_if_match(request.headers.get("If-Match"))
        review = do_review(user, check_review(item, request.data, base))
        body = {
            "id": review.pk,
            "item": item.pk,
            "version": review.version,
            "accepted_reader": review.accepted_reader_id,
            "payload": review.payload,
            "note": review.note,
        }
        return with_etag(Response(body, status=status.HTTP_201_CREATED), review.version)


class FlagItem(APIView):
    """Any member asks for a review of an item (docs/workflow.md, "Review in the viewer")."""

    @extend_schema(
        request=inline_serializer(
            "FlagRequest",
            {
                "note": serializers.CharField(
                    required=False, allow_blank=True, max_length=MAX_FLAG_NOTE
                )
            },
        ),
        responses=inline_serializer(
            "FlagResult",
            {
                "item": serializers.IntegerField(),
                "review_state": serializers.CharField(),
                "review_reason": serializers.CharField(),
            },
        ),
    )
    def post(self, request: Request, item_id: int) -> Response:
        user = access.signed_in(request)
        item = access.item_for_member(user, item_id)
        flagged = do_flag(user, item, check_flag(request.data))
        return Response(
            {
                "item": flagged.pk,
                "review_state": flagged.review_state,
                "review_reason": flagged.review_reason,
            }
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
