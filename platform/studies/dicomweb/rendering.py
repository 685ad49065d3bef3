"""Rendered resources and thumbnails (PS3.18 §10.4.1.1.5 / §10.4.1.1.6, §8.3.5.1).

A frame is decoded, mapped through the modality LUT (rescale slope/intercept), then the VOI
window (PS3.3 §C.11.2.1.2: `linear`, `linear-exact`, `sigmoid`), MONOCHROME1 inverted, palette
colour expanded, scaled into the `viewport`, and encoded as JPEG (the default) or PNG.

Query parameters (PS3.18 §8.3.5.1): window=center,width[,function]; viewport=vw,vh[,sx,sy,sw,sh]
(the optional source region is cropped first); quality=1..100 (JPEG).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import pydicom
from PIL import Image

from core.params import finite_numbers
from studies.dicomweb import metadata
from studies.dicomweb.errors import bad_request
from studies.dicomweb.sources import source_for
from studies.models import Instance

THUMBNAIL_VIEWPORT = (128, 128)
_FUNCTIONS = ("linear", "linear-exact", "sigmoid")
MAX_VIEWPORT = 8192
# A source region larger than any image we store (DICOM Rows/Columns are 16-bit) is an error,
# and cropping it would allocate the whole region (PIL pads outside the image).
MAX_SOURCE_REGION = 65535


@dataclass(frozen=True)
class RenderOptions:
    media_type: str = "image/jpeg"
    window: tuple[float, float, str] | None = None
    viewport: tuple[int, int] | None = None
    region: tuple[int, int, int, int] | None = None  # sx, sy, sw, sh in source pixels
    quality: int = 90


def _numbers(text: str, name: str) -> list[float]:
    try:
        return finite_numbers(text, name)
    except ValueError as exc:
        raise bad_request(str(exc)) from exc


def parse_window(text: str | None) -> tuple[float, float, str] | None:
    if not text:
        return None
    parts = text.split(",")
    function = parts[2].strip().lower() if len(parts) > 2 else "linear"
    if len(parts) not in (2, 3) or function not in _FUNCTIONS:
        raise bad_request(f"window must be center,width[,{'|'.join(_FUNCTIONS)}], got {text!r}")
    center, width = _numbers(",".join(parts[:2]), "window")
    if width <= 0 or (function != "linear-exact" and width < 1):
        raise bad_request(f"window width must be at least 1, got {width}")
    return center, width, function


def parse_viewport(
    text: str | None,
) -> tuple[tuple[int, int] | None, tuple[int, int, int, int] | None]:
    if not text:
        return None, None
    numbers = _numbers(text, "viewport")
    if any(abs(v) > MAX_SOURCE_REGION for v in numbers):
        raise bad_request(f"viewport values must be at most {MAX_SOURCE_REGION}, got {text!r}")
    values = [int(v) for v in numbers]
    if (
        len(values) not in (2, 6)
        or any(v <= 0 for v in values[:2])
        or max(values[:2]) > MAX_VIEWPORT
    ):
        raise bad_request(f"viewport must be vw,vh[,sx,sy,sw,sh] with 0 < vw,vh <= {MAX_VIEWPORT}")
    region = None
    if len(values) == 6:
        sx, sy, sw, sh = values[2:]
        if sx < 0 or sy < 0 or sw <= 0 or sh <= 0:
            raise bad_request("viewport source region must have sx,sy >= 0 and sw,sh > 0")
        region = (sx, sy, sw, sh)
    return (values[0], values[1]), region


def parse_quality(text: str | None) -> int:
    if not text:
        return 90
    try:
        quality = int(text)
    except ValueError as exc:
        raise bad_request(f"quality must be an integer 1..100, got {text!r}") from exc
    if not 1 <= quality <= 100:
        raise bad_request(f"quality must be 1..100, got {quality}")
    return quality


def apply_voi(values: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """PS3.3 §C.11.2.1.2: stored-value range → 0..255."""
    scaled: np.ndarray
    if function == "linear-exact":
        scaled = (values - center) / width + 0.5
    elif function == "sigmoid":
        scaled = 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    else:
        scaled = (values - (center - 0.5)) / (width - 1) + 0.5 if width > 1 else values >= center
    return np.clip(np.asarray(scaled, dtype=np.float64) * 255.0, 0, 255).astype(np.uint8)


def _pixel_dataset(instance: Instance, study: str, series: str) -> pydicom.Dataset:
    """The instance's attributes (palette LUTs included) from the cached metadata."""
    (data,) = metadata.instance_objects([(instance, study, series)])
    attributes = json.loads(data)
    attributes.pop(metadata.PIXEL_DATA, None)
    return pydicom.Dataset.from_json(attributes)


def _grey(
    array: np.ndarray, instance: Instance, window: tuple[float, float, str] | None
) -> Image.Image:
    values = array.astype(np.float64)
    values = values * (instance.rescale_slope or 1.0) + (instance.rescale_intercept or 0.0)
    if window is None:
        if instance.window_center is not None and instance.window_width:
            window = (instance.window_center, instance.window_width, "linear")
        else:
            low, high = float(values.min()), float(values.max())
            window = ((low + high) / 2, max(high - low, 1.0), "linear-exact")
    grey = apply_voi(values, *window)
    if instance.photometric_interpretation == "MONOCHROME1":
        grey = 255 - grey
    return Image.fromarray(grey, mode="L")


def _to_8bit(array: np.ndarray, bits: int) -> np.ndarray:
    if array.dtype == np.uint8 and bits <= 8:
        return array
    top = float((1 << bits) - 1) if bits else float(array.max() or 1)
    return np.clip(array.astype(np.float64) * 255.0 / top, 0, 255).astype(np.uint8)


def _image(
    instance: Instance, number: int, study: str, series: str, options: RenderOptions
) -> Image.Image:
    array = source_for(instance).decode_frame(instance, number)
    photometric = instance.photometric_interpretation
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        rgb = apply_color_lut(array, _pixel_dataset(instance, study, series))
        bits = 8 if rgb.dtype == np.uint8 else 16
        return Image.fromarray(_to_8bit(rgb, bits), mode="RGB")
    if array.ndim == 3:
        # pydicom's decoders already return RGB for YBR photometric interpretations.
        bits = instance.bits_stored or instance.bits_allocated or 8
        return Image.fromarray(_to_8bit(array, bits), mode="RGB")
    return _grey(array, instance, options.window)


def _fit(image: Image.Image, options: RenderOptions) -> Image.Image:
    if options.region:
        sx, sy, sw, sh = options.region
        if sx >= image.width or sy >= image.height:
            raise bad_request(
                f"viewport source region starts outside the {image.width}x{image.height} image"
            )
        # Clipped to the image: PIL would otherwise pad (and allocate) the part outside it.
        image = image.crop((sx, sy, min(sx + sw, image.width), min(sy + sh, image.height)))
    if options.viewport:
        vw, vh = options.viewport
        scale = min(vw / image.width, vh / image.height)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        if size != image.size:
            image = image.resize(size, Image.Resampling.BILINEAR)
    return image


def render_frame(
    instance: Instance, number: int, study: str, series: str, options: RenderOptions
) -> bytes:
    image = _fit(_image(instance, number, study, series, options), options)
    out = io.BytesIO()
    if options.media_type == "image/png":
        image.save(out, format="PNG", optimize=False, compress_level=1)
    else:
        image.save(out, format="JPEG", quality=options.quality)
    return out.getvalue()
