"""The `infer` queue's heat map task: claim the HeatMap row, run Grad-CAM, write the files.

Thin by design (docs/dashboard.md, "Heat maps"): the web creates a queued HeatMap row and sends
"ml_worker.explain_tasks.explain_item" (core.dispatch.EXPLAIN) with its id after commit;
`compute_heatmap` claims it (queued → running, so a duplicate message is a no-op), explains
the model version's prediction with ml_worker.explain, and records the outcome.
Idempotent, hence acks_late.
"""

from __future__ import annotations

import io
import logging

import numpy as np
from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from PIL import Image
from reports.models import HeatMap, HeatMapStatus
from reports.paths import heatmap_base

from annotations.models import Item
from learning.models import ModelVersion
from ml_worker.checkpoint import atomic_write_bytes
from ml_worker.explain import colorise, grad_cam, resize_map
from ml_worker.jobs import devices  # noqa: F401  (registers the "radloop_devices" command)
from ml_worker.jobs.data import load_item_images
from ml_worker.jobs.score import loaded_model
from ml_worker.preprocess import PreprocessConfig

logger = logging.getLogger(__name__)


def preprocess_of(version: ModelVersion) -> PreprocessConfig:
    """The preprocessing the version was trained with (its config), else the project's."""
    stored = version.config.get("preprocess") or {}
    project = version.project
    return PreprocessConfig(
        input_size=int(stored.get("input_size", project.input_size)),
        window_center=stored.get("window_center", project.window_center),
        window_width=stored.get("window_width", project.window_width),
    )


def _png(rgba: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(out, format="PNG")
    return out.getvalue()


def _npy(values: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, values.astype(np.float16), allow_pickle=False)
    return out.getvalue()


def compute_heatmap(heatmap_id: int) -> str:
    """Claim and compute one heat map; returns its final status (or "not-claimed")."""
    if not HeatMap.objects.filter(pk=heatmap_id, status=HeatMapStatus.QUEUED).update(
        status=HeatMapStatus.RUNNING
    ):
        return "not-claimed"
    heatmap = HeatMap.objects.select_related("model_version__project").get(pk=heatmap_id)
    version = heatmap.model_version
    try:
        item = Item.objects.select_related("instance").get(pk=heatmap.item_id)
        if item.instance is None:
            raise ValueError("series items have no single image to explain")
        saved = loaded_model(version)
        image = load_item_images([item], preprocess_of(version)).images[0]
        explanation = grad_cam(saved.model, image, temperature=saved.temperature)
        rows, columns = (
            item.instance.rows or image.shape[-2],
            item.instance.columns or image.shape[-1],
        )
        # Stored as float16; colour the same rounded values so the PNG is exactly the stored map.
        grid = resize_map(explanation.heatmap, int(rows), int(columns))
        grid = grid.astype(np.float16).astype(np.float32)
        base = heatmap_base(version.project_id, version.number, item.pk)
        atomic_write_bytes(base.with_suffix(".png"), _png(colorise(grid)))
        atomic_write_bytes(base.with_suffix(".npy"), _npy(grid))
    except Exception as exc:
        logger.exception("heat map %s failed", heatmap_id)
        HeatMap.objects.filter(pk=heatmap_id).update(
            status=HeatMapStatus.FAILED, error=repr(exc), finished_at=timezone.now()
        )
        return HeatMapStatus.FAILED
    names = list(saved.class_names) or [str(k) for k in range(len(explanation.probabilities))]
    HeatMap.objects.filter(pk=heatmap_id).update(
        status=HeatMapStatus.READY,
        target_class=explanation.target,
        predicted=names[explanation.target],
        probabilities={
            name: round(float(p), 6)
            for name, p in zip(names, explanation.probabilities, strict=False)
        },
        png_path=str(base.with_suffix(".png")),
        values_path=str(base.with_suffix(".npy")),
        error="",
        finished_at=timezone.now(),
    )
    return HeatMapStatus.READY


@shared_task(
    name="ml_worker.explain_tasks.explain_item",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=240,
    time_limit=300,
)
def explain_item(heatmap_id: int) -> str:
    return compute_heatmap(heatmap_id)
