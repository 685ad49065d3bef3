"""The PNG folder tree read the way torchvision's ImageFolder reads it equals the database."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from annotations.exports.pixels import FramePixels, Window
from annotations.ground_truth import ground_truth_for
from annotations.models import Item
from studies.frames import decode_frame


def image_folder(root: Path) -> dict[tuple[str, str], list[Path]]:
    """An ImageFolder-style walk: root/<split>/<class>/<file>.png."""
    found: dict[tuple[str, str], list[Path]] = {}
    for split in sorted(p for p in root.iterdir() if p.is_dir()):
        for klass in sorted(p for p in split.iterdir() if p.is_dir()):
            found[(split.name, klass.name)] = sorted(klass.glob("*.png"))
    return found


def item_of(path: Path) -> int:
    return int(path.stem.removeprefix("item").split("_")[0])


def test_every_labelled_item_sits_in_its_split_and_class_folder(
    classification_project, export
) -> None:
    root = export(classification_project, ["imagefolder"]) / "imagefolder"
    truth = ground_truth_for(classification_project)
    items = {i.pk: i for i in Item.objects.filter(project=classification_project)}
    found = {
        item_of(path): (split, klass)
        for (split, klass), paths in image_folder(root).items()
        for path in paths
    }
    assert found == {pk: (items[pk].split, t.labels[0]) for pk, t in truth.items()}
    assert json.loads((root / "classes.json").read_text())["bit_depth"] == 8


def test_pngs_hold_the_stored_pixels_windowed_as_the_project_says(
    segmentation_project, export
) -> None:
    segmentation_project.window_center, segmentation_project.window_width = 40.0, 400.0
    segmentation_project.save()
    root = export(segmentation_project, ["imagefolder"]) / "imagefolder"
    checked = 0
    # Every item has a "brain" mask and a "lesion" polygon: its labels are both classes, and a
    # multi-label item appears under each of its classes.
    folders = image_folder(root)
    assert {klass for _split, klass in folders} == {"brain", "lesion"}
    for paths in folders.values():
        for path in paths:
            item = Item.objects.select_related("instance").get(pk=item_of(path))
            instance = item.instance
            expected = FramePixels(
                stored=decode_frame(instance, 1),
                slope=instance.rescale_slope or 1.0,
                intercept=instance.rescale_intercept or 0.0,
            ).presentation_8bit(Window(40.0, 400.0))
            with Image.open(path) as png:
                assert png.mode == "L"
                assert np.array_equal(np.asarray(png), expected)
            checked += 1
    assert checked == 10


def test_the_16_bit_option_keeps_the_stored_values(segmentation_project, export) -> None:
    root = export(segmentation_project, ["imagefolder"], bit_depth=16) / "imagefolder"
    info = json.loads((root / "classes.json").read_text())
    paths = [
        p for (_split, klass), ps in image_folder(root).items() for p in ps if klass == "lesion"
    ]
    assert len(paths) == 5
    for path in paths:
        instance = Item.objects.select_related("instance").get(pk=item_of(path)).instance
        stored = decode_frame(instance, 1).astype(np.int64)
        offset = 32768 if instance.pixel_representation else 0
        assert offset in info["offsets_used"]
        with Image.open(path) as png:
            assert png.mode.startswith("I;16") or png.mode == "I"
            assert np.array_equal(np.asarray(png).astype(np.int64) - offset, stored)
