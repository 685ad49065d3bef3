"""From stored DICOM pixels to model input: modality LUT, VOI window, resize, normalisation.

Pure numpy/torch (no Django). The chain follows the DICOM grayscale pipeline (PS3.4 §N.2.1):
stored values -> Modality LUT (Rescale Slope/Intercept, PS3.3 C.11.1) -> VOI LUT (Window
Center/Width, PS3.3 C.11.2) -> presentation; MONOCHROME1 is inverted so bright means dense
everywhere. Images leave `prepare_frame` as float32 in [0, 1]; per-dataset standardisation is
done by the model's first layer (`models.InputNorm`) so inference can never forget it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Window:
    """A linear VOI window (PS3.3 C.11.2.1.2): values below center-width/2 are black."""

    center: float
    width: float

    def __post_init__(self) -> None:
        if not self.width > 0:
            raise ValueError(f"window width must be > 0, got {self.width}")


@dataclass(frozen=True)
class PreprocessConfig:
    """How a project turns a frame into a model input (stored with each model version)."""

    input_size: int = 28
    window_center: float | None = None  # project override; else DICOM default; else min/max
    window_width: float | None = None

    def window(self) -> Window | None:
        if self.window_center is None or self.window_width is None:
            return None
        return Window(float(self.window_center), float(self.window_width))

    def cache_tag(self) -> str:
        """A short stable name for this configuration (part of frame-cache keys)."""
        raw = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:16]


def _first(value: Any) -> float | None:
    """DICOM multi-valued attributes (e.g. several windows) -> the first value, as float."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) or (
        hasattr(value, "__iter__") and not isinstance(value, (str, bytes))
    ):
        items = list(value)
        if not items:
            return None
        value = items[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def dicom_window(center: Any, width: Any) -> Window | None:
    """The default window from Window Center (0028,1050) / Width (0028,1051), or None."""
    c, w = _first(center), _first(width)
    if c is None or w is None or not w > 0:
        return None
    return Window(c, w)


def apply_modality_lut(
    pixels: np.ndarray, slope: float = 1.0, intercept: float = 0.0
) -> np.ndarray:
    """Stored values -> modality values (e.g. Hounsfield units): `slope * x + intercept`."""
    out = pixels.astype(np.float32, copy=True)
    if slope != 1.0:
        out *= np.float32(slope)
    if intercept != 0.0:
        out += np.float32(intercept)
    return out


def apply_window(values: np.ndarray, window: Window | None) -> np.ndarray:
    """Modality values -> [0, 1]. With no window, the image's own min/max span is used.

    The linear function of PS3.3 C.11.2.1.2.1 (center - 0.5, width - 1), clipped to [0, 1].
    """
    values = values.astype(np.float32, copy=False)
    if window is None:
        if values.size == 0:
            return values.copy()
        lo, hi = float(values.min()), float(values.max())
        if hi <= lo:
            return np.zeros_like(values, dtype=np.float32)
        return ((values - lo) / (hi - lo)).astype(np.float32)
    if window.width <= 1:
        return (values > window.center - 0.5).astype(np.float32)
    out = (values - (window.center - 0.5)) / (window.width - 1) + 0.5
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def to_grayscale(pixels: np.ndarray) -> np.ndarray:
    """(H, W) stays; (H, W, 3) RGB becomes luminance (ITU-R BT.601 weights)."""
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        rgb = pixels[..., :3].astype(np.float32)
        return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    raise ValueError(f"expected a 2-D frame or an RGB frame, got shape {pixels.shape}")


def resize(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize a 2-D float image to `size` (int or (rows, cols)); area-averaging when shrinking."""
    if image.ndim != 2:
        raise ValueError(f"resize expects a 2-D image, got shape {image.shape}")
    rows, cols = (size, size) if isinstance(size, int) else size
    if image.shape == (rows, cols):
        return image.astype(np.float32, copy=False)
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    shrinking = rows <= image.shape[0] and cols <= image.shape[1]
    mode = "area" if shrinking else "bilinear"
    kwargs: dict[str, Any] = {} if mode == "area" else {"align_corners": False}
    out = F.interpolate(t, size=(rows, cols), mode=mode, **kwargs)
    return out[0, 0].numpy()


def normalise(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """Standardise [0, 1] images with the training set's mean and std."""
    return (images - mean) / max(std, 1e-6)


def prepare_frame(
    pixels: np.ndarray,
    config: PreprocessConfig,
    *,
    slope: float = 1.0,
    intercept: float = 0.0,
    default_window: Window | None = None,
    monochrome1: bool = False,
) -> np.ndarray:
    """The whole chain for one frame -> float32 (input_size, input_size) in [0, 1].

    Window precedence: the project's window (config), then the DICOM default, then min/max.
    """
    gray = to_grayscale(np.asarray(pixels))
    values = apply_modality_lut(gray, slope, intercept)
    window = config.window() or default_window
    out = apply_window(values, window)
    if monochrome1:
        out = 1.0 - out
    return resize(out, config.input_size)


def prepare_dataset_frame(ds: Any, pixels: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """`prepare_frame` with slope, intercept, window and photometric read from a pydicom Dataset."""
    slope = _first(getattr(ds, "RescaleSlope", None))
    intercept = _first(getattr(ds, "RescaleIntercept", None))
    return prepare_frame(
        pixels,
        config,
        slope=1.0 if slope is None else slope,
        intercept=0.0 if intercept is None else intercept,
        default_window=dicom_window(
            getattr(ds, "WindowCenter", None), getattr(ds, "WindowWidth", None)
        ),
        monochrome1=str(getattr(ds, "PhotometricInterpretation", "")) == "MONOCHROME1",
    )


class FrameCache:
    """Prepared frames kept in memory (LRU) and optionally on disk, so epochs don't re-decode.

    Keys are caller-chosen strings (e.g. "<sha256 of the instance>:<frame>:<config tag>");
    a key must change whenever its content could. Disk writes are atomic (temp file + rename),
    so a crashed worker never leaves a truncated array behind.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, max_items: int = 20000):
        self.directory = Path(directory) if directory is not None else None
        self.max_items = max_items
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / (hashlib.sha256(key.encode()).hexdigest() + ".npy")

    def get(self, key: str) -> np.ndarray | None:
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        if self.directory is not None:
            path = self._path(key)
            if path.exists():
                array: np.ndarray = np.load(path, allow_pickle=False)
                self._remember(key, array)
                return array
        return None

    def put(self, key: str, array: np.ndarray) -> None:
        self._remember(key, array)
        if self.directory is not None:
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.save(fh, array, allow_pickle=False)
                os.replace(tmp, self._path(key))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def get_or_compute(self, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        cached = self.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        array = compute()
        self.put(key, array)
        return array

    def _remember(self, key: str, array: np.ndarray) -> None:
        self._memory[key] = array
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_items:
            self._memory.popitem(last=False)


def stack_frames(frames: Sequence[np.ndarray]) -> np.ndarray:
    """A list of prepared (H, W) frames -> (N, 1, H, W) float32, the layout models take."""
    if not frames:
        raise ValueError("no frames to stack")
    return np.stack([np.asarray(f, dtype=np.float32) for f in frames])[:, None]
