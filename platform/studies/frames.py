"""Where each frame's bytes lie in a stored object, and reading one frame without the rest.

Native pixel data (PS3.5 §8.1.1) is frames laid end to end, each rows*columns*samples*bits
allocated long (bit-packed when BitsAllocated is 1, PS3.5 §8.1.1 and §8.2). Encapsulated pixel
data (PS3.5 §A.4) is a sequence of items: a Basic Offset Table, then fragments, closed by a
sequence delimiter; a frame is one fragment or several consecutive ones. Offsets are computed once
at ingest (`compute_frame_offsets`) and kept in Instance.frame_offsets, so WADO-RS frame
retrieval (frames resources of the PS3.18 §10.4 Retrieve transaction) reads only that frame's
bytes from storage.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from io import BytesIO
from typing import TYPE_CHECKING

import numpy as np
import pydicom
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels import get_decoder
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

from studies.storage import get_store, read_dataset

if TYPE_CHECKING:
    from studies.models import Instance

PIXEL_DATA = 0x7FE00010
EXTENDED_OFFSET_TABLE = 0x7FE00001
EXTENDED_OFFSET_TABLE_LENGTHS = 0x7FE00002
_ITEM = (0xFFFE, 0xE000)
_SEQUENCE_DELIMITER = (0xFFFE, 0xE0DD)
# JPEG EOI / JPEG 2000 EOC: the last marker of a codestream; pydicom uses the same rule to split
# fragments into frames when there is no offset table (pydicom.encaps.generate_fragmented_frames).
_END_OF_IMAGE = b"\xff\xd9"


class FrameLayoutError(ValueError):
    """The pixel data does not hold the frames the dataset announces (truncated or malformed)."""


class FrameNotFound(LookupError):
    """The frame number is outside 1..NumberOfFrames."""


def number_of_frames(ds: pydicom.Dataset) -> int:
    try:
        value = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError) as exc:
        raise FrameLayoutError(f"NumberOfFrames is not a number: {ds.NumberOfFrames!r}") from exc
    if value < 1:
        raise FrameLayoutError(f"NumberOfFrames must be at least 1, got {value}")
    return value


def _frame_bits(ds: pydicom.Dataset) -> int:
    return int(ds.Rows) * int(ds.Columns) * int(ds.SamplesPerPixel) * int(ds.BitsAllocated)


def native_frame_offsets(
    ds: pydicom.Dataset, value_offset: int, value_length: int
) -> list[list[int]]:
    """[[offset, length]] per frame for native pixel data starting at `value_offset` in the file."""
    frames = number_of_frames(ds)
    bits = _frame_bits(ds)
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if photometric == "YBR_FULL_422":
        bits = bits * 2 // 3  # two chroma samples shared by two pixels (PS3.3 C.7.6.3.1.2)
    needed = (frames * bits + 7) // 8
    if value_length < needed:
        raise FrameLayoutError(
            f"pixel data holds {value_length} bytes but {frames} frame(s) of "
            f"{ds.Rows}x{ds.Columns} need {needed}"
        )
    offsets = []
    for index in range(frames):
        start_bit, end_bit = index * bits, (index + 1) * bits
        start, end = start_bit // 8, (end_bit + 7) // 8
        offsets.append([value_offset + start, end - start])
    return offsets


def _walk_items(data: bytes, position: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Basic Offset Table and the (item offset, length) of every fragment, from the file bytes."""
    size = len(data)

    def item_at(pos: int) -> tuple[tuple[int, int], int]:
        if pos + 8 > size:
            raise FrameLayoutError("encapsulated pixel data ends before its sequence delimiter")
        group, element, length = struct.unpack_from("<HHI", data, pos)
        return (group, element), length

    tag, length = item_at(position)
    if tag != _ITEM:
        raise FrameLayoutError("encapsulated pixel data does not start with a Basic Offset Table")
    if position + 8 + length > size or length % 4:
        raise FrameLayoutError("the Basic Offset Table is truncated or malformed")
    table = list(struct.unpack_from(f"<{length // 4}I", data, position + 8))
    position += 8 + length
    fragments: list[tuple[int, int]] = []
    while True:
        tag, length = item_at(position)
        if tag == _SEQUENCE_DELIMITER:
            break
        if tag != _ITEM:
            raise FrameLayoutError(f"unexpected tag {tag[0]:04X},{tag[1]:04X} among fragments")
        if length == 0xFFFFFFFF or position + 8 + length > size:
            raise FrameLayoutError("an encapsulated fragment is truncated")
        fragments.append((position, length))
        position += 8 + length
    if not fragments:
        raise FrameLayoutError("encapsulated pixel data has no fragments")
    return table, fragments


