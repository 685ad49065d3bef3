"""The queue leases the highest-priority free item, once per doctor, up to N readers."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from annotations.models import Item, Lease, Skip
from tests.annotations.helpers import answer, read, submit, take
from tests.cast import add_member, make_project


def test_next_leases_the_highest_priority_item_first_ties_by_id(cast) -> None:
    items = list(Item.objects.filter(project=cast.project).order_by("pk"))
    Item.objects.filter(pk=items[3].pk).update(priority=10)
    Item.objects.filter(pk__in=[items[1].pk, items[4].pk]).update(priority=5)
    got = take(cast.client(cast.anna), cast.project.pk, count=3)
    assert [i["id"] for i in got] == [items[3].pk, items[1].pk, items[4].pk]
    assert all(i["lease"]["expires_at"] for i in got)


def test_a_leased_item_is_not_offered_to_another_doctor(cast) -> None:
    mine = take(cast.client(cast.anna), cast.project.pk, count=3)
    theirs = take(cast.client(cast.ben), cast.project.pk, count=3)
    assert not {i["id"] for i in mine} & {i["id"] for i in theirs}


def test_asking_again_returns_the_leases_already_held_first_in_order(cast) -> None:
    client = cast.client(cast.anna)
    first = take(client, cast.project.pk, count=2)
    again = take(client, cast.project.pk, count=3)
    assert [i["id"] for i in again[:2]] == [i["id"] for i in first]
    assert [i["lease"]["id"] for i in again[:2]] == [i["lease"]["id"] for i in first]
    assert len(again) == 3


def test_an_item_reaches_its_readers_and_never_the_same_doctor_twice(make_user, db) -> None:
    project = make_project(items=1, readers_per_item=2)
    doctors = [make_user(f"doc{i}") for i in range(3)]
    for doctor in doctors:
        add_member(project, doctor, "annotator")
    from rest_framework.test import APIClient

    clients = []
    for doctor in doctors:
        client = APIClient()
        client.force_authenticate(doctor)
        clients.append(client)
    item_id = read(clients[0], project.pk)
    assert take(clients[0], project.pk) == []  # already read it
    assert read(clients[1], project.pk) == item_id
    assert take(clients[2], project.pk) == []  # two reads done
    item = Item.objects.get(pk=item_id)
    assert (item.reads_done, item.completed) == (2, True)


def test_an_expired_lease_returns_the_item_to_the_pool(cast) -> None:
    (item,) = take(cast.client(cast.anna), cast.project.pk)
    past = timezone.now() - timedelta(seconds=1)
    Lease.objects.filter(pk=item["lease"]["id"]).update(expires_at=past)
    Item.objects.filter(pk=item["id"]).update(lease_expires_at=past, priority=99)
    (taken,) = take(cast.client(cast.ben), cast.project.pk)
    assert taken["id"] == item["id"]
    old = Lease.objects.get(pk=item["lease"]["id"])
    assert old.closed_at is not None and old.outcome == "expired"


def test_a_fresh_item_is_leased_without_touching_other_leases(cast) -> None:
    (first,) = take(cast.client(cast.anna), cast.project.pk)
    (second,) = take(cast.client(cast.ben), cast.project.pk)
    assert first["id"] != second["id"]
    assert Lease.objects.filter(closed_at__isnull=True).count() == 2


def test_an_open_lease_the_item_row_does_not_mirror_is_closed_on_takeover(cast) -> None:
    # Item.lease_expires_at mirrors the open lease; a row written before the mirror existed
    # (open lease, NULL mirror) must not block the item forever.
    (item,) = take(cast.client(cast.anna), cast.project.pk)
    past = timezone.now() - timedelta(seconds=1)
    Lease.objects.filter(pk=item["lease"]["id"]).update(expires_at=past)
    Item.objects.filter(pk=item["id"]).update(lease_expires_at=None, priority=99)
    (taken,) = take(cast.client(cast.ben), cast.project.pk)
    assert taken["id"] == item["id"]
    old = Lease.objects.get(pk=item["lease"]["id"])
    assert old.closed_at is not None and old.outcome == "expired"
    assert Lease.objects.filter(item_id=item["id"], closed_at__isnull=True).count() == 1


def test_three_items_at_once_are_three_leases_in_priority_order(cast) -> None:
    items = list(Item.objects.filter(project=cast.project).order_by("-priority", "pk"))
    leased = take(cast.client(cast.anna), cast.project.pk, count=3)
    assert [i["id"] for i in leased] == [i.pk for i in items[:3]]
    rows = Item.objects.filter(pk__in=[i["id"] for i in leased])
    assert all(row.lease_expires_at is not None for row in rows)
    assert Lease.objects.filter(user=cast.anna, closed_at__isnull=True).count() == 3


def test_a_skipped_item_is_recorded_and_not_offered_to_that_doctor_again(cast) -> None:
    client = cast.client(cast.anna)
    Item.objects.filter(project=cast.project).update(priority=0)
    (item,) = take(client, cast.project.pk)
    response = client.post(
        f"/api/v1/items/{item['id']}/skip",
        {"reason": "poor_quality", "note": "motion"},
        format="json",
    )
    assert response.status_code == 201
    assert Skip.objects.get(item_id=item["id"]).reason == "poor_quality"
    offered = {i["id"] for i in take(client, cast.project.pk, count=3)}
    assert item["id"] not in offered
    assert take(cast.client(cast.ben), cast.project.pk)[0]["id"] == item["id"]


def test_a_skip_needs_a_known_reason(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    response = client.post(f"/api/v1/items/{item['id']}/skip", {"reason": "bored"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()


def test_an_empty_queue_answers_with_no_items(cast) -> None:
    project = make_project(items=0)
    add_member(project, cast.anna, "annotator")
    response = cast.client(cast.anna).post(
        f"/api/v1/projects/{project.pk}/queue/next", {"count": 1}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"items": [], "progress": {"submitted_by_me": 0, "remaining": 0}}


def test_count_is_one_to_three(cast) -> None:
    client = cast.client(cast.anna)
    for bad in (0, 4, "2", None):
        response = client.post(
            f"/api/v1/projects/{cast.project.pk}/queue/next", {"count": bad}, format="json"
        )
        assert response.status_code == 400


def test_progress_counts_my_reads_and_what_is_left_for_me(cast) -> None:
    client = cast.client(cast.anna)
    read(client, cast.project.pk)
    response = client.post(
        f"/api/v1/projects/{cast.project.pk}/queue/next", {"count": 1}, format="json"
    )
    assert response.json()["progress"] == {"submitted_by_me": 1, "remaining": 5}


def test_the_payload_carries_the_instance_and_my_own_annotations_only(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    answer(client, item["id"], {"labels": ["normal"]})
    (again,) = take(client, cast.project.pk)
    assert again["instance"]["rows"] == 64 and again["instance"]["modality"] == "CT"
    assert [a["payload"] for a in again["annotations"]] == [{"labels": ["normal"]}]
    assert again["suggestion"] is None
    submit(client, item["id"])
