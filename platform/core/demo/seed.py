"""Create the three demo projects, idempotently: a second `make run` finds them and returns at once.

Everything goes through the same ingest service as real data (studies.ingest.ingest_bytes), so
the demo exercises parsing, storage, de-identification and item creation for real. It never reads
../shared/data: the DICOM comes from the test files bundled in pydicom's wheel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom.data
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotations.models import Item, LabelClass, Membership, Project, Role
from core.demo.generated import generate_opacity_images
from core.demo.generated_lesions import generate_lesion_images
from core.demo.secondary_capture import secondary_capture_bytes
from studies.ingest import ingest_bytes

# Real, decodable files with distinct studies: native CT, lossy J2K head CT (CQ500), lossless J2K
# MR, native MR with overlay, and a 30-frame JPEG ultrasound cine (multi-frame).
PYDICOM_DEMO_FILES = (
    "CT_small.dcm",
    "693_J2KI.dcm",
    "MR_small_jp2klossless.dcm",
    "examples_overlay.dcm",
    "examples_ybr_color.dcm",
)
DICOM_PROJECT = "Demo: findings on real DICOM (pydicom test files)"
GENERATED_PROJECT = "Demo: chest opacity (generated images)"
GENERATED_COUNT = 400
SEGMENTATION_PROJECT = "Demo: lesion outlines (generated images)"
SEGMENTATION_COUNT = 200

Say = Callable[[str], None]


@dataclass(frozen=True)
class Seeded:
    project: Project
    items: int
    created: bool  # False: it was already complete, nothing was done


def pydicom_test_file(name: str) -> Path:
    """A file from pydicom's wheel. Never downloads: pydicom fetches some test files on demand."""
    path = Path(pydicom.data.__file__).parent / "test_files" / name
    if not path.is_file():
        raise FileNotFoundError(f"pydicom {pydicom.__version__} does not bundle {name}")
    return path


def _project(
    name: str,
    classes: Sequence[tuple[str, str]],
    admin: AbstractBaseUser,
    doctor: AbstractBaseUser,
    **fields: object,
) -> Project:
    with transaction.atomic():
        project, _ = Project.objects.get_or_create(
            name=name, defaults={**fields, "created_by": admin}
        )
        for index, (label, color) in enumerate(classes):
            LabelClass.objects.get_or_create(
                project=project,
                name=label,
                defaults={"index": index, "color": color, "shortcut": str(index + 1)},
            )
        Membership.objects.get_or_create(project=project, user=admin, defaults={"role": Role.ADMIN})
        Membership.objects.get_or_create(
            project=project, user=doctor, defaults={"role": Role.ANNOTATOR}
        )
    return project


def _ingest_all(project: Project, files: Sequence[tuple[str, bytes]], say: Say) -> None:
    for number, (name, data) in enumerate(files, start=1):
        outcome = ingest_bytes(data, source_name=name, project=project)
        if outcome.status in ("rejected", "conflict"):
            raise RuntimeError(f"demo file {name} was {outcome.status}: {outcome.reason}")
        if number % 100 == 0 or number == len(files):
            say(f"  {project.name}: {number}/{len(files)} images ingested")


def seed_dicom_project(admin: AbstractBaseUser, doctor: AbstractBaseUser, say: Say) -> Seeded:
    project = _project(
        DICOM_PROJECT,
        [("lesion", "#ff4d4f"), ("artifact", "#ffb000")],
        admin,
        doctor,
        task_type="detection",
        instructions="Draw a box around each lesion; mark artifacts that would mislead a model.",
        deidentify=True,
        suggestions="hidden",
    )
    if Item.objects.filter(project=project).count() >= len(PYDICOM_DEMO_FILES):
        return Seeded(project, project.items.count(), created=False)
    files = [(name, pydicom_test_file(name).read_bytes()) for name in PYDICOM_DEMO_FILES]
    _ingest_all(project, files, say)
    return Seeded(project, project.items.count(), created=True)


def seed_generated_project(
    admin: AbstractBaseUser, doctor: AbstractBaseUser, say: Say, count: int = GENERATED_COUNT
) -> Seeded:
    """Unlabelled images for the doctor to label; the loop retrains every 20 labels."""
    project = _project(
        GENERATED_PROJECT,
        [("clear", "#3fb950"), ("opacity", "#ff7b72")],
        admin,
        doctor,
        task_type="classification",
        instructions=(
            "Is there a focal opacity (a soft bright blob) inside either lung field? "
            "Press 1 for clear, 2 for opacity."
        ),
        deidentify=False,  # generated pictures of nobody: nothing to remove
        retrain_every=20,
        batch_size=20,
        input_size=64,
        suggestions="after",
    )
    if Item.objects.filter(project=project).count() >= count:
        return Seeded(project, project.items.count(), created=False)
    generated = generate_opacity_images(count=count)
    files = [
        (
            f"generated-{index + 1:04d}.dcm",
            secondary_capture_bytes(
                image,
                patient_id=generated.patient_ids[index],
                instance_number=index + 1,
                description="Chest opacity demo",
            ),
        )
        for index, image in enumerate(generated.images)
    ]
    _ingest_all(project, files, say)
    return Seeded(project, project.items.count(), created=True)


def seed_segmentation_project(
    admin: AbstractBaseUser, doctor: AbstractBaseUser, say: Say, count: int = SEGMENTATION_COUNT
) -> Seeded:
    """Unlabelled images with known lesions (bright ellipses on noise, a fifth without any) for
    the doctor to outline; the U-Net retrains every 20 answers and then suggests masks."""
    project = _project(
        SEGMENTATION_PROJECT,
        [("lesion", "#ff7b72")],
        admin,
        doctor,
        task_type="segmentation",
        instructions=(
            "Outline every lesion (the bright oval) with the brush or the polygon tool; "
            "submit an image without one as no findings."
        ),
        deidentify=False,  # generated pictures of nobody: nothing to remove
        strategy="seg_budget_aware",
        retrain_every=20,
        batch_size=20,
        input_size=64,
        suggestions="before",
    )
    if Item.objects.filter(project=project).count() >= count:
        return Seeded(project, project.items.count(), created=False)
    generated = generate_lesion_images(count=count)
    files = [
        (
            f"lesion-{index + 1:04d}.dcm",
            secondary_capture_bytes(
                image,
                patient_id=generated.patient_ids[index],
                instance_number=index + 1,
                description="Lesion outline demo",
            ),
        )
        for index, image in enumerate(generated.images)
    ]
    _ingest_all(project, files, say)
    return Seeded(project, project.items.count(), created=True)


def seed_demo(
    admin: AbstractBaseUser,
    doctor: AbstractBaseUser,
    say: Say,
    generated_count: int = GENERATED_COUNT,
    segmentation_count: int | None = None,
) -> list[Seeded]:
    """`segmentation_count` defaults to SEGMENTATION_COUNT, or fewer when a test asks for a small
    `generated_count` (as many as that)."""
    if segmentation_count is None:
        segmentation_count = min(SEGMENTATION_COUNT, generated_count)
    return [
        seed_dicom_project(admin, doctor, say),
        seed_generated_project(admin, doctor, say, count=generated_count),
        seed_segmentation_project(admin, doctor, say, count=segmentation_count),
    ]
