"""A folder per split and class of PNG images: `imagefolder/{split}/{class}/{item}.png`.

That is the layout torchvision's `ImageFolder` and Keras' `flow_from_directory` read (point them
at `imagefolder/train`). Images are windowed as the project says (8-bit), or hold the stored
values (16-bit option; see `classes.json` for the offset and the rescale to apply).
A multi-label item appears once under each of its classes; an item without a class label has
no folder to go to and is listed as skipped in the export report.
"""

from __future__ import annotations

from typing import Any

from annotations.exports.formats.base import (
    EntryImage,
    ExportContext,
    FormatWriter,
    json_bytes,
    plane_names,
    png_bytes,
    safe_name,
)


class ImageFolder(FormatWriter):
    name = "imagefolder"

    def begin(self, ctx: ExportContext) -> None:
        self._offsets: dict[int, int] = {}

    def add(self, ctx: ExportContext, entry: dict[str, Any], image: EntryImage) -> None:
        labels = [label for label in entry.get("labels", []) if label in ctx.class_index]
        if not labels:
            ctx.skip(self.name, entry, "no class label")
            return
        frames = image.frames()
        names = plane_names(entry, len(frames))
        for frame, stem in zip(frames, names, strict=True):
            if ctx.bit_depth == 16 and not frame.is_colour:  # PNG has no 16-bit RGB from PIL
                data = png_bytes(frame.presentation_16bit())
                self._offsets[frame.png16_offset] = self._offsets.get(frame.png16_offset, 0) + 1
            else:
                data = png_bytes(frame.presentation_8bit(ctx.window))
            for label in labels:
                ctx.zip.write_bytes(
                    ctx.path("imagefolder", entry["split"], safe_name(label), f"{stem}.png"), data
                )
                ctx.count(self.name, "images")

    def finish(self, ctx: ExportContext) -> None:
        info: dict[str, Any] = {
            "classes": {safe_name(n): n for n in ctx.class_names},
            "bit_depth": ctx.bit_depth,
        }
        if ctx.bit_depth == 16:
            info["png16"] = (
                "pixel = stored value + offset; apply the Modality LUT (rescale) from the "
                "manifest or the DICOM header to get modality units"
            )
            info["offsets_used"] = sorted(self._offsets)
        else:
            info["window"] = (
                {"center": ctx.window.center, "width": ctx.window.width}
                if ctx.window
                else "DICOM default window of each image, else its min/max"
            )
        ctx.zip.write_bytes(ctx.path("imagefolder", "classes.json"), json_bytes(info))
