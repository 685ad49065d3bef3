"""multipart/related bodies (RFC 2387) as PS3.18 §8.6.1.2 uses them.

Writing: each part is `--BOUNDARY CRLF headers CRLF CRLF body CRLF`, closed by `--BOUNDARY--`.
Header names are spelled exactly `Content-Type:` / `Content-Location:`: Cornerstone's WADO-RS
loader matches them case-sensitively and silently mis-decodes compressed frames otherwise.

Reading (STOW-RS): the whole body is split on `CRLF--BOUNDARY`; a body without a boundary
parameter, or without any part, is a client error with a reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from studies.dicomweb.errors import bad_request, unsupported_media_type
from studies.dicomweb.media import parse_media_type


def new_boundary() -> str:
    return uuid.uuid4().hex


def content_type(part_type: str, boundary: str) -> str:
    # The part media type (with its own parameters) is quoted inside `type`, as Orthanc does.
    return f'multipart/related; type="{part_type}"; boundary={boundary}'


def part_header(headers: Iterable[tuple[str, str]], boundary: str) -> bytes:
    lines = [f"--{boundary}"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def closing(boundary: str) -> bytes:
    return f"--{boundary}--\r\n".encode("ascii")


def encode(parts: Iterable[tuple[list[tuple[str, str]], bytes]], boundary: str) -> bytes:
    """A whole multipart body in memory (frames, bulk data: small and already in memory)."""
    chunks: list[bytes] = []
    for headers, body in parts:
        chunks += [part_header(headers, boundary), body, b"\r\n"]
    chunks.append(closing(boundary))
    return b"".join(chunks)


def stream(
    parts: Iterable[tuple[list[tuple[str, str]], Iterable[bytes]]], boundary: str
) -> Iterator[bytes]:
    """The same body as `encode`, produced part by part (whole instances, series, studies)."""
    for headers, chunks in parts:
        yield part_header(headers, boundary)
        yield from chunks
        yield b"\r\n"
    yield closing(boundary)


@dataclass(frozen=True)
class Part:
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def boundary_of(content_type_header: str, *, expected_type: str) -> str:
    """Check a request Content-Type and return its boundary (PS3.18 §10.5.1.1)."""
    media = parse_media_type(content_type_header or "")
    if media.media_type != "multipart/related":
        raise unsupported_media_type(
            f'Content-Type must be multipart/related; type="{expected_type}", '
            f"got {content_type_header or 'nothing'!r}"
        )
    part_type = parse_media_type(media.params.get("type", expected_type)).media_type
    if part_type != expected_type:
        raise unsupported_media_type(
            f'only type="{expected_type}" parts are accepted, got type="{part_type}"'
        )
    boundary = media.params.get("boundary", "")
    if not boundary:
        raise bad_request("multipart/related Content-Type has no boundary parameter")
    return boundary


def _parse_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("latin-1").split("\r\n"):
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return headers


def parse(body: bytes, boundary: str) -> list[Part]:
    """Split a multipart body into parts. Raises a 400 DicomwebError when it is malformed."""
    marker = b"--" + boundary.encode("latin-1")
    delimiter = b"\r\n" + marker
    # The first boundary may open the body directly (no preamble); make it look like the others.
    data = b"\r\n" + body if body.startswith(marker) else body
    position = data.find(delimiter)
    if position < 0:
        raise bad_request(f"multipart body does not contain the boundary {boundary!r}")
    parts: list[Part] = []
    while True:
        position += len(delimiter)
        if data[position : position + 2] == b"--":
            return parts
        next_position = data.find(delimiter, position)
        if next_position < 0:
            raise bad_request("multipart body is truncated: no closing boundary")
        # Skip transport padding and the CRLF that ends the boundary line.
        line_end = data.find(b"\r\n", position, next_position)
        start = next_position if line_end < 0 else line_end + 2
        if data[start : start + 2] == b"\r\n":
            headers, content_start = {}, start + 2
        else:
            header_end = data.find(b"\r\n\r\n", start, next_position)
            if header_end < 0:
                raise bad_request("a multipart part has no blank line after its headers")
            headers, content_start = _parse_headers(data[start:header_end]), header_end + 4
        parts.append(Part(headers, data[content_start:next_position]))
        position = next_position
