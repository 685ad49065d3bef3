"""Stored DICOM pixel values → what the export formats write.

The grayscale chain follows PS3.4 §N.2.1: stored values → Modality LUT (Rescale Slope/Intercept,
PS3.3 C.11.1.1.2) → VOI window (linear function, PS3.3 C.11.2.1.2) → 8-bit presentation, with
MONOCHROME1 inverted so that bright means dense in every file. Colour images are kept in RGB.
Pure numpy: no Django, no torch (web processes may run exports).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# 16-bit PNGs hold the stored values; signed data is shifted by this so it fits uint16.
SIGNED_PNG16_OFFSET = 32768


@dataclass(frozen=True)
class Window:
    center: float
    width: float


@dataclass
class FramePixels:
    """One decoded frame plus the attributes needed to present it."""

    stored: np.ndarray  # (rows, cols) grayscale or (rows, cols, 3) colour, as pydicom decodes
    photometric: str = "MONOCHROME2"
    slope: float = 1.0
    intercept: float = 0.0
    signed: bool = False
    default_window: Window | None = None

    @property
    def is_colour(self) -> bool:
        return self.stored.ndim == 3

    def modality_values(self) -> np.ndarray:
        """Stored values through the Modality LUT (HU for CT). Integers stay integers when the
        rescale is an integer identity-like map, so NIfTI files keep their native type."""
        if self.is_colour:
            return self.stored
        slope, intercept = float(self.slope), float(self.intercept)
        if slope == 1.0 and intercept.is_integer():
            out = self.stored.astype(np.int32) + int(intercept)
            if out.min(initial=0) >= -32768 and out.max(initial=0) <= 32767:
                return out.astype(np.int16)
            return out
        return (self.stored.astype(np.float32) * np.float32(slope) + np.float32(intercept)).astype(
            np.float32
        )

    def presentation_8bit(self, window: Window | None) -> np.ndarray:
        """An 8-bit image as a viewer would show it: the given window, else the DICOM default
        window, else the frame's min/max."""
        if self.is_colour:
            return _colour_to_8bit(self.stored)
        values = self.modality_values().astype(np.float64)
        chosen = window or self.default_window
        if chosen is not None and chosen.width >= 1:
            out = _linear_window(values, chosen.center, chosen.width)
        else:
            lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
            out = np.zeros_like(values) if hi <= lo else (values - lo) / (hi - lo) * 255.0
        out8 = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        if self.photometric == "MONOCHROME1":
            out8 = 255 - out8
        return out8

    def presentation_16bit(self) -> np.ndarray:
        """Full-precision stored values as uint16 (value = png - offset, then the Modality LUT;
        the offset is SIGNED_PNG16_OFFSET for signed data, 0 otherwise)."""
        if self.is_colour:
            raise ValueError("16-bit output is for grayscale images; colour stays 8-bit RGB")
        arr = self.stored.astype(np.int64)
        if self.signed:
            arr = arr + SIGNED_PNG16_OFFSET
        return np.clip(arr, 0, 65535).astype(np.uint16)

    @property
    def png16_offset(self) -> int:
        return SIGNED_PNG16_OFFSET if self.signed and not self.is_colour else 0


def _linear_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    # PS3.3 C.11.2.1.2.1: y = ((x - (c - 0.5)) / (w - 1) + 0.5) * (ymax - ymin) + ymin
    if width <= 1:
        return np.where(values <= center - 0.5, 0.0, 255.0)
    return ((values - (center - 0.5)) / (width - 1) + 0.5) * 255.0


def _colour_to_8bit(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    top = float(arr.max(initial=0)) or 1.0
    bits = max(8, int(np.ceil(np.log2(top + 1))))
    return np.clip(np.rint(arr.astype(np.float64) / ((1 << bits) - 1) * 255), 0, 255).astype(
        np.uint8
    )
