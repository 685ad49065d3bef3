"""Workflow errors as DRF exceptions, so views need no try/except to answer with the right code."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError


class Invalid(ValidationError):
    """400 with field errors ({"field": ["message"]})."""


class Forbidden(APIException):
    """A member without the role or the lease this needs (outsiders get 404 instead)."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "forbidden"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class Gone(APIException):
    """The caller's lease expired and another doctor has the item now."""

    status_code = status.HTTP_410_GONE
    default_code = "lease_lost"


class PreconditionFailed(APIException):
    """If-Match does not name the current version (a stale write)."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "stale"

    def __init__(self, detail: str, *, current_version: int | None = None) -> None:
        payload: dict[str, Any] = {"detail": detail}
        if current_version is not None:
            payload["current_version"] = current_version
        super().__init__()
        self.detail = payload  # keep the number a number (APIException would stringify it)
