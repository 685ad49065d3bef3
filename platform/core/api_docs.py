"""Who may read the OpenAPI schema and its Swagger UI (/api/schema/, /api/docs/).

Read at request time, so settings.API_SCHEMA_PUBLIC (on for local runs, off in production)
decides without a restart of the URL map; signed-in users (session or token) always may.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class SchemaAccess(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(settings, "API_SCHEMA_PUBLIC", False):
            return True
        return bool(request.user and request.user.is_authenticated)
