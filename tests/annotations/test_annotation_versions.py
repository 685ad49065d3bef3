"""Saving is an upsert by client UID with If-Match; every change is a new version."""

from __future__ import annotations

import uuid

from annotations.models import Annotation
from tests.annotations.helpers import answer, take
from tests.cast import add_member, make_instances, make_project


def test_the_first_put_creates_version_one_with_an_etag(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    uid = str(uuid.uuid4())
    response = answer(client, item["id"], {"labels": ["normal"]}, uid=uid)
    assert response.status_code == 201
    assert response["ETag"] == '"1"'
    body = response.json()
    assert (body["uid"], body["version"], body["item"], body["author"]) == (
        uid, 1, item["id"], cast.anna.pk,
    )  # fmt: skip
    assert body["source"] == "human" and body["deleted"] is False


def test_a_put_with_the_current_etag_adds_a_version_and_keeps_the_old_one(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    uid = str(uuid.uuid4())
    answer(client, item["id"], {"labels": ["normal"]}, uid=uid)
    response = answer(client, item["id"], {"labels": ["pneumonia"]}, uid=uid, version=1)
    assert response.status_code == 200 and response["ETag"] == '"2"'
    versions = list(Annotation.objects.filter(uid=uid).order_by("version"))
    assert [(v.version, v.is_current, v.payload["labels"]) for v in versions] == [
        (1, False, ["normal"]),
        (2, True, ["pneumonia"]),
    ]


def test_a_stale_write_is_refused_and_changes_nothing(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    uid = str(uuid.uuid4())
    answer(client, item["id"], {"labels": ["normal"]}, uid=uid)
    answer(client, item["id"], {"labels": ["pneumonia"]}, uid=uid, version=1)
    stale = answer(client, item["id"], {"labels": ["normal"]}, uid=uid, version=1)
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert Annotation.objects.filter(uid=uid).count() == 2
    assert Annotation.objects.get(uid=uid, is_current=True).payload == {"labels": ["pneumonia"]}


def test_creating_over_an_existing_uid_without_if_match_is_refused(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    uid = str(uuid.uuid4())
    answer(client, item["id"], {"labels": ["normal"]}, uid=uid)
    assert answer(client, item["id"], {"labels": ["pneumonia"]}, uid=uid).status_code == 412


def test_reusing_a_uid_on_another_item_is_a_conflict_and_changes_nothing(cast) -> None:
    client = cast.client(cast.anna)
    first, second = take(client, cast.project.pk, count=2)
    uid = str(uuid.uuid4())
    answer(client, first["id"], {"labels": ["normal"]}, uid=uid)
    response = answer(client, second["id"], {"labels": ["pneumonia"]}, uid=uid)
    assert response.status_code == 409
    assert list(Annotation.objects.filter(uid=uid).values_list("item_id", "version")) == [
        (first["id"], 1)
    ]


def test_another_doctors_uid_is_refused_even_without_if_match(cast) -> None:
    mine, theirs = cast.client(cast.anna), cast.client(cast.ben)
    (item,) = take(mine, cast.project.pk)
    (other,) = take(theirs, cast.project.pk)
    uid = str(uuid.uuid4())
    answer(mine, item["id"], {"labels": ["normal"]}, uid=uid)
    assert answer(theirs, other["id"], {"labels": ["normal"]}, uid=uid).status_code == 409
    Annotation.objects.filter(uid=uid).update(item_id=other["id"])  # same item, other author
    assert answer(theirs, other["id"], {"labels": ["normal"]}, uid=uid).status_code == 403
    assert Annotation.objects.filter(uid=uid).count() == 1


def test_delete_is_a_new_deleted_version_and_history_shows_every_version(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    uid = str(uuid.uuid4())
    answer(client, item["id"], {"labels": ["normal"]}, uid=uid)
    gone = client.delete(f"/api/v1/items/{item['id']}/annotations/{uid}", HTTP_IF_MATCH='"1"')
    assert gone.status_code == 200 and gone.json()["deleted"] is True and gone["ETag"] == '"2"'
    history = client.get(f"/api/v1/annotations/{uid}/history").json()
    assert [(v["version"], v["deleted"]) for v in history] == [(1, False), (2, True)]
    (again,) = take(client, cast.project.pk)
    assert again["annotations"] == []


def test_delete_without_if_match_is_refused(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    uid = str(uuid.uuid4())
    answer(client, item["id"], {"labels": ["normal"]}, uid=uid)
    assert client.delete(f"/api/v1/items/{item['id']}/annotations/{uid}").status_code == 412
    assert Annotation.objects.filter(uid=uid).count() == 1


def test_an_invalid_payload_is_a_400_with_field_errors_and_stores_nothing(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    response = answer(client, item["id"], {"labels": ["cat"]})
    assert response.status_code == 400
    assert "payload.labels" in response.json()
    assert not Annotation.objects.filter(item_id=item["id"]).exists()


def test_only_the_author_edits_an_annotation(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    uid = str(uuid.uuid4())
    answer(client, item["id"], {"labels": ["normal"]}, uid=uid)
    # The reviewer was never given the item by the queue: no lease, no writing.
    response = answer(
        cast.client(cast.rita), item["id"], {"labels": ["pneumonia"]}, uid=uid, version=1
    )
    assert response.status_code == 403


def test_readers_do_not_see_each_others_history_but_reviewers_do(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    uid = str(uuid.uuid4())
    answer(client, item["id"], {"labels": ["normal"]}, uid=uid)
    assert cast.client(cast.ben).get(f"/api/v1/annotations/{uid}/history").status_code == 404
    assert cast.client(cast.rita).get(f"/api/v1/annotations/{uid}/history").status_code == 200
    assert cast.client(cast.otto).get(f"/api/v1/annotations/{uid}/history").status_code == 404


def test_shapes_are_checked_against_the_items_image(db, make_user) -> None:
    from rest_framework.test import APIClient

    from annotations.services.attach import attach_instances

    project = make_project(task_type="segmentation", classes=("lesion",))
    attach_instances(project, make_instances(1, rows=4, columns=6))
    doctor = make_user("dora")
    add_member(project, doctor, "annotator")
    client = APIClient()
    client.force_authenticate(doctor)
    (item,) = take(client, project.pk)
    outside = answer(
        client, item["id"], {"label": "lesion", "points": [[0, 0], [7, 0], [0, 3]]}, kind="polygon"
    )
    assert outside.status_code == 400 and "payload.points[1]" in outside.json()
    wrong_size = answer(
        client, item["id"], {"label": "lesion", "size": [6, 4], "counts": [0, 24]}, kind="mask"
    )
    assert wrong_size.status_code == 400 and "payload.size" in wrong_size.json()
    mask = answer(
        client, item["id"], {"label": "lesion", "size": [4, 6], "counts": [7, 2, 0, 2, 13]},
        kind="mask",
    )  # fmt: skip
    assert mask.status_code == 201
    assert mask.json()["payload"]["counts"] == [7, 4, 13]


def test_time_spent_is_recorded_with_the_version(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    response = client.put(
        f"/api/v1/items/{item['id']}/annotations/{uuid.uuid4()}",
        {"kind": "class", "frame": 1, "payload": {"labels": ["normal"]}, "time_spent_ms": 4200},
        format="json",
    )
    assert response.json()["time_spent_ms"] == 4200
