"""An entry as a NIfTI image and label volume, shared by the NIfTI, nnU-Net and MONAI writers.

Planes (frames or slices) are stacked along the third axis. The affine comes from the DICOM
geometry (Image Position/Orientation (Patient), Pixel Spacing; PS3.3 C.7.6.2.1.1), converted
from DICOM's LPS patient axes to NIfTI's RAS+ world, as dcm2niix and nibabel do; planar images
without geometry (CR, Secondary Capture) get 1 mm pixels at the origin.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

import nibabel as nib
import numpy as np

from annotations.exports.formats.base import EntryImage, ExportContext, plane_of
from annotations.exports.geometry import label_map

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass
class Volume:
    image: np.ndarray  # (X=cols, Y=rows, Z=planes) or (X, Y, Z, 3) for colour
    labels: np.ndarray  # (X, Y, Z) uint8/uint16, 0 background, class index + 1
    affine: np.ndarray  # 4x4, RAS+
    colour: bool


def _usable_orientation(value: Any) -> bool:
    if not value or len(value) != 6:
        return False
    row, column = np.asarray(value[:3], np.float64), np.asarray(value[3:6], np.float64)
    return bool(
        abs(np.linalg.norm(row) - 1) < 1e-3
        and abs(np.linalg.norm(column) - 1) < 1e-3
        and abs(float(row @ column)) < 1e-3
    )


def affine_for(geometry: list[dict[str, Any]]) -> np.ndarray:
    first = geometry[0] if geometry else {}
    spacing = first.get("pixel_spacing")
    if not spacing or len(spacing) != 2 or min(float(v) for v in spacing) <= 0:
        spacing = [1.0, 1.0]
    raw_orientation = first.get("image_orientation") or []
    orientation: list[float] = (
        [float(v) for v in raw_orientation]
        if _usable_orientation(raw_orientation)
        else [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    )
    position = first.get("image_position") or [0.0, 0.0, 0.0]
    if len(position) != 3:
        position = [0.0, 0.0, 0.0]
    row_cosine = np.asarray(orientation[:3], dtype=np.float64)
    column_cosine = np.asarray(orientation[3:6], dtype=np.float64)
    normal = np.cross(row_cosine, column_cosine)
    if len(geometry) > 1 and geometry[1].get("image_position") and first.get("image_position"):
        slice_step = np.asarray(geometry[1]["image_position"], np.float64) - np.asarray(
            position, np.float64
        )
        if not np.linalg.norm(slice_step) > 0:
            slice_step = normal * float(first.get("slice_thickness") or 1.0)
    else:
        slice_step = normal * float(first.get("slice_thickness") or 1.0)
    lps = np.eye(4)
    lps[:3, 0] = row_cosine * float(spacing[1])  # along i = column index
    lps[:3, 1] = column_cosine * float(spacing[0])  # along j = row index
    lps[:3, 2] = slice_step
    lps[:3, 3] = np.asarray(position, dtype=float)
    return LPS_TO_RAS @ lps


def build_volume(ctx: ExportContext, entry: dict[str, Any], image: EntryImage) -> Volume:
    frames = image.frames()
    colour = frames[0].is_colour
    planes = [f.stored if colour else f.modality_values() for f in frames]
    dtype = np.result_type(*[p.dtype for p in planes])
    stack = np.stack([p.astype(dtype, copy=False) for p in planes])  # (Z, rows, cols[, 3])
    rows, cols = stack.shape[1], stack.shape[2]
    labels = np.zeros((len(frames), rows, cols), dtype=np.uint8)
    by_plane: dict[int, list[dict[str, Any]]] = {}
    for shape in entry.get("shapes", []):
        by_plane.setdefault(plane_of(entry, shape), []).append(shape)
    for plane, shapes in by_plane.items():
        plane_labels = label_map(shapes, ctx.class_index, rows, cols)
        if plane_labels.dtype != labels.dtype:
            labels = labels.astype(plane_labels.dtype)
        labels[plane] = plane_labels
    if colour:
        volume = np.ascontiguousarray(stack.transpose(2, 1, 0, 3))
    else:
        volume = np.ascontiguousarray(stack.transpose(2, 1, 0))
    return Volume(
        image=volume,
        labels=np.ascontiguousarray(labels.transpose(2, 1, 0)),
        affine=affine_for(image.geometry()),
        colour=colour,
    )


def nifti_gz(array: np.ndarray, affine: np.ndarray) -> bytes:
    """`.nii.gz` bytes that depend only on the array and affine (gzip mtime fixed at 0)."""
    img = nib.Nifti1Image(array, affine)
    img.header.set_xyzt_units("mm")
    img.set_qform(affine, code=1)  # scanner coordinates
    img.set_sform(affine, code=1)
    return gzip.compress(img.to_bytes(), compresslevel=6, mtime=0)
