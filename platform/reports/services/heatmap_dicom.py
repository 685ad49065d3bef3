"""A heat map as a DICOM Secondary Capture image other viewers can show beside the source.

Secondary Capture (PS3.3 A.8) rather than a Parametric Map: every PACS viewer displays it, and
the values are an 8-bit display of a [0, 1] map anyway. It joins the source's study (same
Study Instance UID, patient module copied by highdicom from the source), in its own series, and
names the source image in Source Image Sequence (PS3.3 C.7.6.1.1.4) and Referenced Image
Sequence, so a viewer can link the two. UIDs derive from the heat map's identity, so exporting
the same map twice gives the same object.
"""

from __future__ import annotations

from io import BytesIO

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from reports.models import HeatMap
from studies.storage import read_dataset

SERIES_NUMBER = 9901  # high, so it sorts after the acquisition series in viewers


def _uid(heatmap: HeatMap, kind: str) -> str:
    return generate_uid(
        entropy_srcs=[
            "radloop-heatmap",
            kind,
            str(heatmap.item_id),
            str(heatmap.model_version_id),
            str(heatmap.finished_at),
        ]
    )


def _reference(source: Dataset) -> Dataset:
    ref = Dataset()
    ref.ReferencedSOPClassUID = source.SOPClassUID
    ref.ReferencedSOPInstanceUID = source.SOPInstanceUID
    return ref


_AXES = (("L", "R"), ("P", "A"), ("H", "F"))  # +x, -x / +y, -y / +z, -z (PS3.3 C.7.6.1.1.1)


def _letter(cosines: list[float]) -> str:
    axis = max(range(3), key=lambda i: abs(cosines[i]))
    return _AXES[axis][0 if cosines[axis] > 0 else 1]


def patient_orientation(source: Dataset) -> tuple[str, str] | None:
    """The source's row/column directions as PatientOrientation letters, if it has any."""
    if "PatientOrientation" in source and len(source.PatientOrientation) == 2:
        return tuple(str(v) for v in source.PatientOrientation)  # type: ignore[return-value]
    if "ImageOrientationPatient" in source and len(source.ImageOrientationPatient) == 6:
        iop = [float(v) for v in source.ImageOrientationPatient]
        return _letter(iop[:3]), _letter(iop[3:])
    return None


def heatmap_dicom(heatmap: HeatMap) -> bytes:
    """Part 10 bytes of the map (0 = no evidence, 255 = strongest) at the source's pixel grid."""
    item = heatmap.item
    assert item.instance is not None
    source = read_dataset(item.instance, stop_before_pixels=True)
    values = np.load(heatmap.values_path, allow_pickle=False).astype(np.float32)
    pixels = np.clip(np.round(values * 255.0), 0, 255).astype(np.uint8)
    version = heatmap.model_version
    orientation = patient_orientation(source)
    image = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=pixels,
        photometric_interpretation=hd.PhotometricInterpretationValues.MONOCHROME2,
        bits_allocated=8,
        coordinate_system="PATIENT",
        patient_orientation=orientation or ("L", "P"),
        series_instance_uid=_uid(heatmap, "series"),
        series_number=SERIES_NUMBER,
        sop_instance_uid=_uid(heatmap, "instance"),
        instance_number=item.frame,
        manufacturer="Radloop",
        series_description=f"Radloop Grad-CAM, model v{version.number}"[:64],
    )
    if orientation is None:
        # Type 2 (PS3.3 C.7.6.1.1.1): present but empty when the source does not say either.
        image.PatientOrientation = None  # type: ignore[assignment]
    image.ImageType = ["DERIVED", "SECONDARY", "HEATMAP"]
    image.DerivationDescription = (
        f"Grad-CAM of class {heatmap.predicted!r} by model v{version.number}; "
        "decision support, not a diagnosis"
    )[:1024]
    image.ImageComments = "Decision support, not a diagnosis"
    image.SourceImageSequence = Sequence([_reference(source)])
    if int(getattr(source, "NumberOfFrames", 1) or 1) > 1:
        image.SourceImageSequence[0].ReferencedFrameNumber = item.frame
    image.ReferencedImageSequence = Sequence([_reference(source)])
    image.WindowCenter, image.WindowWidth = 128, 256
    out = BytesIO()
    pydicom.dcmwrite(out, image, enforce_file_format=True)
    return out.getvalue()