def _extended_table(ds: pydicom.Dataset) -> tuple[list[int], list[int]] | None:
    if EXTENDED_OFFSET_TABLE not in ds or EXTENDED_OFFSET_TABLE_LENGTHS not in ds:
        return None
    raw_offsets = ds[EXTENDED_OFFSET_TABLE].value
    raw_lengths = ds[EXTENDED_OFFSET_TABLE_LENGTHS].value
    offsets = list(struct.unpack(f"<{len(raw_offsets) // 8}Q", raw_offsets))
    lengths = list(struct.unpack(f"<{len(raw_lengths) // 8}Q", raw_lengths))
    return offsets, lengths


def _group_fragments(
    data: bytes, ds: pydicom.Dataset, table: list[int], fragments: list[tuple[int, int]]
) -> list[list[tuple[int, int]]]:
    frames = number_of_frames(ds)
    first = fragments[0][0]
    extended = _extended_table(ds)
    if extended:
        # PS3.3 C.7.6.3.1.8: offsets from the first fragment's item tag, one fragment per frame.
        by_offset = {pos - first: (pos, length) for pos, length in fragments}
        try:
            return [[by_offset[offset]] for offset in extended[0]]
        except KeyError as exc:
            raise FrameLayoutError("the Extended Offset Table points between fragments") from exc
    if table:
        # PS3.5 A.4: each entry is a frame's first fragment, measured from the first fragment.
        if table[0] != 0 or sorted(table) != table or len(table) != frames:
            raise FrameLayoutError("the Basic Offset Table does not match the frames")
        starts = [first + offset for offset in table] + [fragments[-1][0] + 1]
        grouped: list[list[tuple[int, int]]] = [[] for _ in table]
        for pos, length in fragments:
            index = next(i for i in range(len(table)) if starts[i] <= pos < starts[i + 1])
            grouped[index].append((pos, length))
        if any(not group for group in grouped):
            raise FrameLayoutError("the Basic Offset Table points between fragments")
        return grouped
    if frames == 1:
        return [list(fragments)]
    if len(fragments) == frames:
        return [[fragment] for fragment in fragments]
    if len(fragments) < frames:
        raise FrameLayoutError(f"{len(fragments)} fragment(s) cannot hold {frames} frames")
    grouped, current = [], []
    for pos, length in fragments:
        current.append((pos, length))
        tail_start = pos + 8 + max(0, length - 10)
        if _END_OF_IMAGE in data[tail_start : pos + 8 + length]:
            grouped.append(current)
            current = []
    if current or len(grouped) != frames:
        raise FrameLayoutError(
            f"cannot tell where the {frames} frames start among {len(fragments)} fragments"
        )
    return grouped


def encapsulated_frame_offsets(
    data: bytes, ds: pydicom.Dataset, value_offset: int
) -> list[list[int]]:
    table, fragments = _walk_items(data, value_offset)
    offsets = []
    for group in _group_fragments(data, ds, table, fragments):
        entry: list[int] = []
        for pos, length in group:
            entry += [pos + 8, length]  # skip the item tag and length
        offsets.append(entry)
    return offsets


def compute_frame_offsets(data: bytes, ds: pydicom.Dataset | None = None) -> list[list[int]]:
    """Frame offsets within `data`, a complete Part 10 file. Raises FrameLayoutError."""
    if ds is None:
        ds = pydicom.dcmread(BytesIO(data))
    syntax = UID(ds.file_meta.TransferSyntaxUID)
    if syntax == DeflatedExplicitVRLittleEndian:
        return []  # positions in the inflated stream say nothing about the stored bytes
    if PIXEL_DATA not in ds:
        raise FrameLayoutError("no Pixel Data (7FE0,0010)")
    element = ds[PIXEL_DATA]
    # pydicom records where each element's value starts in the file it was read from.
    value_offset = element.file_tell
    if value_offset is None:
        raise FrameLayoutError("the position of Pixel Data in the file is unknown")
    if syntax.is_encapsulated:
        return encapsulated_frame_offsets(data, ds, value_offset)
    length = min(len(element.value or b""), len(data) - value_offset)
    return native_frame_offsets(ds, value_offset, length)


