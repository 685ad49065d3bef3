"""DICOM pixels become model inputs through the modality LUT, a VOI window and a resize."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from ml_worker.preprocess import (
    FrameCache,
    PreprocessConfig,
    Window,
    apply_modality_lut,
    apply_window,
    dicom_window,
    prepare_dataset_frame,
    prepare_frame,
    resize,
)


def test_modality_lut_applies_slope_and_intercept() -> None:
    stored = np.array([[0, 1000]], dtype=np.uint16)
    assert apply_modality_lut(stored, 1.0, -1024.0).tolist() == [[-1024.0, -24.0]]
    assert apply_modality_lut(stored, 0.5, 0.0).tolist() == [[0.0, 500.0]]


def test_window_maps_center_to_mid_grey_and_clips_outside() -> None:
    hu = np.array([-1000.0, 40.0, 400.0])
    out = apply_window(hu, Window(center=40, width=400))
    assert out[0] == 0.0 and out[2] == 1.0 and abs(out[1] - 0.5) < 0.01


def test_without_a_window_the_image_min_max_span_is_used() -> None:
    assert apply_window(np.array([10.0, 20.0, 30.0]), None).tolist() == [0.0, 0.5, 1.0]
    assert apply_window(np.full(3, 7.0), None).tolist() == [0.0, 0.0, 0.0]


def test_dicom_default_window_takes_the_first_of_several_and_rejects_nonsense() -> None:
    assert dicom_window([40, 400], [400, 2000]) == Window(40, 400)
    assert dicom_window("50", "350") == Window(50, 350)
    assert dicom_window(None, 400) is None and dicom_window(40, 0) is None
    with pytest.raises(ValueError):
        Window(40, 0)


def test_the_project_window_wins_over_the_dicom_default() -> None:
    pixels = np.array([[0, 100], [200, 300]], dtype=np.int16)
    project = PreprocessConfig(input_size=2, window_center=100, window_width=2)
    out = prepare_frame(pixels, project, default_window=Window(150, 300))
    assert out.tolist() == [[0.0, 1.0], [1.0, 1.0]]


def test_monochrome1_is_inverted_so_dense_is_bright() -> None:
    pixels = np.array([[0, 10]], dtype=np.uint8)
    out = prepare_frame(pixels, PreprocessConfig(input_size=1), monochrome1=True)
    plain = prepare_frame(pixels, PreprocessConfig(input_size=1))
    assert np.isclose(out[0, 0] + plain[0, 0], 1.0)


def test_resize_averages_when_shrinking_and_keeps_shape_when_equal() -> None:
    image = np.kron(np.array([[0.0, 1.0], [1.0, 0.0]]), np.ones((4, 4)))
    assert resize(image, 2).tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert resize(image, 16).shape == (16, 16)
    assert resize(image, (8, 8)) is not None and resize(image, 8).shape == (8, 8)


def test_a_real_ct_file_becomes_a_28_pixel_input() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    out = prepare_dataset_frame(ds, ds.pixel_array, PreprocessConfig(input_size=28))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() < out.max() <= 1.0


def test_frame_cache_computes_once_and_survives_a_new_process_on_disk(tmp_path: Path) -> None:
    calls: list[int] = []

    def decode() -> np.ndarray:
        calls.append(1)
        return np.arange(4, dtype=np.float32).reshape(2, 2)

    cache = FrameCache(tmp_path)
    first = cache.get_or_compute("sha:1:tag", decode)
    again = cache.get_or_compute("sha:1:tag", decode)
    reopened = FrameCache(tmp_path).get_or_compute("sha:1:tag", decode)
    assert len(calls) == 1 and cache.hits == 1 and cache.misses == 1
    np.testing.assert_array_equal(first, reopened)
    assert again is first
    assert not list(tmp_path.glob("*.tmp"))
