"""A URL map with one API view that says nothing about its bodies (tests/test_api_schema.py
proves the schema check refuses such a view)."""

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class Undescribed(APIView):
    def get(self, request: Request) -> Response:
        return Response({"anything": 1})


urlpatterns = [path("api/v1/undescribed", Undescribed.as_view())]
