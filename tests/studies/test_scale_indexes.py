"""The searches bench/scale.py measures are served from indexes (docs/scale.md): EXPLAIN of
the product's own queries names the index. Sequential scans are switched off so the planner's
choice is about whether the index can serve the query, not about the size of a test table."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from annotations.models import Item
from annotations.services.queue import eligible_items, free_now
from studies.dicomweb.qido import filtered, parse_query
from studies.models import Patient, Series, Study
from tests.cast import make_project

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def plan(queryset: QuerySet[Any]) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def studies(names: list[str]) -> None:
    patients = Patient.objects.bulk_create(
        Patient(patient_id=f"P{i}", patient_name=name) for i, name in enumerate(names)
    )
    made = Study.objects.bulk_create(
        Study(study_instance_uid=f"2.25.{i}", patient=p, study_date="20200101")
        for i, p in enumerate(patients)
    )
    Series.objects.bulk_create(
        Series(series_instance_uid=f"2.25.{i}.1", study=s, modality="MG" if i % 16 == 0 else "CR")
        for i, s in enumerate(made)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE studies_patient; ANALYZE studies_study; ANALYZE studies_series")


def qido_page(params: str) -> QuerySet[Any]:
    query = parse_query(QueryDict(params), "study")
    return filtered(query, Study.objects.all()).order_by("pk").values_list("pk", flat=True)[:51]


def test_patient_name_prefix_search_range_scans_the_upper_name_index() -> None:
    studies([f"NAME{i:04d}^X" for i in range(2000)] + ["SMITH^JOHN", "Smith^Jane"])
    assert "patient_name_upper_prefix" in plan(qido_page("PatientName=smi*"))
    assert "patient_name_upper_prefix" in plan(qido_page("PatientName=SMITH^JOHN"))  # exact


def test_modalities_in_study_reads_one_modality_series_in_study_order() -> None:
    # Mammography, 6% of the series as in the bench: the page is found walking MG series in
    # study order beside the studies' keys, without reading the other series.
    studies([f"NAME{i:04d}^X" for i in range(2000)])
    assert "series_modality_study" in plan(qido_page("ModalitiesInStudy=MG"))


def test_queue_claim_and_leased_count_read_their_indexes(make_user: Any) -> None:
    doctor = make_user("doctor")
    project = make_project(items=1)
    instance = Item.objects.get(project=project).instance
    Item.objects.bulk_create(
        Item(project=project, instance=instance, frame=f, priority=(f * 7919 % 1000) / 1000)
        for f in range(2, 3002)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotations_item")
    now = timezone.now()
    claim = eligible_items(project, doctor).filter(free_now(now)).order_by("-priority", "pk")
    assert "item_claim_order" in plan(claim.values_list("pk")[:1])
    leased = Item.objects.filter(project=project, completed=False, lease_expires_at__gt=now)
    assert "item_open_leases" in plan(leased.values("pk"))
    # The claim's order is the index's: the pool is not sorted before LIMIT.
    assert "Sort" not in plan(claim.values_list("pk")[:1])
