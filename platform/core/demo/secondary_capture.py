"""Write a generated 8-bit image as a DICOM Secondary Capture Part 10 file (PS3.3 §A.8.1).

ConversionType SYN ("synthetic image", PS3.3 §C.8.6.1) says truthfully that no modality made it.
UIDs derive from stable inputs, so seeding twice yields the same SOP Instance UIDs and the second
ingest is a "duplicate", not a second copy.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

DEMO_ROOT = "radloop-demo-v1"


def demo_uid(*parts: str) -> UID:
    return generate_uid(entropy_srcs=[DEMO_ROOT, *parts])


def secondary_capture_bytes(
    image: np.ndarray, *, patient_id: str, instance_number: int, description: str
) -> bytes:
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError("expected a 2-D uint8 image")
    sop_uid = demo_uid(patient_id, "instance", str(instance_number))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = demo_uid(patient_id, "study")
    ds.SeriesInstanceUID = demo_uid(patient_id, "series")
    ds.PatientID = patient_id
    ds.PatientName = f"Demo^{patient_id}"
    ds.StudyDate = "20250101"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.StudyDescription = description
    ds.SeriesDescription = f"{description} (generated)"
    ds.Modality = "OT"
    ds.ConversionType = "SYN"
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance_number
    ds.BurnedInAnnotation = "NO"
    ds.Rows, ds.Columns = image.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(image).tobytes()
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
