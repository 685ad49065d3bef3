"""DICOM SEG read back with highdicom equals the database masks and references the exported,
de-identified source instances."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom

from annotations.exports.geometry import class_masks
from annotations.ground_truth import ground_truth_for
from studies.deid import find_phi


def test_each_segment_equals_the_class_mask_and_references_the_exported_source(
    segmentation_project, export
) -> None:
    root = export(segmentation_project, ["dicom_seg"]) / "dicom_seg"
    truth = ground_truth_for(segmentation_project)
    sources = {}
    for path in (root / "images").iterdir():
        ds = pydicom.dcmread(path)
        assert path.stem == ds.SOPInstanceUID
        assert find_phi(ds) == []
        sources[ds.SOPInstanceUID] = ds
    segs = sorted((root / "seg").iterdir())
    assert len(segs) == len(sources) == 5
    for path in segs:
        seg = hd.seg.segread(path)
        assert find_phi(seg) == []
        item_id = int(path.stem.removeprefix("item"))
        (source_uid,) = [uid for _study, _series, uid in seg.get_source_image_uids()]
        source = sources[source_uid]
        assert seg.StudyInstanceUID == source.StudyInstanceUID
        assert seg.PatientID == source.PatientID
        assert [s.SegmentLabel for s in seg.SegmentSequence] == ["brain", "lesion"]
        pixels = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=[source_uid], segment_numbers=[1, 2]
        )[0]
        expected = class_masks(
            truth[item_id].shapes, {"brain": 0, "lesion": 1}, int(source.Rows), int(source.Columns)
        )
        assert np.array_equal(pixels.astype(np.uint8), expected)
