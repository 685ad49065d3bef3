"""Checkpoints written atomically (temporary file, fsync, rename) and identified by their sha256.

A worker killed mid-write leaves at most a `*.tmp` file beside the target, never a truncated file
at the final path: `os.replace` is atomic on POSIX filesystems, and the fsyncs make the content
and the directory entry durable before the path is reported to the registry.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ml_worker.models import Classifier, ModelSpec, build_model

FORMAT_VERSION = 1


class ChecksumMismatch(ValueError):
    """The file's sha256 differs from the one the registry recorded."""


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: str | Path, data: bytes) -> str:
    """Write `data` to `path` atomically; return its sha256 hex digest."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return hashlib.sha256(data).hexdigest()


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> str:
    """Serialise `payload` (tensors, numbers, strings, dicts, lists) with torch; return sha256."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT_VERSION, **payload}, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, expected_sha256: str | None = None) -> dict[str, Any]:
    """Read a checkpoint (weights-only unpickling: no code runs); verify its sha256 if given."""
    data = Path(path).read_bytes()
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise ChecksumMismatch(f"{path}: sha256 differs from the registry's {expected_sha256}")
    loaded: dict[str, Any] = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    return loaded


@dataclass
class SavedModel:
    """A model as stored: network, spec, fitted temperature, class names and free-form extras."""

    model: Classifier
    spec: ModelSpec
    temperature: float = 1.0
    class_names: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def save_model(
    path: str | Path,
    model: Classifier,
    *,
    temperature: float = 1.0,
    class_names: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Save a trained classifier with what is needed to rebuild and use it; return sha256."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return save_checkpoint(
        path,
        {
            "spec": model.spec.to_dict(),
            "state_dict": state,
            "temperature": float(temperature),
            "class_names": list(class_names or []),
            "extra": dict(extra or {}),
        },
    )


def load_model(path: str | Path, expected_sha256: str | None = None) -> SavedModel:
    """Rebuild a classifier saved by `save_model` (eval mode, on CPU)."""
    payload = load_checkpoint(path, expected_sha256)
    spec = ModelSpec.from_dict(payload["spec"])
    model = build_model(spec)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return SavedModel(
        model=model,
        spec=spec,
        temperature=float(payload.get("temperature", 1.0)),
        class_names=list(payload.get("class_names", [])),
        extra=dict(payload.get("extra", {})),
    )
