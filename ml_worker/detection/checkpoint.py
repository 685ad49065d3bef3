"""Atomic detection checkpoints: the classifier's format (ml_worker.checkpoint) with
`task: "detection"` and a DetSpec, so a registry entry rebuilds the right network."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_worker.checkpoint import load_checkpoint, save_checkpoint
from ml_worker.detection.network import Detector, DetSpec, build_detector


@dataclass
class SavedDetector:
    model: Detector
    spec: DetSpec
    class_names: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0  # box scores are not recalibrated; kept for the shared interface


def save_detector(
    path: str | Path,
    model: Detector,
    *,
    class_names: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Write the network, spec and class names atomically; return sha256."""
    return save_checkpoint(
        path,
        {
            "task": "detection",
            "spec": model.spec.to_dict(),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "class_names": list(class_names or []),
            "extra": dict(extra or {}),
        },
    )


def load_detector(path: str | Path, expected_sha256: str | None = None) -> SavedDetector:
    """Rebuild a detector saved by `save_detector` (eval mode, CPU); sha256 checked if given."""
    payload = load_checkpoint(path, expected_sha256)
    if payload.get("task") != "detection":
        raise ValueError(f"{path} is not a detection checkpoint")
    spec = DetSpec.from_dict(payload["spec"])
    model = build_detector(spec)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return SavedDetector(
        model=model,
        spec=spec,
        class_names=list(payload.get("class_names", [])),
        extra=dict(payload.get("extra", {})),
    )
