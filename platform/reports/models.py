"""Heat maps (Grad-CAM) cached per item and model version; the files live under DATA_DIR."""

from __future__ import annotations

from django.db import models


class HeatMapStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class HeatMap(models.Model):
    """One explanation of one model version's prediction for one item (computed once)."""

    item = models.ForeignKey("annotations.Item", on_delete=models.CASCADE, related_name="heatmaps")
    model_version = models.ForeignKey(
        "learning.ModelVersion", on_delete=models.CASCADE, related_name="heatmaps"
    )
    status = models.CharField(
        max_length=10, choices=HeatMapStatus.choices, default=HeatMapStatus.QUEUED
    )
    target_class = models.IntegerField(null=True, blank=True)  # the explained (predicted) class
    predicted = models.CharField(max_length=100, blank=True, default="")
    probabilities = models.JSONField(default=dict, blank=True)  # class name → calibrated p
    # RGBA overlay at the image's own pixel grid, and the raw [0, 1] map (float16 .npy) the
    # DICOM export is built from.
    png_path = models.CharField(max_length=500, blank=True, default="")
    values_path = models.CharField(max_length=500, blank=True, default="")
    error = models.TextField(blank=True, default="")
    requested_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "model_version"], name="one_heatmap_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"heat map of item {self.item_id} by model {self.model_version_id} ({self.status})"
