"""Atomic segmentation checkpoints: the classifier's format (ml_worker.checkpoint) with
`task: "segmentation"` and a SegSpec, so a registry entry rebuilds the right network."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_worker.checkpoint import load_checkpoint, save_checkpoint
from ml_worker.segmentation.network import Segmenter, SegSpec, build_segmenter


@dataclass
class SavedSegmenter:
    model: Segmenter
    spec: SegSpec
    temperature: float = 1.0
    class_names: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def save_segmenter(
    path: str | Path,
    model: Segmenter,
    *,
    temperature: float = 1.0,
    class_names: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Write the network, spec, pixel temperature and class names atomically; return sha256."""
    return save_checkpoint(
        path,
        {
            "task": "segmentation",
            "spec": model.spec.to_dict(),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "temperature": float(temperature),
            "class_names": list(class_names or []),
            "extra": dict(extra or {}),
        },
    )


def load_segmenter(path: str | Path, expected_sha256: str | None = None) -> SavedSegmenter:
    """Rebuild a segmenter saved by `save_segmenter` (eval mode, CPU); sha256 checked if given."""
    payload = load_checkpoint(path, expected_sha256)
    if payload.get("task") != "segmentation":
        raise ValueError(f"{path} is not a segmentation checkpoint")
    spec = SegSpec.from_dict(payload["spec"])
    model = build_segmenter(spec)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return SavedSegmenter(
        model=model,
        spec=spec,
        temperature=float(payload.get("temperature", 1.0)),
        class_names=list(payload.get("class_names", [])),
        extra=dict(payload.get("extra", {})),
    )
