"""Stored values → exported pixels follow the DICOM grayscale pipeline (PS3.4 §N.2.1)."""

from __future__ import annotations

import numpy as np

from annotations.exports.pixels import SIGNED_PNG16_OFFSET, FramePixels, Window


def ct_frame() -> FramePixels:
    stored = np.array([[0, 1024, 1064, 2048]], dtype=np.int16)  # HU = stored - 1024
    return FramePixels(stored=stored, slope=1.0, intercept=-1024.0, signed=True)


def test_the_modality_lut_gives_hounsfield_units_and_keeps_integers() -> None:
    values = ct_frame().modality_values()
    assert values.dtype == np.int16
    assert values.tolist() == [[-1024, 0, 40, 1024]]


def test_a_window_maps_its_range_onto_0_to_255_linearly() -> None:
    out = ct_frame().presentation_8bit(Window(center=40, width=400))
    # -1024 HU is below the window, 40 HU its centre, 1024 HU above it; 0 HU lies at
    # ((0 - 39.5) / 399 + 0.5) * 255 = 102.3 (PS3.3 C.11.2.1.2.1).
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 102, 128, 255]]


def test_without_a_window_the_frame_min_max_spans_the_range_and_monochrome1_is_inverted() -> None:
    frame = FramePixels(stored=np.array([[10, 20, 30]], dtype=np.uint16), photometric="MONOCHROME1")
    assert frame.presentation_8bit(None).tolist() == [[255, 127, 0]]  # 127.5 rounds to 128


def test_the_dicom_default_window_is_used_when_the_project_sets_none() -> None:
    frame = FramePixels(
        stored=np.array([[0, 100, 200]], dtype=np.uint16), default_window=Window(100, 101)
    )
    # ((100 - 99.5) / 100 + 0.5) * 255 = 128.8
    assert frame.presentation_8bit(None).tolist() == [[0, 129, 255]]


def test_16_bit_output_keeps_stored_values_with_the_signed_offset() -> None:
    frame = ct_frame()
    out = frame.presentation_16bit()
    assert out.dtype == np.uint16
    assert frame.png16_offset == SIGNED_PNG16_OFFSET
    assert (out.astype(np.int64) - frame.png16_offset).tolist() == [[0, 1024, 1064, 2048]]


def test_colour_frames_stay_rgb() -> None:
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0, 0] = [255, 0, 0]
    frame = FramePixels(stored=rgb, photometric="RGB")
    assert frame.is_colour
    assert np.array_equal(frame.presentation_8bit(Window(0, 1)), rgb)
