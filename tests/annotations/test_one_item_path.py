"""One way to make Items and one patient key, whichever path an image takes (decision 0910)."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from rest_framework.test import APIClient

from annotations.models import Item
from annotations.services.attach import attach_instances
from core.demo.generated import generate_opacity_images
from core.demo.secondary_capture import secondary_capture_bytes
from studies.ingest import ingest_bytes
from studies.models import Instance
from tests.annotations.helpers import take
from tests.cast import add_member, make_instances, make_project

unify = importlib.import_module("annotations.migrations.0005_unify_patient_keys")


def _ingest_demo_like(project: Any, *, count: int, patients: int) -> None:
    """As seed_demo does: generated images, a few per patient, ingested in patient order."""
    generated = generate_opacity_images(count=count, patients=patients, seed=7)
    for index, image in enumerate(generated.images):
        data = secondary_capture_bytes(
            image,
            patient_id=f"H6-{project.pk}-{generated.patient_ids[index]}",
            instance_number=index + 1,
            description="one item path",
        )
        outcome = ingest_bytes(data, source_name=f"{index}", project=project)
        assert outcome.status == "stored", outcome.reason


def test_a_fresh_project_fed_by_ingest_serves_across_patients_from_the_first_label(
    db: None, make_user: Any
) -> None:
    project = make_project(deidentify=False, queue_seed=12345)
    _ingest_demo_like(project, count=40, patients=8)  # 5 images per patient, in patient order
    doctor = make_user("doctor")
    add_member(project, doctor, "annotator")
    client = APIClient()
    client.force_authenticate(doctor)

    served = take(client, project.pk, count=3)

    # The queue serves the cold-start priority order. That priority hashes the project's seed
    # with the item's row ids, which depend on what the database held before (sequences outlive
    # rolled-back tests), so which patients come first is not fixed; how many do is checked
    # where chance cannot break it: creation order puts two patients in the first ten, and ten
    # items of 40 (8 patients of 5) all fall in two or fewer patients with probability 3e-8.
    by_priority = Item.objects.filter(project=project).order_by("-priority", "pk")
    assert [i["id"] for i in served] == [item.pk for item in by_priority[:3]]
    assert len({item.patient_key for item in by_priority[:10]}) >= 3
    priorities = set(Item.objects.filter(project=project).values_list("priority", flat=True))
    assert len(priorities) == 40  # every item has its own cold-start priority, none is left 0


def test_a_patient_reached_by_ingest_and_by_attach_has_one_key(db: None) -> None:
    project = make_project(deidentify=False)
    _ingest_demo_like(project, count=2, patients=1)
    ingested = Item.objects.get(project=project, instance__instance_number=1)
    # The same patient's second image arrives without a project, then is attached by the API.
    other = Instance.objects.get(
        series__study__patient__patient_id=ingested.patient_key, instance_number=2
    )
    Item.objects.filter(instance=other).delete()
    assert attach_instances(project, [other]) == 1
    attached = Item.objects.get(project=project, instance=other)
    assert attached.patient_key == ingested.patient_key
    assert attached.priority != 0.0 and ingested.priority != 0.0


def test_the_migration_rekeys_only_where_no_split_would_move(db: None) -> None:
    project = make_project()
    a, b = make_instances(4, patients=2)[:2], make_instances(2, patients=1)
    attach_instances(project, [*a, *b])
    items = {i.instance_id: i for i in Item.objects.filter(project=project)}
    first, second = items[a[0].pk], items[a[1].pk]  # two different patients
    third, fourth = items[b[0].pk], items[b[1].pk]  # one patient
    # Old-style keys: the attach API's "issuer/ID" for one patient, ingest's for the others.
    Item.objects.filter(pk=first.pk).update(patient_key="/old-attach-key", split="test")
    Item.objects.filter(pk=second.pk).update(patient_key="", split="")
    # The third patient already spans two splits under two old keys: left as it is.
    Item.objects.filter(pk=third.pk).update(patient_key="/x", split="train")
    Item.objects.filter(pk=fourth.pk).update(patient_key="y", split="test")

    unify.unify_patient_keys(apps, None)

    after = {i.pk: (i.patient_key, i.split) for i in Item.objects.filter(project=project)}
    first_patient = a[0].series.study.patient.patient_id
    assert after[first.pk] == (first_patient, "test")  # re-keyed, split kept
    assert after[second.pk] == (a[1].series.study.patient.patient_id, "")
    assert after[third.pk] == ("/x", "train") and after[fourth.pk] == ("y", "test")
