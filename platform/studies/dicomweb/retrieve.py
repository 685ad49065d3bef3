"""WADO-RS retrieval of whole instances (PS3.18 §10.4.1.1.1): study, series or one instance as
multipart/related; type="application/dicom", streamed part by part.

`transfer-syntax=*` (or the stored syntax) sends the stored bytes untouched. Otherwise the
default, Explicit VR Little Endian (PS3.18 §8.7.3.5.2), is produced by pydicom: compressed pixel
data is decoded, other uncompressed syntaxes re-encoded. We never re-compress: other requested
syntaxes are answered 406.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

import pydicom
from pydicom.uid import ExplicitVRLittleEndian

from studies.dicomweb import multipart
from studies.dicomweb.errors import not_acceptable
from studies.dicomweb.media import (
    ANY_SYNTAX,
    DICOM,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    InstanceEncoding,
    is_compressed,
)
from studies.dicomweb.sources import source_for
from studies.models import Instance

_WRITABLE = {EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN}


def check_encoding(encoding: InstanceEncoding | None) -> InstanceEncoding:
    if encoding is None:
        raise not_acceptable(
            'instances are available as multipart/related; type="application/dicom"'
        )
    return encoding


def _transcoded(instance: Instance, syntax: str) -> bytes:
    ds = source_for(instance).dataset(instance)
    if is_compressed(str(ds.file_meta.TransferSyntaxUID)):
        # Decodes every frame; YBR colour becomes RGB (pydicom's default). The object keeps its
        # SOP Instance UID: a change of transfer syntax is not a new instance (PS3.5 §10).
        ds.decompress(generate_instance_uid=False)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.UID(syntax)
    out = BytesIO()
    ds.save_as(
        out,
        implicit_vr=syntax == IMPLICIT_VR_LITTLE_ENDIAN,
        little_endian=True,
        enforce_file_format=True,
    )
    return out.getvalue()


def instance_chunks(instance: Instance, encoding: InstanceEncoding) -> Iterator[bytes]:
    wanted = encoding.transfer_syntax
    stored = instance.transfer_syntax_uid
    if wanted in (ANY_SYNTAX, stored):
        yield from source_for(instance).part10_chunks(instance)
    elif wanted in _WRITABLE:
        yield _transcoded(instance, wanted)
    else:
        raise not_acceptable(
            f"instance {instance.sop_instance_uid} is stored as {stored}; it can be sent as "
            f"that, as {ExplicitVRLittleEndian} or as {IMPLICIT_VR_LITTLE_ENDIAN}"
        )


def part_syntax(instance: Instance, encoding: InstanceEncoding) -> str:
    if encoding.transfer_syntax == ANY_SYNTAX:
        return instance.transfer_syntax_uid
    return encoding.transfer_syntax


def check_available(instances: list[Instance], encoding: InstanceEncoding) -> None:
    """Fail before streaming starts (a 406 cannot be sent once the body has begun)."""
    wanted = encoding.transfer_syntax
    if wanted in _WRITABLE | {ANY_SYNTAX}:
        return
    for instance in instances:
        if instance.transfer_syntax_uid != wanted:
            list(instance_chunks(instance, encoding))  # raises the 406 with its reason


def multipart_stream(
    instances: list[Instance], encoding: InstanceEncoding, boundary: str
) -> Iterator[bytes]:
    parts = (
        (
            [("Content-Type", f"{DICOM}; transfer-syntax={part_syntax(i, encoding)}")],
            instance_chunks(i, encoding),
        )
        for i in instances
    )
    return multipart.stream(parts, boundary)


def response_type(encoding: InstanceEncoding, boundary: str) -> str:
    if encoding.transfer_syntax == ANY_SYNTAX:
        return multipart.content_type(DICOM, boundary)
    return multipart.content_type(f"{DICOM}; transfer-syntax={encoding.transfer_syntax}", boundary)
