"""/api/v1/me: who is logged in, so the front end can greet and route by role."""

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response


@extend_schema(
    responses=inline_serializer(
        "Me",
        {
            "id": serializers.IntegerField(),
            "username": serializers.CharField(),
            "is_superuser": serializers.BooleanField(),
        },
    )
)
@api_view(["GET"])
def me(request: Request) -> Response:
    user = request.user
    return Response(
        {"id": user.pk, "username": user.get_username(), "is_superuser": user.is_superuser}
    )


urlpatterns = [path("me", me, name="me")]
