"""Items → model inputs: decode each frame once, run the project's preprocessing, cache it.

Frames are decoded with studies.frames.decode_frame (stored values), then ml_worker.preprocess
applies the modality LUT, the VOI window (the project's, else the DICOM default), resize and
[0, 1] scaling. The prepared frame is cached in memory and under DATA_DIR/cache/frames, keyed by
the instance's sha256, the frame number and the preprocessing tag, so epochs and later runs
never re-decode and a changed window or input size never reads a stale entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

import numpy as np
from django.conf import settings

from annotations.models import Item, Project
from ml_worker.preprocess import FrameCache, PreprocessConfig, Window, prepare_frame, stack_frames
from studies.frames import decode_frame
from studies.models import Instance

# Prepared frames kept in a worker's memory, at most this many bytes per input size.
MEMORY_BUDGET_BYTES = 1 << 30
_caches: dict[int, FrameCache] = {}


def frame_cache(input_size: int) -> FrameCache:
    """One cache per worker process and input size (memory) over a shared folder (disk)."""
    if input_size not in _caches:
        _caches[input_size] = FrameCache(
            settings.DATA_DIR / "cache" / "frames",
            max_items=max(256, MEMORY_BUDGET_BYTES // (4 * input_size * input_size)),
        )
    return _caches[input_size]


def scoring_frame_cache() -> FrameCache:
    """A pool-scoring pass's own frame cache: the shared folder on disk, and at most
    LEARNING_SCORE_FRAME_CACHE_ITEMS prepared frames in memory (default 0).

    A scoring pass reads each pool image once, so the worker's memory cache (1 GiB, shared with
    training, whose epochs do re-read frames) would only fill with frames nobody asks for again:
    at a 100,000-image pool it held 65,536 frames and took the pass's peak RSS past 2 GB
    (docs/scale.md, decision 0188). Frames prepared here still go to disk, so training on them
    later (once labelled) need not decode them again; the values are those of frame_cache().
    """
    return FrameCache(
        settings.DATA_DIR / "cache" / "frames",
        max_items=max(0, settings.LEARNING_SCORE_FRAME_CACHE_ITEMS),
    )


def preprocess_config(project: Project) -> PreprocessConfig:
    return PreprocessConfig(
        input_size=project.input_size,
        window_center=project.window_center,
        window_width=project.window_width,
    )


def _prepare(instance: Instance, frame: int, config: PreprocessConfig) -> np.ndarray:
    default_window = None
    if instance.window_center is not None and instance.window_width:
        default_window = Window(instance.window_center, instance.window_width)
    return prepare_frame(
        decode_frame(instance, frame),
        config,
        slope=1.0 if instance.rescale_slope is None else instance.rescale_slope,
        intercept=0.0 if instance.rescale_intercept is None else instance.rescale_intercept,
        default_window=default_window,
        monochrome1=instance.photometric_interpretation == "MONOCHROME1",
    )


@dataclass(frozen=True)
class ItemImages:
    item_ids: list[int]
    images: np.ndarray  # (N, 1, H, W) float32 in [0, 1]


def load_item_images(
    items: Iterable[Item], config: PreprocessConfig, cache: FrameCache | None = None
) -> ItemImages:
    """Prepared frames of the given items (their `instance` must be loaded), in the same order,
    through `cache` (default: the worker's frame_cache for the input size)."""
    cache = cache if cache is not None else frame_cache(config.input_size)
    tag = config.cache_tag()
    ids: list[int] = []
    frames: list[np.ndarray] = []
    for item in items:
        instance = item.instance
        if instance is None:
            raise ValueError(f"item {item.pk} has no instance (series items are not trainable)")
        key = f"{instance.sha256}:{item.frame}:{tag}"
        frames.append(cache.get_or_compute(key, partial(_prepare, instance, item.frame, config)))
        ids.append(item.pk)
    if not frames:
        return ItemImages(ids, np.zeros((0, 1, config.input_size, config.input_size), np.float32))
    return ItemImages(ids, stack_frames(frames))


def load_items_by_id(
    project: Project,
    item_ids: list[int],
    config: PreprocessConfig,
    cache: FrameCache | None = None,
) -> ItemImages:
    items = Item.objects.filter(project=project, pk__in=item_ids).select_related("instance")
    by_id = {item.pk: item for item in items}
    return load_item_images([by_id[i] for i in item_ids if i in by_id], config, cache)
