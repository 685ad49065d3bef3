"""A MONAI datalist (Decathlon-style JSON) with its files: `monai/datalist.json`.

Keys "training", "validation" and "test" (our train/val/test splits), readable with
`monai.data.load_decathlon_datalist(path, is_segmentation=..., data_list_key=...)`; paths are
relative to the datalist's folder, which is what that loader resolves them against.
- classification: {"image": "images/….png", "label": class index} (multi-label: a 0/1 list);
- segmentation:   {"image": "images/….nii.gz", "label": "labels/….nii.gz"};
- detection:      {"image": "images/….png", "box": [[x0, y0, x1, y1], …], "label": [index, …]}
  (MONAI detection's "xyxy" box mode, image pixel coordinates).
"""

from __future__ import annotations

from typing import Any

from annotations.exports.formats.base import (
    EntryImage,
    ExportContext,
    FormatWriter,
    case_id,
    json_bytes,
    plane_names,
    plane_of,
    png_bytes,
)
from annotations.exports.formats.volumes import build_volume, nifti_gz

DATALIST_KEYS = {"train": "training", "val": "validation", "test": "test"}


class MonaiDatalist(FormatWriter):
    name = "monai"

    def begin(self, ctx: ExportContext) -> None:
        self._spools = {key: ctx.spool() for key in DATALIST_KEYS.values()}
        self._written = dict.fromkeys(DATALIST_KEYS.values(), 0)

    def _record(self, ctx: ExportContext, split: str, record: dict[str, Any]) -> None:
        key = DATALIST_KEYS[split]
        if self._written[key]:
            self._spools[key].write(b",\n")
        self._spools[key].write(json_bytes(record).rstrip())
        self._written[key] += 1
        ctx.count(self.name, "records")

    def add(self, ctx: ExportContext, entry: dict[str, Any], image: EntryImage) -> None:
        task = ctx.schema["task_type"]
        if task == "segmentation":
            volume = build_volume(ctx, entry, image)
            stem = case_id(entry)
            ctx.zip.write_bytes(
                ctx.path("monai", "images", f"{stem}.nii.gz"), nifti_gz(volume.image, volume.affine)
            )
            ctx.zip.write_bytes(
                ctx.path("monai", "labels", f"{stem}.nii.gz"),
                nifti_gz(volume.labels, volume.affine),
            )
            self._record(
                ctx,
                entry["split"],
                {
                    "image": f"images/{stem}.nii.gz",
                    "label": f"labels/{stem}.nii.gz",
                    "item": entry["item"],
                },
            )
            return
        labels = [label for label in entry.get("labels", []) if label in ctx.class_index]
        if task == "classification" and not labels:
            ctx.skip(self.name, entry, "no class label")
            return
        frames = image.frames()
        for plane, (frame, stem) in enumerate(
            zip(frames, plane_names(entry, len(frames)), strict=True)
        ):
            path = f"images/{stem}.png"
            ctx.zip.write_bytes(
                ctx.path("monai", path), png_bytes(frame.presentation_8bit(ctx.window))
            )
            record: dict[str, Any] = {"image": path, "item": entry["item"]}
            if task == "classification":
                if ctx.schema.get("multi_label"):
                    record["label"] = [int(n in labels) for n in ctx.class_names]
                else:
                    record["label"] = ctx.class_index[labels[0]]
            else:
                boxes = [
                    s
                    for s in entry.get("shapes", [])
                    if s.get("kind") == "box"
                    and s.get("label") in ctx.class_index
                    and plane_of(entry, s) == plane
                ]
                record["box"] = [_xyxy(s["points"]) for s in boxes]
                record["label"] = [ctx.class_index[s["label"]] for s in boxes]
            self._record(ctx, entry["split"], record)

    def finish(self, ctx: ExportContext) -> None:
        # MONAI's loader fails on an empty "test" list, so empty lists other than "training"
        # are left out (a missing key is what the loader expects for "no such list").
        keys = [k for k in DATALIST_KEYS.values() if k == "training" or self._written[k]]
        with ctx.zip.open_entry(ctx.path("monai", "datalist.json")) as out:
            out.write(b"{\n")
            for position, key in enumerate(keys):
                out.write(f'"{key}": [\n'.encode())
                spooled = self._spools[key]
                spooled.seek(0)
                while chunk := spooled.read(1 << 20):
                    out.write(chunk)
                out.write(b"\n]" + (b",\n" if position < len(keys) - 1 else b"\n"))
            out.write(b"}\n")
        for spooled in self._spools.values():
            spooled.close()


def _xyxy(points: list[list[float]]) -> list[float]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return [min(xs), min(ys), max(xs), max(ys)]
