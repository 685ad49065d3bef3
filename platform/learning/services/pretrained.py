"""Admin-uploaded pretrained checkpoints: checked and stored here, loaded by the worker.

The web side never imports torch, so it checks the container only: `torch.save` writes a zip
archive holding `<name>/data.pkl` (PyTorch's serialization format since 1.6). Whether the tensors
fit the project's network is decided by the worker (ml_worker.models.load_pretrained), which
fails the run with the reason and leaves the active model in place when nothing matches.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from pathlib import Path
from typing import IO

from django.conf import settings

from annotations.models import Project
from learning.models import ModelVersion, PretrainedWeights

MAX_BYTES = 2 * 1024**3


class PretrainedError(ValueError):
    """The upload is not a PyTorch checkpoint; the message says why."""


def check_checkpoint(path: Path) -> None:
    if not zipfile.is_zipfile(path):
        raise PretrainedError(
            "not a PyTorch checkpoint: expected the zip format torch.save writes (PyTorch >= 1.6)"
        )
    with zipfile.ZipFile(path) as archive:
        if not any(name.endswith("/data.pkl") for name in archive.namelist()):
            raise PretrainedError("not a PyTorch checkpoint: the archive holds no data.pkl")


def do_store_pretrained(
    project: Project, upload: IO[bytes], name: str, user_id: int | None
) -> PretrainedWeights:
    """Copy to a temporary file, check, then rename into place by content hash (atomic)."""
    folder = Path(settings.MODEL_STORAGE_DIR) / "pretrained"
    folder.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in iter(lambda: upload.read(1 << 20), b""):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise PretrainedError(f"checkpoint larger than {MAX_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        check_checkpoint(Path(temporary))
        final = folder / f"{digest.hexdigest()}.pt"
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return PretrainedWeights.objects.create(
        project=project,
        original_name=name[:255],
        path=str(final),
        sha256=digest.hexdigest(),
        size_bytes=size,
        uploaded_by_id=user_id,
    )


def do_store_version_weights(
    project: Project, version: ModelVersion, user_id: int | None
) -> PretrainedWeights:
    """Start this project from a model version of another (or the same) project: its checkpoint
    is stored like an upload, content-addressed, so later changes to that version's file (or its
    deletion) cannot change what this project starts from."""
    try:
        with open(version.checkpoint_path, "rb") as source:
            name = f"{version.project.name} v{version.number}.pt"
            return do_store_pretrained(project, source, name, user_id)
    except OSError as exc:
        raise PretrainedError(f"model v{version.number}'s checkpoint is unreadable: {exc}") from exc


def current_pretrained(project_id: int) -> PretrainedWeights | None:
    return PretrainedWeights.objects.filter(project_id=project_id).order_by("-pk").first()
