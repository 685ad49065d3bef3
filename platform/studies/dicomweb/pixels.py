"""WADO-RS frames and bulk data (PS3.18 §10.4.1.1.4 and §10.4.1.1.3).

A frame is read as stored (only that frame's byte range, studies.frames.read_frame) and sent
in the encoding the client accepts (media.choose_frame_encoding): natively, or decoded to
little-endian pixels when the client wants uncompressed data and the object is compressed.
Each part carries `Content-Type: <media type>; transfer-syntax=<UID>` and a Content-Location.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from studies.dicomweb import multipart
from studies.dicomweb.errors import bad_request, not_acceptable, not_found
from studies.dicomweb.links import instance_path
from studies.dicomweb.media import MediaRange, choose_frame_encoding, frame_media_type
from studies.dicomweb.metadata import PIXEL_DATA
from studies.dicomweb.sources import source_for
from studies.models import Instance

MAX_FRAMES_PER_REQUEST = 10_000


def parse_frame_list(text: str, number_of_frames: int) -> list[int]:
    """`1,3,5` → [1, 3, 5] (PS3.18 §10.4.1.1.4: 1-based, comma separated, each must exist)."""
    if not re.fullmatch(r"\d+(,\d+)*", text or ""):
        raise bad_request(f"frame list {text!r} must be comma-separated frame numbers")
    numbers = [int(n) for n in text.split(",")]
    if len(numbers) > MAX_FRAMES_PER_REQUEST:
        raise bad_request(f"at most {MAX_FRAMES_PER_REQUEST} frames per request")
    for number in numbers:
        if not 1 <= number <= number_of_frames:
            raise not_found(f"frame {number} (the instance has {number_of_frames})")
    return numbers


def little_endian_bytes(array: np.ndarray) -> bytes:
    """Decoded pixels as Explicit VR Little Endian frame bytes."""
    array = np.ascontiguousarray(array)
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and not _host_is_little()):
        array = array.astype(array.dtype.newbyteorder("<"))
    return array.tobytes()


def _host_is_little() -> bool:
    return bool(np.little_endian)


@dataclass(frozen=True)
class Body:
    content: bytes
    content_type: str


def frames_body(
    instance: Instance, numbers: list[int], ranges: list[MediaRange], location_root: str
) -> Body:
    """The response to a frames request, or a 406 DicomwebError."""
    native = instance.transfer_syntax_uid
    encoding = choose_frame_encoding(ranges, native)
    if encoding is None:
        raise not_acceptable(
            f"frames of this instance are available as {frame_media_type(native)} "
            f"(transfer-syntax={native}, or *) or application/octet-stream decoded to "
            "1.2.840.10008.1.2.1"
        )
    source = source_for(instance)
    frames = []
    for number in numbers:
        if encoding.transcode:
            data = little_endian_bytes(source.decode_frame(instance, number))
        else:
            data, _ = source.read_frame(instance, number)
        frames.append(data)
    part_type = f"{encoding.media_type}; transfer-syntax={encoding.transfer_syntax}"
    if not encoding.multipart and len(frames) == 1:
        return Body(frames[0], part_type)
    boundary = multipart.new_boundary()
    parts = [
        (
            [
                ("Content-Type", part_type),
                ("Content-Location", f"{location_root}/frames/{number}"),
            ],
            data,
        )
        for number, data in zip(numbers, frames, strict=True)
    ]
    return Body(multipart.encode(parts, boundary), multipart.content_type(part_type, boundary))


def bulkdata_body(
    instance: Instance, tag: str, ranges: list[MediaRange], root: str, study: str, series: str
) -> Body:
    """Bulk data of (7FE0,0010), the only attribute our metadata sends as a BulkDataURI: the
    frames of the instance, one part per frame (PS3.18 §8.7.3.3)."""
    if tag.upper() != PIXEL_DATA or not instance.rows:
        raise not_found(f"bulk data {tag}")
    location = root + instance_path(study, series, instance.sop_instance_uid)
    numbers = list(range(1, instance.number_of_frames + 1))
    return frames_body(instance, numbers, ranges, location)
