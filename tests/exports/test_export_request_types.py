"""An export request with loosely typed fields is a 400 naming the field, never a 500 (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest

from annotations.exports.models import ExportJob


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"formats": ["coco"], "snapshot": "abc"}, "snapshot"),
        ({"formats": ["coco"], "snapshot": {"id": 1}}, "snapshot"),
        ({"formats": ["coco"], "snapshot": 10**40}, "snapshot"),
        ({"formats": ["coco"], "snapshot": True}, "snapshot"),
        ({"formats": ["coco"], "options": {"bit_depth": [16]}}, "options.bit_depth"),
        ({"formats": ["coco"], "options": {"bit_depth": "16"}}, "options.bit_depth"),
        ({"formats": ["coco"], "options": {"deidentify": "false"}}, "options.deidentify"),
    ],
)
def test_loosely_typed_export_requests_are_a_400(cast, body: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    response = cast.client("alice").post(
        f"/api/v1/projects/{cast.project.pk}/exports/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not ExportJob.objects.exists()
