"""The demo `make run` seeds: real DICOM from pydicom's wheel and hundreds of generated images."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.models import Annotation, Item, Membership, Project, Role
from core.demo.generated import CLASS_NAMES, generate_opacity_images
from core.demo.seed import (
    DICOM_PROJECT,
    GENERATED_PROJECT,
    PYDICOM_DEMO_FILES,
    seed_demo,
)
from studies.frames import decode_frame

SMALL = 30  # most tests need only a few generated images; one seeds the full 400


def quiet(line: str) -> None:
    pass


def new_bright_spot(image: np.ndarray, same_patient: np.ndarray) -> float:
    """What a doctor compares: this image against the patient's usual picture (the median of
    their images), smoothed so single noisy pixels do not count."""
    difference = image.astype(float) - np.median(same_patient.astype(float), axis=0)
    for axis in (0, 1):  # a 5-pixel box blur
        difference = sum(np.roll(difference, s, axis=axis) for s in range(-2, 3)) / 5
    return float(difference[8:56, 8:56].max())


def test_the_generated_set_is_reproducible_and_has_several_patients() -> None:
    first, again = generate_opacity_images(count=60), generate_opacity_images(count=60)

    assert first.images.shape == (60, 64, 64) and first.images.dtype == np.uint8
    assert np.array_equal(first.images, again.images)
    assert np.array_equal(first.labels, again.labels)
    assert len(set(first.patient_ids)) >= 5
    assert 0.2 < first.labels.mean() < 0.6
    assert first.class_names == CLASS_NAMES == ("clear", "opacity")


def test_the_class_is_a_visible_structure_not_noise() -> None:
    """A one-number rule (a new bright spot against the patient's usual picture) already
    separates the classes, so a small CNN can learn them from a few dozen labels."""
    generated = generate_opacity_images(count=400)
    patients = np.array(generated.patient_ids)
    spot = np.array(
        [
            new_bright_spot(image, generated.images[patients == patients[index]])
            for index, image in enumerate(generated.images)
        ]
    )
    positive, negative = spot[generated.labels == 1], spot[generated.labels == 0]
    threshold = (np.median(positive) + np.median(negative)) / 2

    accuracy = float(np.mean((spot > threshold) == (generated.labels == 1)))

    assert np.median(positive) > 3 * np.median(negative)
    assert accuracy > 0.9


@pytest.mark.slow  # ingests all 405 images: ~10 s on SQLite, ~25 s on a loaded PostgreSQL
@pytest.mark.django_db
def test_seeding_creates_both_projects_for_the_doctor_and_the_admin(make_user) -> None:
    admin, doctor = make_user("admin", superuser=True), make_user("doctor")

    seeded = {
        s.project.name: s for s in seed_demo(admin, doctor, say=lambda line: None)
    }  # full size

    dicom, generated = (
        Project.objects.get(name=DICOM_PROJECT),
        Project.objects.get(name=GENERATED_PROJECT),
    )
    assert seeded[DICOM_PROJECT].created and seeded[GENERATED_PROJECT].created
    assert Item.objects.filter(project=dicom).count() == len(PYDICOM_DEMO_FILES)
    assert Item.objects.filter(project=generated).count() == 400
    assert Item.objects.filter(project=generated).values("patient_key").distinct().count() == 40
    for project in (dicom, generated):
        roles = dict(
            Membership.objects.filter(project=project).values_list("user__username", "role")
        )
        assert roles == {"admin": Role.ADMIN, "doctor": Role.ANNOTATOR}
    assert generated.task_type == "classification"
    assert list(generated.label_classes.values_list("name", flat=True)) == ["clear", "opacity"]


@pytest.mark.django_db
def test_the_generated_images_wait_unlabelled_for_the_doctor(make_user) -> None:
    seed_demo(
        make_user("admin", superuser=True), make_user("doctor"), say=quiet, generated_count=SMALL
    )

    generated = Project.objects.get(name=GENERATED_PROJECT)
    assert not Annotation.objects.filter(item__project=generated).exists()
    assert not Item.objects.filter(project=generated, completed=True).exists()


@pytest.mark.django_db
def test_the_stored_pixels_are_the_generated_pixels(make_user) -> None:
    seed_demo(
        make_user("admin", superuser=True), make_user("doctor"), say=quiet, generated_count=SMALL
    )

    expected = generate_opacity_images(count=SMALL).images
    items = Item.objects.filter(project__name=GENERATED_PROJECT).select_related("instance")
    for item in items.order_by(
        "instance__series__study__patient__patient_id", "instance__instance_number"
    )[:3]:
        number = item.instance.instance_number
        assert np.array_equal(decode_frame(item.instance, 1), expected[number - 1])


@pytest.mark.django_db
def test_the_dicom_project_holds_real_de_identified_studies(make_user) -> None:
    seed_demo(
        make_user("admin", superuser=True), make_user("doctor"), say=quiet, generated_count=SMALL
    )

    items = Item.objects.filter(project__name=DICOM_PROJECT).select_related("instance__series")
    modalities = {item.instance.series.modality for item in items}
    assert {"CT", "MR", "US"} <= modalities
    assert max(item.instance.number_of_frames for item in items) > 1  # the ultrasound cine
    syntaxes = {item.instance.transfer_syntax_uid for item in items}
    assert "1.2.840.10008.1.2.4.90" in syntaxes  # JPEG 2000 lossless, decoded by pylibjpeg
    for item in items:
        assert decode_frame(item.instance, 1).size > 0
    patients = {item.instance.series.study.patient.patient_id for item in items}
    assert "1CT1" not in patients  # CT_small's PatientID was replaced (PS3.15 Basic Profile)


@pytest.mark.django_db
def test_seeding_again_changes_nothing(make_user) -> None:
    admin, doctor = make_user("admin", superuser=True), make_user("doctor")
    seed_demo(admin, doctor, say=quiet, generated_count=SMALL)
    items_before = Item.objects.count()

    again = seed_demo(admin, doctor, say=quiet, generated_count=SMALL)

    assert not any(seeded.created for seeded in again)
    assert Item.objects.count() == items_before
    assert Project.objects.filter(name__in=[DICOM_PROJECT, GENERATED_PROJECT]).count() == 2
