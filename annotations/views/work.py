"""The labelling loop: next items, the item itself, annotations, submit, skip, comments."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access
from annotations.item_payload import item_payloads, load_items
from annotations.models import Comment, Item
from annotations.serializers import (
    AnnotationSerializer,
    AnnotationWriteSerializer,
    CommentSerializer,
    ItemPayloadSerializer,
    NextRequestSerializer,
    NextResponseSerializer,
    SkipResultSerializer,
    SkipSerializer,
    SubmitSerializer,
    SuggestionSerializer,
)
from annotations.services import annotate, queue, submit
from annotations.services.suggestions import may_see_suggestion, suggestions_for

IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A key the client chose for this request (a UUID); a retry with the same key "
    "gets the first answer and never counts twice.",
)


def with_etag(response: Response, version: int) -> Response:
    response["ETag"] = f'"{version}"'
    return response


class QueueNext(APIView):
    @extend_schema(
        request=NextRequestSerializer,
        responses=NextResponseSerializer,
    )
    def post(self, request: Request, project_id: int) -> Response:
        user = access.signed_in(request)
        opened = queue.open_queue(user, project_id)
        count = queue.check_count(request.data)
        leases = queue.next_leases(opened.project, user, count, holds_leases=opened.holds_leases)
        items = load_items([lease.item_id for lease in leases])
        by_item = {lease.item_id: lease for lease in leases}
        return Response(
            {
                "items": item_payloads(opened.project, items, user, opened.role, by_item),
                "progress": {
                    "submitted_by_me": opened.progress.submitted_by_me,
                    "remaining": opened.progress.remaining,
                },
            }
        )


class ItemDetail(APIView):
    @extend_schema(responses=ItemPayloadSerializer)
    def get(self, request: Request, item_id: int) -> Response:
        user = access.signed_in(request)
        item = access.item_for_member(user, item_id)
        role = access.role_of(user, item.project)
        lease = item.leases.filter(user_id=user.pk, closed_at__isnull=True).first()
        leases = {item.pk: lease} if lease is not None else None
        payload = item_payloads(item.project, [item], user, role, leases, all_readers=True)[0]
        return Response(payload)


class AnnotationDetail(APIView):
    @extend_schema(
        parameters=[IF_MATCH],
        request=AnnotationWriteSerializer,
        responses={200: AnnotationSerializer, 201: AnnotationSerializer},
    )
    def put(self, request: Request, item_id: int, uid: str) -> Response:
        user = access.signed_in(request)
        item = access.item_to_write(user, item_id)
        checked = annotate.check_save(
            user, item, uid, request.headers.get("If-Match"), request.data
        )
        annotation, created = annotate.do_save(user, checked)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return with_etag(
            Response(AnnotationSerializer(annotation).data, status=code), annotation.version
        )

    @extend_schema(parameters=[IF_MATCH], responses=AnnotationSerializer)
    def delete(self, request: Request, item_id: int, uid: str) -> Response:
        user = access.signed_in(request)
        item = access.item_to_write(user, item_id)
        annotation = annotate.do_delete(user, item, uid, request.headers.get("If-Match"))
        return with_etag(Response(AnnotationSerializer(annotation).data), annotation.version)


class AnnotationHistory(APIView):
    @extend_schema(responses=AnnotationSerializer(many=True))
    def get(self, request: Request, uid: str) -> Response:
        user = access.signed_in(request)
        versions = annotate.history_for(user, uid)
        return Response(AnnotationSerializer(versions, many=True).data)


class Submit(APIView):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=SubmitSerializer,
        responses=inline_serializer(
            "SubmitResult",
            {
                "item": serializers.IntegerField(),
                "reads_done": serializers.IntegerField(),
                "completed": serializers.BooleanField(),
                "review_state": serializers.CharField(),
                "counted": serializers.BooleanField(),
                "time_spent_ms": serializers.IntegerField(),
                # Detection: the doctor's edits of the model's boxes, counted by the server.
                "box_edits": serializers.JSONField(allow_null=True),
            },
        ),
    )
    def post(self, request: Request, item_id: int) -> Response:
        user = access.signed_in(request)
        spent = submit.check_time_spent(request.data)
        key = submit.check_request_key(request.headers.get("Idempotency-Key"))
        result = submit.do_submit(user, item_id, spent, key)
        return Response(
            {
                "item": result.item.pk,
                "reads_done": result.item.reads_done,
                "completed": result.item.completed,
                "review_state": result.item.review_state,
                "counted": result.counted,
                "time_spent_ms": result.submission.time_spent_ms,
                "box_edits": result.submission.box_edits,
            }
        )


class SkipItem(APIView):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=SkipSerializer,
        responses={201: SkipResultSerializer},
    )
    def post(self, request: Request, item_id: int) -> Response:
        user = access.signed_in(request)
        item = access.item_for_member(user, item_id)
        reason, note = submit.check_skip(request.data)
        key = submit.check_request_key(request.headers.get("Idempotency-Key"))
        skip = submit.do_skip(user, item, reason, note, key)
        return Response(
            {"item": item.pk, "reason": skip.reason, "note": skip.note},
            status=status.HTTP_201_CREATED,
        )


class Comments(APIView):
    @extend_schema(responses=CommentSerializer(many=True))
    def get(self, request: Request, item_id: int) -> Response:
        user = access.signed_in(request)
        item = access.item_for_member(user, item_id)
        comments = Comment.objects.filter(item=item).select_related("author").order_by("pk")
        return Response(CommentSerializer(comments, many=True).data)

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer})
    def post(self, request: Request, item_id: int) -> Response:
        user = access.signed_in(request)
        item = access.item_for_member(user, item_id)
        write = CommentSerializer(data=request.data)
        write.is_valid(raise_exception=True)
        comment = write.save(item=item, author=user)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class Suggestion(APIView):
    @extend_schema(responses=SuggestionSerializer)
    def get(self, request: Request, item_id: int) -> Response:
        user = access.signed_in(request)
        item: Item = access.item_for_member(user, item_id)
        role = access.role_of(user, item.project)
        answered = item.annotations.filter(
            author_id=user.pk, is_current=True, deleted=False
        ).exists()
        found: dict[str, Any] | None = None
        if may_see_suggestion(item.project, role, answered):
            found = suggestions_for(item.project, [item.pk]).get(item.pk)
        if found is None:
            return Response({"detail": "no suggestion for you on this item"}, status=404)
        return Response(found)