# -- reading -----------------------------------------------------------------------------------


def _frame_syntax(instance: Instance) -> str:
    # Deflate compresses the whole dataset, not the pixels: the frame itself is native
    # little endian, so clients decode it as Explicit VR Little Endian.
    if instance.transfer_syntax_uid == DeflatedExplicitVRLittleEndian:
        return str(ExplicitVRLittleEndian)
    return instance.transfer_syntax_uid


def _check_number(instance: Instance, number: int) -> None:
    if not 1 <= number <= instance.number_of_frames:
        raise FrameNotFound(
            f"frame {number} does not exist; instance has {instance.number_of_frames} frame(s)"
        )


def _realign_bits(data: bytes, instance: Instance, number: int) -> bytes:
    """A bit-packed frame that does not start on a byte boundary, moved to start at bit 0."""
    bits = (
        int(instance.rows or 0) * int(instance.columns or 0) * int(instance.samples_per_pixel or 1)
    )
    shift = ((number - 1) * bits) % 8
    if shift == 0:
        return data
    unpacked = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
    return np.packbits(unpacked[shift : shift + bits], bitorder="little").tobytes()


def _read_from_dataset(instance: Instance, number: int) -> bytes:
    ds = read_dataset(instance)
    if UID(ds.file_meta.TransferSyntaxUID).is_encapsulated:
        for index, frame in enumerate(
            generate_frames(ds.PixelData, number_of_frames=number_of_frames(ds))
        ):
            if index == number - 1:
                return frame
        raise FrameNotFound(f"frame {number} not found in the encapsulated pixel data")
    ((offset, length),) = native_frame_offsets(ds, 0, len(ds.PixelData))[number - 1 : number]
    return bytes(ds.PixelData[offset : offset + length])


def read_frame(instance: Instance, number: int) -> tuple[bytes, str]:
    """One frame's bytes as stored (native pixels, or the codestream with fragments joined) and
    the transfer syntax UID they are encoded in. `number` is 1-based, as in WADO-RS."""
    _check_number(instance, number)
    offsets: Sequence[Sequence[int]] = instance.frame_offsets or []
    if not offsets:
        data = _read_from_dataset(instance, number)
    else:
        entry = offsets[number - 1]
        store = get_store()
        data = b"".join(
            store.read_range(instance.storage_key, entry[i], entry[i + 1])
            for i in range(0, len(entry), 2)
        )
    if instance.bits_allocated == 1 and not UID(instance.transfer_syntax_uid).is_encapsulated:
        data = _realign_bits(data, instance, number)
    return data, _frame_syntax(instance)


def decode_options(instance: Instance) -> dict[str, object]:
    """The Image Pixel module values a decoder needs for one frame of this instance."""
    return {
        "rows": instance.rows,
        "columns": instance.columns,
        "samples_per_pixel": instance.samples_per_pixel or 1,
        "bits_allocated": instance.bits_allocated,
        "bits_stored": instance.bits_stored or instance.bits_allocated,
        "pixel_representation": instance.pixel_representation or 0,
        "photometric_interpretation": instance.photometric_interpretation,
        "planar_configuration": instance.planar_configuration or 0,
        "number_of_frames": 1,
        "pixel_keyword": "PixelData",
    }


def decode_frame_bytes(
    data: bytes, transfer_syntax_uid: str, options: dict[str, object]
) -> np.ndarray:
    """Decode one frame's bytes (as read_frame returns them) the way pydicom decodes a dataset."""
    syntax = UID(transfer_syntax_uid)
    decoder = get_decoder(syntax)
    source = encapsulate([data]) if syntax.is_encapsulated else data
    array, _ = decoder.as_array(source, index=0, transfer_syntax_uid=syntax, **options)  # type: ignore[arg-type]
    return array


def decode_frame(instance: Instance, number: int) -> np.ndarray:
    """The frame's pixel array as pydicom decodes it: stored values, no modality LUT."""
    data, syntax = read_frame(instance, number)
    return decode_frame_bytes(data, syntax, decode_options(instance))
