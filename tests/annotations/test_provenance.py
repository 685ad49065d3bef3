"""A mask that started from a model's suggestion carries provenance; the server recomputes
the pixels added and removed (annotations/services/provenance.py)."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

from annotations.models import Annotation
from annotations.payloads import encode_mask
from annotations.services.errors import Invalid
from annotations.services.provenance import parse_provenance, recompute
from tests.annotations.helpers import take
from tests.cast import add_member, make_project

ROWS = COLS = 64


def square(r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    mask = np.zeros((ROWS, COLS), dtype=bool)
    mask[r0:r1, c0:c1] = True
    return mask


def mask_payload(mask: np.ndarray, label: str = "lesion") -> dict[str, Any]:
    return {"label": label, **encode_mask(mask)}


def suggestion_of(*masks: dict[str, Any], frame: int = 1) -> dict[str, Any]:
    return {"kind": "mask", "frame": frame, "masks": list(masks)}


CLAIM = {"suggested_by": 7, "accepted": True, "pixels_added": 999, "pixels_removed": 999}


def test_the_counts_are_recomputed_from_the_two_masks_not_taken_from_the_client() -> None:
    suggested = square(10, 30, 10, 30)  # 400 px
    edited = square(10, 30, 10, 20) | square(40, 42, 40, 45)  # 200 kept, 10 added
    stored = recompute(CLAIM, suggestion_of(mask_payload(suggested)), 1, mask_payload(edited))
    assert stored == {
        "suggested_by": 7,
        "accepted": True,
        "pixels_added": 10,
        "pixels_removed": 200,
        "suggestion_pixels": 400,
        "recomputed": True,
    }


def test_an_accepted_suggestion_left_alone_counts_no_edit() -> None:
    suggested = mask_payload(square(5, 9, 5, 9))
    stored = recompute(CLAIM, suggestion_of(suggested), 1, suggested)
    assert (stored["pixels_added"], stored["pixels_removed"]) == (0, 0)


def test_a_class_the_model_did_not_suggest_counts_every_pixel_as_added() -> None:
    other = mask_payload(square(0, 4, 0, 4), label="cyst")
    stored = recompute(CLAIM, suggestion_of(other), 1, mask_payload(square(0, 2, 0, 3)))
    assert (stored["pixels_added"], stored["pixels_removed"], stored["suggestion_pixels"]) == (
        6, 0, 0,
    )  # fmt: skip


def test_without_a_stored_suggestion_for_that_frame_the_client_counts_are_kept_and_marked() -> None:
    suggestion = suggestion_of(mask_payload(square(0, 4, 0, 4)), frame=2)
    for stored_suggestion in (None, suggestion):
        stored = recompute(CLAIM, stored_suggestion, 1, mask_payload(square(0, 2, 0, 3)))
        assert stored == {**CLAIM, "recomputed": False}


@pytest.mark.parametrize(
    ("raw", "kind", "field"),
    [
        ({**CLAIM, "pixels_added": -1}, "mask", "provenance.pixels_added"),
        ({**CLAIM, "suggested_by": "v3"}, "mask", "provenance.suggested_by"),
        ({**CLAIM, "accepted": "yes"}, "mask", "provenance.accepted"),
        ({**CLAIM, "by": "me"}, "mask", "provenance.by"),
        ([1, 2], "mask", "provenance"),
        (CLAIM, "polygon", "provenance"),
    ],
)
def test_malformed_provenance_is_a_400_naming_the_field(raw: Any, kind: str, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_provenance(raw, kind)
    assert field in caught.value.detail  # type: ignore[operator]


@pytest.fixture
def segmentation(db: None, make_user: Any) -> Any:
    project = make_project(classes=("lesion", "cyst"), items=2, task_type="segmentation")
    doctor = make_user("dora")
    add_member(project, doctor, "annotator")
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(doctor)
    return project, client


def put_mask(client: Any, item_id: int, payload: dict[str, Any], provenance: Any) -> Any:
    body: dict[str, Any] = {"kind": "mask", "frame": 1, "payload": payload, "time_spent_ms": 4200}
    if provenance is not None:
        body["provenance"] = provenance
    return client.put(f"/api/v1/items/{item_id}/annotations/{uuid.uuid4()}", body, format="json")


def test_a_saved_mask_stores_its_provenance_and_shows_it(segmentation: Any) -> None:
    project, client = segmentation
    (item,) = take(client, project.pk)
    claim = {"suggested_by": 123456, "accepted": True, "pixels_added": 3, "pixels_removed": 40}
    response = put_mask(client, item["id"], mask_payload(square(1, 5, 1, 5)), claim)
    assert response.status_code == 201, response.content
    assert response.json()["provenance"] == {**claim, "recomputed": False}
    stored = Annotation.objects.get(uid=response.json()["uid"])
    assert stored.provenance == {**claim, "recomputed": False} and stored.time_spent_ms == 4200


def test_a_mask_drawn_from_scratch_has_no_provenance(segmentation: Any) -> None:
    project, client = segmentation
    (item,) = take(client, project.pk)
    response = put_mask(client, item["id"], mask_payload(square(1, 5, 1, 5)), None)
    assert response.status_code == 201 and response.json()["provenance"] is None


def test_bad_provenance_is_refused_and_nothing_is_stored(segmentation: Any) -> None:
    project, client = segmentation
    (item,) = take(client, project.pk)
    response = put_mask(client, item["id"], mask_payload(square(1, 5, 1, 5)), {"accepted": 1})
    assert response.status_code == 400
    assert "provenance.suggested_by" in response.json()
    assert not Annotation.objects.filter(item_id=item["id"]).exists()


def active_suggestion(project: Any, item_id: int, masks: list[dict[str, Any]]) -> Any:
    """An active segmentation model whose score for the item holds `masks` (SEG contract)."""
    from learning.models import ModelStatus, ModelVersion, Score

    version = ModelVersion.objects.create(
        project=project, number=1, architecture="unet", status=ModelStatus.ACTIVE, labels_used=20
    )
    Score.objects.create(
        item_id=item_id,
        model_version=version,
        strategy="seg_entropy",
        value=0.5,
        suggestion={"kind": "mask", "frame": 1, "masks": masks},
    )
    return version


def test_the_server_recomputes_the_edit_counts_from_its_stored_suggestion(
    segmentation: Any,
) -> None:
    project, client = segmentation
    (item,) = take(client, project.pk)
    version = active_suggestion(project, item["id"], [mask_payload(square(10, 30, 10, 30))])
    project.suggestions = "before"
    project.save(update_fields=["suggestions"])
    served = client.get(f"/api/v1/items/{item['id']}/").json()["suggestion"]
    assert (served["kind"], served["model_version"]) == ("mask", version.pk)
    # The doctor accepted it and erased the right half; the client claims no edit at all.
    claim = {"suggested_by": version.pk, "accepted": True, "pixels_added": 0, "pixels_removed": 0}
    response = put_mask(client, item["id"], mask_payload(square(10, 30, 10, 20)), claim)
    assert response.status_code == 201, response.content
    assert Annotation.objects.get(uid=response.json()["uid"]).provenance == {
        "suggested_by": version.pk,
        "accepted": True,
        "pixels_added": 0,
        "pixels_removed": 200,
        "suggestion_pixels": 400,
        "recomputed": True,
    }


def test_a_model_version_of_another_project_is_refused(segmentation: Any) -> None:
    project, client = segmentation
    (item,) = take(client, project.pk)
    other = make_project(classes=("lesion",), task_type="segmentation")
    version = active_suggestion(other, item["id"], [])
    claim = {"suggested_by": version.pk, "accepted": True, "pixels_added": 0, "pixels_removed": 0}
    response = put_mask(client, item["id"], mask_payload(square(1, 3, 1, 3)), claim)
    assert response.status_code == 400 and "provenance.suggested_by" in response.json()
    assert not Annotation.objects.filter(item_id=item["id"]).exists()
