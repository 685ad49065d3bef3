"""Where heat map files go: DATA_DIR/heatmaps/project-P/vN/item-I.{png,npy}."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def heatmap_base(project_id: int, version_number: int, item_id: int) -> Path:
    return (
        Path(settings.DATA_DIR)
        / "heatmaps"
        / f"project-{project_id}"
        / f"v{version_number}"
        / (f"item-{item_id}")
    )
