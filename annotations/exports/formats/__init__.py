"""The export formats, by name, in the fixed order they are written (part of determinism)."""

from __future__ import annotations

from annotations.exports.formats.base import FormatWriter
from annotations.exports.formats.coco import Coco
from annotations.exports.formats.dicom_seg import DicomSeg
from annotations.exports.formats.imagefolder import ImageFolder
from annotations.exports.formats.manifests import CsvManifest, JsonManifest
from annotations.exports.formats.monai import MonaiDatalist
from annotations.exports.formats.nifti import Nifti, NnUnet

WRITERS: dict[str, type[FormatWriter]] = {
    writer.name: writer
    for writer in (
        CsvManifest,
        JsonManifest,
        ImageFolder,
        Coco,
        Nifti,
        NnUnet,
        DicomSeg,
        MonaiDatalist,
    )
}
FORMAT_NAMES = tuple(WRITERS)
# Formats that only make sense for segmentation projects (label maps are their whole point).
SEGMENTATION_ONLY = frozenset({"nnunet", "dicom_seg"})


def canonical_formats(names: list[str] | tuple[str, ...]) -> list[str]:
    """Known names, deduplicated, in writing order; unknown names raise ValueError."""
    unknown = sorted(set(names) - set(WRITERS))
    if unknown:
        raise ValueError(
            f"unknown export format(s): {', '.join(unknown)}; choose from {', '.join(WRITERS)}"
        )
    return [name for name in WRITERS if name in set(names)]
