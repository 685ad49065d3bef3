"""Who may see a study: members of a project that holds it, by instance or by series."""

from __future__ import annotations

import pytest

from annotations.models import Item
from studies.models import Study
from tests.cast import add_member, make_instances, make_project

pytestmark = pytest.mark.django_db


def test_a_member_of_an_instance_project_sees_its_studies_and_an_outsider_none(make_user) -> None:
    project = make_project(items=3)
    annotator, outsider = make_user("annotator"), make_user("outsider")
    add_member(project, annotator, "annotator")
    attached = set(
        Item.objects.filter(project=project).values_list("instance__series__study", flat=True)
    )
    make_instances(2, patients=2)  # studies in no project

    assert set(Study.objects.for_user(annotator).values_list("pk", flat=True)) == attached
    assert not Study.objects.for_user(outsider).exists()


def test_a_member_of_a_series_project_sees_the_series_study(make_user) -> None:
    project = make_project(unit="series")
    series = make_instances(2)[0].series
    Item.objects.create(project=project, series=series, patient_key="p1")
    reader = make_user("reader")
    add_member(project, reader, "annotator")

    assert list(Study.objects.for_user(reader)) == [series.study]


def test_superusers_see_every_study_and_anonymous_none(make_user) -> None:
    from django.contrib.auth.models import AnonymousUser

    make_instances(3, patients=3)
    assert Study.objects.for_user(make_user("root", superuser=True)).count() == 3
    assert not Study.objects.for_user(AnonymousUser()).exists()
