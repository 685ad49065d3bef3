"""NIfTI images and label maps, and the nnU-Net v2 raw dataset layout.

`nifti/{split}/images/{case}.nii.gz` + `nifti/{split}/labels/{case}.nii.gz`: the image in
modality units (HU for CT), labels 0 = background, class index + 1 per class.

`nnunet/Dataset{ID}_{Name}/`: `dataset.json`, `imagesTr/{case}_0000.nii.gz` and
`labelsTr/{case}.nii.gz` for the train and val splits, `imagesTs/`/`labelsTs/` for the locked
test split (nnU-Net never trains on imagesTs). `nnunet/splits_final.json` holds our train/val
split as one fold; copy it into nnU-Net's preprocessed folder to train on exactly that split.
Colour images become three channels (_0000, _0001, _0002), as nnU-Net expects.
"""

from __future__ import annotations

import re
from typing import Any

from annotations.exports.formats.base import (
    EntryImage,
    ExportContext,
    FormatWriter,
    case_id,
    json_bytes,
)
from annotations.exports.formats.volumes import build_volume, nifti_gz


class Nifti(FormatWriter):
    name = "nifti"

    def add(self, ctx: ExportContext, entry: dict[str, Any], image: EntryImage) -> None:
        volume = build_volume(ctx, entry, image)
        stem = case_id(entry)
        split = entry["split"]
        ctx.zip.write_bytes(
            ctx.path("nifti", split, "images", f"{stem}.nii.gz"),
            nifti_gz(volume.image, volume.affine),
        )
        ctx.zip.write_bytes(
            ctx.path("nifti", split, "labels", f"{stem}.nii.gz"),
            nifti_gz(volume.labels, volume.affine),
        )
        ctx.count(self.name, "cases")


def nnunet_dataset_name(schema: dict[str, Any]) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "", schema.get("project_name", "")) or "Radloop"
    return f"Dataset{int(schema.get('project_id', 1)):03d}_{slug[:40]}"


class NnUnet(FormatWriter):
    name = "nnunet"

    def begin(self, ctx: ExportContext) -> None:
        self._folder = nnunet_dataset_name(ctx.schema)
        self._colour = any(e.get("samples_per_pixel", 1) == 3 for e in ctx.entries)
        modality = next((e.get("modality") for e in ctx.entries if e.get("modality")), "")
        self._channels = (
            {"0": "R", "1": "G", "2": "B"}
            if self._colour
            # nnU-Net normalises a channel named "CT" with dataset-wide HU statistics and any
            # other name by per-image z-score.
            else {"0": "CT" if modality == "CT" else (modality or "image")}
        )
        self._training = 0
        self._folds: dict[str, list[str]] = {"train": [], "val": []}

    def add(self, ctx: ExportContext, entry: dict[str, Any], image: EntryImage) -> None:
        volume = build_volume(ctx, entry, image)
        stem = case_id(entry)
        test = entry["split"] == "test"
        images, labels = ("imagesTs", "labelsTs") if test else ("imagesTr", "labelsTr")
        if self._colour:
            channels = (
                [volume.image[..., c] for c in range(3)] if volume.colour else [volume.image] * 3
            )
        else:
            channels = [volume.image]
        for index, channel in enumerate(channels):
            ctx.zip.write_bytes(
                ctx.path("nnunet", self._folder, images, f"{stem}_{index:04d}.nii.gz"),
                nifti_gz(channel, volume.affine),
            )
        ctx.zip.write_bytes(
            ctx.path("nnunet", self._folder, labels, f"{stem}.nii.gz"),
            nifti_gz(volume.labels, volume.affine),
        )
        if entry["split"] != "test":
            self._training += 1
            self._folds[entry["split"]].append(stem)
        ctx.count(self.name, "cases")

    def finish(self, ctx: ExportContext) -> None:
        labels = {"background": 0}
        labels.update({name: index + 1 for index, name in enumerate(ctx.class_names)})
        dataset = {
            "name": ctx.schema.get("project_name", ""),
            "description": "Exported by Radloop from a frozen dataset snapshot",
            "reference": ctx.schema.get("snapshot_hash", ""),
            "channel_names": self._channels,
            "labels": labels,
            "numTraining": self._training,
            "file_ending": ".nii.gz",
        }
        ctx.zip.write_bytes(ctx.path("nnunet", self._folder, "dataset.json"), json_bytes(dataset))
        ctx.zip.write_bytes(ctx.path("nnunet", "splits_final.json"), json_bytes([self._folds]))
