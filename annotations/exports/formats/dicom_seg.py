"""DICOM Segmentation objects (highdicom) that reference the exported source instances.

`dicom_seg/seg/{case}.dcm`: one binary SEG per item with region annotations (masks, polygons),
one segment per project class (segment number = class index + 1), built from the de-identified
source datasets so its patient/study modules and its references (Referenced Series/Instance
Sequences, PS3.3 C.8.20.2 and C.7.6.16.2.5) carry the same remapped UIDs as the source files in
`dicom_seg/images/{SOPInstanceUID}.dcm`, which are exported beside it (de-identified, each once).
The SEG's own UIDs are derived from the snapshot hash and its timestamps from the (shifted)
study date, so the same snapshot always yields the same bytes.
"""

from __future__ import annotations

import copy
import io
from typing import Any

import highdicom as hd
import numpy as np
from highdicom.spatial import get_image_coordinate_system
from pydicom import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from annotations.exports.formats.base import (
    EntryImage,
    ExportContext,
    FormatWriter,
    case_id,
    plane_of,
    region_shapes,
)
from annotations.exports.geometry import class_masks

SOFTWARE_VERSION = "radloop-export 1"
FALLBACK_DATE = "19700101"
FALLBACK_TIME = "000000"
DEID_MARKERS = (
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
)


def dicom_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _pin_volatile_values(seg: Dataset, date: str, time: str, dimension_uid: str) -> None:
    """highdicom stamps creation times with `now` and draws a random Dimension Organization
    UID; an archive must not depend on when it was built, so these are fixed: times from the
    (shifted) study date, the UID from the snapshot."""
    seg.InstanceCreationDate = date
    seg.InstanceCreationTime = time
    seg.ContentDate = date
    seg.ContentTime = time
    for element in seg.iterall():
        if element.keyword == "DimensionOrganizationUID":
            element.value = dimension_uid
    if "SeriesDate" in seg:
        seg.SeriesDate = date
    if "SeriesTime" in seg:
        seg.SeriesTime = time


class DicomSeg(FormatWriter):
    name = "dicom_seg"

    def begin(self, ctx: ExportContext) -> None:
        self._written_sources: set[str] = set()
        self._descriptions = [
            hd.seg.SegmentDescription(
                segment_number=index + 1,
                segment_label=name[:64],
                # The schema says nothing about anatomy, so the generic "Tissue" concept is used;
                # the class name is the segment label.
                segmented_property_category=codes.SCT.Tissue,
                segmented_property_type=codes.SCT.Tissue,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            )
            for index, name in enumerate(ctx.class_names)
        ]

    def add(self, ctx: ExportContext, entry: dict[str, Any], image: EntryImage) -> None:
        shapes = [s for s in region_shapes(entry) if s.get("label") in ctx.class_index]
        if not shapes:
            ctx.skip(self.name, entry, "no mask or polygon")
            return
        sources = image.datasets()  # de-identified, one per source instance, in plane order
        rows, cols = int(sources[0].Rows), int(sources[0].Columns)
        planes = len(image.frames())
        stacked = np.zeros((planes, rows, cols, len(ctx.class_names)), dtype=np.uint8)
        by_plane: dict[int, list[dict[str, Any]]] = {}
        for shape in shapes:
            by_plane.setdefault(plane_of(entry, shape), []).append(shape)
        for plane, plane_shapes in by_plane.items():
            stacked[plane] = class_masks(plane_shapes, ctx.class_index, rows, cols)
        if not stacked.any():
            ctx.skip(self.name, entry, "empty mask")
            return
        if len(sources) == 1 and int(getattr(sources[0], "NumberOfFrames", 1) or 1) > 1:
            # One frame of a multi-frame source: the SEG's first axis follows the source frames.
            frame_count = int(sources[0].NumberOfFrames)
            full = np.zeros((frame_count, rows, cols, stacked.shape[3]), dtype=np.uint8)
            keys: list[int] = entry.get("frame_keys") or [entry.get("frame", 1)]
            for plane, frame_number in enumerate(keys):
                full[frame_number - 1] = stacked[plane]
            stacked = full
        if stacked.shape[0] > 1 and get_image_coordinate_system(sources[0]) is None:
            # Without a frame of reference a SEG can only describe a single-frame image
            # (highdicom enforces PS3.3 C.8.20.2's spatial references).
            ctx.skip(self.name, entry, "multi-frame source without a frame of reference")
            return
        for ds in sources:
            uid = str(ds.SOPInstanceUID)
            if uid not in self._written_sources:
                self._written_sources.add(uid)
                ctx.zip.write_bytes(ctx.path("dicom_seg", "images", f"{uid}.dcm"), dicom_bytes(ds))
                ctx.count(self.name, "source_instances")
        seg = self._segmentation(ctx, entry, sources, stacked)
        ctx.zip.write_bytes(ctx.path("dicom_seg", "seg", f"{case_id(entry)}.dcm"), dicom_bytes(seg))
        ctx.count(self.name, "segmentations")

    def _segmentation(
        self, ctx: ExportContext, entry: dict[str, Any], sources: list[Dataset], stacked: np.ndarray
    ) -> Dataset:
        snapshot = ctx.schema.get("snapshot_hash", "")
        study_uid = str(sources[0].StudyInstanceUID)
        seg = hd.seg.Segmentation(
            source_images=sources,
            pixel_array=stacked,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=self._descriptions,
            series_instance_uid=generate_uid(entropy_srcs=[snapshot, study_uid, "seg-series"]),
            series_number=9900,
            sop_instance_uid=generate_uid(entropy_srcs=[snapshot, str(entry["item"]), "seg"]),
            instance_number=int(entry["item"]) % 2_000_000_000,
            manufacturer="Radloop",
            manufacturer_model_name="Radloop dataset export",
            software_versions=SOFTWARE_VERSION,
            device_serial_number="0",
            content_label="RADLOOP",
            content_description="Ground truth exported from a Radloop dataset snapshot",
            omit_empty_frames=True,
        )
        date = str(getattr(sources[0], "StudyDate", "") or FALLBACK_DATE)
        time = str(getattr(sources[0], "StudyTime", "") or FALLBACK_TIME).split(".")[0]
        _pin_volatile_values(
            seg, date, time, generate_uid(entropy_srcs=[snapshot, str(entry["item"]), "dim"])
        )
        # highdicom records the source's acquisition equipment and its own contribution (with
        # times and descriptions the Basic profile removes, PS3.15 Table E.1-1); the sequence is
        # optional (SOP Common, Type 3), so it goes. The serial number is emptied likewise (X/Z/D).
        if "ContributingEquipmentSequence" in seg:
            del seg.ContributingEquipmentSequence
        seg.DeviceSerialNumber = ""
        # The SEG inherits its patient and study from de-identified sources; it says so as they
        # do (PS3.15 E.1.1), so readers and PHI checks treat its UIDs and dates as replaced.
        for keyword in DEID_MARKERS:
            if keyword in sources[0]:
                setattr(seg, keyword, copy.deepcopy(sources[0][keyword].value))
        return seg
