"""Where a training run's checkpoint files live, and removing those of a dead run.

The worker writes `run-<id>.pt` (and `run-<id>-shadow.pt` for the random baseline) under the
project's folder before it registers the ModelVersion that points at it; a worker killed between
the two (or mid-write: the atomic write's `.run-<id>.pt.*.tmp`) leaves a file no version
references. The stale-run sweep that fails such a run removes them (decision 0349).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from learning.models import ModelVersion


def project_model_dir(project_id: int) -> Path:
    return Path(settings.MODEL_STORAGE_DIR) / f"project-{project_id}"


def run_checkpoint_path(project_id: int, run_id: int, *, shadow: bool = False) -> Path:
    """The file a run's model (or its shadow random baseline) is written to."""
    suffix = "-shadow" if shadow else ""
    return project_model_dir(project_id) / f"run-{run_id}{suffix}.pt"


def remove_orphan_checkpoints(project_id: int, run_id: int) -> list[Path]:
    """Delete the run's checkpoint files (and half-written temporaries) that no ModelVersion
    references; return what was removed. Files a version points at are kept whatever the run's
    state (a version registered just before the worker died is still a real model)."""
    referenced = {
        str(Path(p).resolve())
        for p in ModelVersion.objects.filter(project_id=project_id)
        .exclude(checkpoint_path="")
        .values_list("checkpoint_path", flat=True)
    }
    folder = project_model_dir(project_id)
    if not folder.is_dir():
        return []
    removed: list[Path] = []
    for shadow in (False, True):
        final = run_checkpoint_path(project_id, run_id, shadow=shadow)
        for path in [final, *folder.glob(f".{final.name}.*.tmp")]:
            if path.is_file() and str(path.resolve()) not in referenced:
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed
