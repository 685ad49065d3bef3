"""COCO detection/segmentation JSON, one file per split, with the images beside it.

`coco/annotations/{split}.json` + `coco/images/{split}/{item}.png` (8-bit, windowed as the
project says). Boxes → `bbox`; polygons → `segmentation` polygons; masks → compressed RLE
(`iscrowd` 0), all readable by `pycocotools.coco.COCO`. Points → COCO keypoints (one keypoint
"point" per category). Image-level class labels have no COCO field; they are kept in each
image's extra `labels` list. Category ids are the project's class index + 1 (0 is background).
"""

from __future__ import annotations

import shutil
from typing import IO, Any

from annotations.exports.formats.base import (
    SPLITS,
    EntryImage,
    ExportContext,
    FormatWriter,
    json_bytes,
    plane_names,
    plane_of,
    png_bytes,
)
from annotations.exports.geometry import coco_annotation


class Coco(FormatWriter):
    name = "coco"

    def begin(self, ctx: ExportContext) -> None:
        has_points = any(s.get("kind") == "point" for e in ctx.entries for s in e.get("shapes", []))
        self._categories = []
        for index, name in enumerate(ctx.class_names):
            category: dict[str, Any] = {"id": index + 1, "name": name, "supercategory": "finding"}
            if has_points:
                category.update({"keypoints": ["point"], "skeleton": []})
            self._categories.append(category)
        # Per split: (images spool, annotations spool, written so far).
        self._spools: dict[str, tuple[IO[bytes], IO[bytes]]] = {}
        self._counts: dict[str, list[int]] = {}
        self._next_image_id = 1
        self._next_annotation_id = 1

    def _append(self, ctx: ExportContext, split: str, which: int, record: dict[str, Any]) -> None:
        if split not in self._spools:
            self._spools[split] = (ctx.spool(), ctx.spool())
            self._counts[split] = [0, 0]
        handle = self._spools[split][which]
        if self._counts[split][which]:
            handle.write(b",\n")
        handle.write(json_bytes(record).rstrip())
        self._counts[split][which] += 1

    def add(self, ctx: ExportContext, entry: dict[str, Any], image: EntryImage) -> None:
        split = entry["split"]
        frames = image.frames()
        image_ids = []
        for frame, stem in zip(frames, plane_names(entry, len(frames)), strict=True):
            file_name = f"images/{split}/{stem}.png"
            pixels = frame.presentation_8bit(ctx.window)
            ctx.zip.write_bytes(ctx.path("coco", file_name), png_bytes(pixels))
            rows, cols = frame.stored.shape[:2]
            record = {
                "id": self._next_image_id,
                "file_name": file_name,
                "height": int(rows),
                "width": int(cols),
                "item": entry["item"],
                "labels": list(entry.get("labels", [])),
            }
            image_ids.append((self._next_image_id, int(rows), int(cols)))
            self._append(ctx, split, 0, record)
            self._next_image_id += 1
            ctx.count(self.name, "images")
        for shape in entry.get("shapes", []):
            if shape.get("label") not in ctx.class_index:
                continue
            image_id, rows, cols = image_ids[plane_of(entry, shape)]
            geometry = coco_annotation(shape, rows, cols)
            if geometry is None:
                continue
            record = {
                "id": self._next_annotation_id,
                "image_id": image_id,
                "category_id": ctx.class_index[shape["label"]] + 1,
                "kind": shape["kind"],
                **geometry,
            }
            self._append(ctx, split, 1, record)
            self._next_annotation_id += 1
            ctx.count(self.name, "annotations")

    def finish(self, ctx: ExportContext) -> None:
        info = {
            "description": ctx.schema.get("project_name", ""),
            "version": ctx.schema.get("snapshot_hash", ""),
            "contributor": "Radloop",
        }
        for split in SPLITS:
            images, annotations = self._spools.get(split) or (ctx.spool(), ctx.spool())
            with ctx.zip.open_entry(ctx.path("coco", "annotations", f"{split}.json")) as out:
                out.write(b'{"info": ' + json_bytes(info).rstrip() + b',\n"licenses": [],\n')
                out.write(b'"categories": ' + json_bytes(self._categories).rstrip() + b",\n")
                out.write(b'"images": [\n')
                _copy(images, out)
                out.write(b'\n],\n"annotations": [\n')
                _copy(annotations, out)
                out.write(b"\n]}\n")


def _copy(spooled: IO[bytes], out: IO[bytes]) -> None:
    spooled.seek(0)
    shutil.copyfileobj(spooled, out, 1 << 20)
    spooled.close()
