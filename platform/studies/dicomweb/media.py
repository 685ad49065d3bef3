"""Media types and transfer syntaxes: parsing Accept and Content-Type, choosing what to send.

PS3.18 §8.7 (acceptable media types) and Table 8.7.3-5 (media types of pixel data by transfer
syntax). A client names the encoding it wants either in the multipart `type` parameter
(`multipart/related; type="application/octet-stream"; transfer-syntax=*`, as dicomweb-client and
Cornerstone send it) or inside the quoted type (`type="image/jp2; transfer-syntax=..."`); both
are read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"
ANY_SYNTAX = "*"

# Syntaxes whose frames are plain little-endian pixels: the same bytes serve every one of them.
LITTLE_ENDIAN_NATIVE = frozenset(
    {EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN}
)
UNCOMPRESSED = LITTLE_ENDIAN_NATIVE | {EXPLICIT_VR_BIG_ENDIAN}

OCTET_STREAM = "application/octet-stream"
DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"

# PS3.18 Table 8.7.3-5: the media type of a compressed frame is that of its codestream.
MEDIA_TYPE_OF_SYNTAX = {
    "1.2.840.10008.1.2.5": "image/dicom-rle",
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
}
_ALIASES = {"image/x-dicom-rle": "image/dicom-rle", "image/x-jls": "image/jls"}


@dataclass(frozen=True)
class MediaRange:
    """One entry of an Accept header (or a Content-Type): `type/subtype; k=v; ...; q=0.5`."""

    media_type: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    @property
    def transfer_syntax(self) -> str | None:
        return self.params.get("transfer-syntax")


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def normalize(media_type: str) -> str:
    media_type = media_type.strip().lower()
    return _ALIASES.get(media_type, media_type)


def parse_media_type(text: str) -> MediaRange:
    """`type/subtype; a=b; c="d; e=f"` → MediaRange (quotes removed, names lower-cased)."""
    pieces = _split_outside_quotes(text, ";")
    if not pieces:
        return MediaRange("")
    params: dict[str, str] = {}
    q = 1.0
    for piece in pieces[1:]:
        name, _, value = piece.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        else:
            params[name] = value
    return MediaRange(normalize(pieces[0]), params, q)


def parse_accept(header: str | None) -> list[MediaRange]:
    """Accept header → media ranges, most preferred first; `*/*` when the header is absent."""
    return list(_parse_accept(header or ""))


# A viewer sends the same few Accept headers thousands of times; parsing one costs ~20 µs.
@lru_cache(maxsize=256)
def _parse_accept(header: str) -> tuple[MediaRange, ...]:
    if not header.strip():
        return (MediaRange("*/*"),)
    ranges = [parse_media_type(item) for item in _split_outside_quotes(header, ",")]
    ranges = [r for r in ranges if r.media_type and r.q > 0]
    # Stable: equal q keeps the client's order (RFC 9110 §12.5.1 leaves ties to the server).
    return tuple(sorted(ranges, key=lambda r: -r.q))


@dataclass(frozen=True)
class PartChoice:
    """What a client accepts for each part: a part media type and a transfer syntax (or None)."""

    media_type: str
    transfer_syntax: str | None
    multipart: bool


def part_choices(ranges: list[MediaRange]) -> list[PartChoice]:
    """Unwrap `multipart/related; type=...` so negotiation sees the part media types."""
    choices = []
    for media_range in ranges:
        if media_range.media_type == "multipart/related":
            inner = parse_media_type(media_range.params.get("type", "*/*"))
            syntax = inner.transfer_syntax or media_range.transfer_syntax
            choices.append(PartChoice(inner.media_type or "*/*", syntax, True))
        else:
            choices.append(PartChoice(media_range.media_type, media_range.transfer_syntax, False))
    return choices


def frame_media_type(transfer_syntax: str) -> str:
    """The media type a frame encoded in `transfer_syntax` is sent as."""
    return MEDIA_TYPE_OF_SYNTAX.get(transfer_syntax, OCTET_STREAM)


def is_compressed(transfer_syntax: str) -> bool:
    return transfer_syntax not in UNCOMPRESSED


@dataclass(frozen=True)
class FrameEncoding:
    """The encoding chosen for frames: send `transfer_syntax`, decoding first when `transcode`."""

    media_type: str
    transfer_syntax: str
    transcode: bool
    multipart: bool


def _frame_candidate(choice: PartChoice, native: str) -> FrameEncoding | None:
    media, syntax, multipart = choice.media_type, choice.transfer_syntax, choice.multipart
    native_media = frame_media_type(native)
    if media in ("*/*", OCTET_STREAM, "application/*"):
        if syntax == ANY_SYNTAX:
            return FrameEncoding(native_media, native, False, multipart)
        # PS3.18 §8.7.3.5.2: uncompressed data defaults to Explicit VR Little Endian.
        wanted = syntax or EXPLICIT_VR_LITTLE_ENDIAN
        if wanted in LITTLE_ENDIAN_NATIVE:
            return FrameEncoding(
                OCTET_STREAM, wanted, native not in LITTLE_ENDIAN_NATIVE, multipart
            )
        if wanted == native:
            return FrameEncoding(native_media, native, False, multipart)
        return None
    if media == "image/*" and is_compressed(native) and syntax in (None, ANY_SYNTAX, native):
        return FrameEncoding(native_media, native, False, multipart)
    if media == native_media and syntax in (None, ANY_SYNTAX, native):
        return FrameEncoding(native_media, native, False, multipart)
    return None


def choose_frame_encoding(ranges: list[MediaRange], native: str) -> FrameEncoding | None:
    """The first acceptable encoding for a frame stored in `native`, or None (→ 406).

    We send frames as stored or decoded to uncompressed pixels; we never re-compress, so a
    request for a compressed syntax other than the stored one is not acceptable.
    """
    for choice in part_choices(ranges):
        chosen = _frame_candidate(choice, native)
        if chosen is not None:
            return chosen
    return None


@dataclass(frozen=True)
class InstanceEncoding:
    """How whole instances are sent: as stored (`transcode` False) or re-encoded to a syntax."""

    transfer_syntax: str  # ANY_SYNTAX means "as stored"
    multipart: bool


def choose_instance_encoding(ranges: list[MediaRange]) -> InstanceEncoding | None:
    """PS3.18 §8.7.3.5.2: application/dicom defaults to Explicit VR Little Endian;
    `transfer-syntax=*` asks for the stored encoding."""
    for choice in part_choices(ranges):
        if choice.media_type in ("*/*", "application/*", DICOM):
            syntax = choice.transfer_syntax or EXPLICIT_VR_LITTLE_ENDIAN
            return InstanceEncoding(syntax, choice.multipart or choice.media_type != DICOM)
    return None


RENDERED_TYPES = ("image/jpeg", "image/png")


def choose_rendered_type(ranges: list[MediaRange]) -> str | None:
    """Rendered media type (PS3.18 §8.7.4): JPEG by default, PNG when asked for."""
    for choice in part_choices(ranges):
        if choice.media_type in RENDERED_TYPES:
            return choice.media_type
        if choice.media_type in ("*/*", "image/*"):
            return "image/jpeg"
    return None
