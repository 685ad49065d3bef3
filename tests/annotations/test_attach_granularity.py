"""Attaching chosen series or instances (not only whole studies) to a project: the "add
existing studies" page sends what the admin ticked; unknown or invisible UIDs are named and
change nothing."""

from __future__ import annotations

from typing import Any

from annotations.models import Item
from studies.models import Instance
from tests.cast import make_instances, make_project

P = "/api/v1/projects/"


def _target(cast: Any) -> Any:
    target = make_project(items=0, name="target")
    target.memberships.create(user=cast.alice, role="admin")
    return target


def test_an_admin_attaches_one_series_of_a_visible_study(cast: Any) -> None:
    target = _target(cast)
    source = Instance.objects.filter(items__project=cast.project).select_related("series")
    series_uid = source.first().series.series_instance_uid  # type: ignore[union-attr]
    in_series = source.filter(series__series_instance_uid=series_uid).count()

    response = cast.client(cast.alice).post(
        f"{P}{target.pk}/attach", {"series_uids": [series_uid]}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "studies": 1,
        "series": 1,
        "instances": in_series,
        "items_created": in_series,
    }
    attached = Item.objects.filter(project=target)
    assert set(attached.values_list("instance__series__series_instance_uid", flat=True)) == {
        series_uid
    }


def test_an_admin_attaches_chosen_instances_once(cast: Any) -> None:
    target = _target(cast)
    sops = list(
        Instance.objects.filter(items__project=cast.project)
        .order_by("pk")
        .values_list("sop_instance_uid", flat=True)[:2]
    )
    client = cast.client(cast.alice)

    first = client.post(f"{P}{target.pk}/attach", {"sop_instance_uids": sops}, format="json")
    again = client.post(f"{P}{target.pk}/attach", {"sop_instance_uids": sops}, format="json")

    assert first.json()["instances"] == 2 and first.json()["items_created"] == 2
    assert again.json()["instances"] == 2 and again.json()["items_created"] == 0
    assert sorted(
        Item.objects.filter(project=target).values_list("instance__sop_instance_uid", flat=True)
    ) == sorted(sops)


def test_unknown_or_invisible_series_and_instances_are_named_and_nothing_is_attached(
    cast: Any,
) -> None:
    target = _target(cast)
    hidden = make_instances(1)[0]  # in no project of alice's: invisible to her
    client = cast.client(cast.alice)

    series = client.post(
        f"{P}{target.pk}/attach",
        {"series_uids": [hidden.series.series_instance_uid]},
        format="json",
    )
    sops = client.post(
        f"{P}{target.pk}/attach",
        {"sop_instance_uids": ["1.2.3", hidden.sop_instance_uid]},
        format="json",
    )

    assert series.status_code == 400
    assert hidden.series.series_instance_uid in str(series.json()["series_uids"])
    assert sops.status_code == 400
    assert "1.2.3" in str(sops.json()["sop_instance_uids"])
    assert hidden.sop_instance_uid in str(sops.json()["sop_instance_uids"])
    assert not Item.objects.filter(project=target).exists()


def test_two_kinds_at_once_or_a_bad_list_is_a_400_with_the_field(cast: Any) -> None:
    target = _target(cast)
    client = cast.client(cast.alice)
    both = client.post(
        f"{P}{target.pk}/attach", {"study_uids": ["1.2"], "series_uids": ["1.3"]}, format="json"
    )
    empty = client.post(f"{P}{target.pk}/attach", {"series_uids": []}, format="json")
    assert both.status_code == 400 and "non_field_errors" in both.json()
    assert empty.status_code == 400 and "series_uids" in empty.json()


def test_a_superuser_attaches_a_study_that_is_in_no_project(cast: Any) -> None:
    target = _target(cast)
    loose = make_instances(3)
    study_uid = loose[0].series.study.study_instance_uid
    response = cast.client(cast.sam).post(
        f"{P}{target.pk}/attach", {"study_uids": [study_uid]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["items_created"] == 3
