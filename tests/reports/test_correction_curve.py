"""The dashboard's correction curve: how much of a suggested mask doctors change, per model
version, from masks saved through the API with provenance (the server's own counts)."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from annotations.payloads import encode_mask
from tests.annotations.helpers import take
from tests.cast import add_member, make_project

pytestmark = pytest.mark.django_db


def square(r1: int, c1: int) -> dict[str, Any]:
    mask = np.zeros((64, 64), dtype=bool)
    mask[0:r1, 0:c1] = True
    return {"label": "lesion", **encode_mask(mask)}


def test_the_median_correction_falls_as_later_versions_need_fewer_edits(make_user: Any) -> None:
    from learning.models import ModelStatus, ModelVersion, Score

    project = make_project(classes=("lesion",), items=6, task_type="segmentation")
    doctor, head = make_user("dora"), make_user("hannah")
    add_member(project, doctor, "annotator")
    add_member(project, head, "admin")
    client = APIClient()
    client.force_authenticate(doctor)
    items = [*take(client, project.pk, count=3), *take(client, project.pk, count=3)]
    early = ModelVersion.objects.create(
        project=project, number=1, architecture="unet", status=ModelStatus.RETIRED, labels_used=10
    )
    late = ModelVersion.objects.create(
        project=project, number=2, architecture="unet", status=ModelStatus.ACTIVE, labels_used=40
    )
    suggested = square(10, 10)  # 100 pixels
    # Version 1: the doctor changes 50, 30 and 40 pixels of 100; version 2: 10 and 0.
    saved = {1: [square(10, 5), square(10, 7), square(6, 10)], 2: [square(10, 9), suggested]}
    for version, masks in ((early, saved[1]), (late, saved[2])):
        for mask in masks:
            item = items.pop()
            Score.objects.create(
                item_id=item["id"],
                model_version=version,
                strategy="seg_entropy",
                value=0.5,
                suggestion={"kind": "mask", "frame": 1, "masks": [suggested]},
            )
            body = {
                "kind": "mask",
                "frame": 1,
                "payload": mask,
                # Claimed counts are wrong on purpose: the curve uses the server's.
                "provenance": {
                    "suggested_by": version.pk,
                    "accepted": True,
                    "pixels_added": 0,
                    "pixels_removed": 0,
                },
            }
            url = f"/api/v1/items/{item['id']}/annotations/{uuid.uuid4()}"
            assert client.put(url, body, format="json").status_code == 201
    # A mask drawn from scratch is not a correction.
    scratch = {"kind": "mask", "frame": 1, "payload": square(3, 3)}
    url = f"/api/v1/items/{items[0]['id']}/annotations/{uuid.uuid4()}"
    assert client.put(url, scratch, format="json").status_code == 201

    head_client = APIClient()
    head_client.force_authenticate(head)
    data = head_client.get(f"/api/v1/projects/{project.pk}/dashboard").json()
    assert data["correction_curve"]["points"] == [
        {"version": 1, "labels": 10, "median_correction": 0.4, "masks": 3, "unmeasured": 0},
        {"version": 2, "labels": 40, "median_correction": 0.05, "masks": 2, "unmeasured": 0},
    ]
