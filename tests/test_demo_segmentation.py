"""The segmentation demo `make run` seeds: generated images whose lesions are known, unlabelled,
in a segmentation project that retrains every 20 answers."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.models import Annotation, Item, Project
from annotations.payloads import rasterize
from core.demo.generated_lesions import generate_lesion_images
from core.demo.seed import SEGMENTATION_PROJECT, seed_demo
from studies.frames import decode_frame


def test_each_lesion_is_bright_inside_its_outline_and_some_images_have_none() -> None:
    generated = generate_lesion_images(count=200)

    assert generated.images.shape == (200, 64, 64) and generated.images.dtype == np.uint8
    empty = sum(1 for o in generated.outlines if o is None)
    assert 20 <= empty <= 60
    for image, outline in zip(generated.images, generated.outlines, strict=True):
        if outline is None:
            continue
        inside = rasterize("polygon", {"points": outline}, 64, 64)
        assert inside is not None and inside.sum() >= 12
        # A doctor sees it: the lesion is far brighter than the rest of its image.
        assert image[inside].mean() > image[~inside].mean() + 35
    assert np.array_equal(generate_lesion_images(count=10).images, generated.images[:10])


@pytest.mark.django_db
def test_the_segmentation_demo_waits_unlabelled_for_the_doctor(make_user) -> None:
    seed_demo(
        make_user("admin", superuser=True),
        make_user("doctor"),
        say=lambda line: None,
        generated_count=12,
        segmentation_count=16,
    )

    project = Project.objects.get(name=SEGMENTATION_PROJECT)
    assert project.task_type == "segmentation" and project.retrain_every == 20
    assert project.strategy == "seg_budget_aware"
    assert list(project.label_classes.values_list("name", flat=True)) == ["lesion"]
    items = Item.objects.filter(project=project).select_related("instance").order_by("pk")
    assert items.count() == 16
    assert not Annotation.objects.filter(item__project=project).exists()
    expected = generate_lesion_images(count=16).images
    stored = {decode_frame(item.instance, 1).tobytes() for item in items}
    assert stored == {image.tobytes() for image in expected}
