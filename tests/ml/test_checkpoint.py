"""Checkpoints are written atomically with their sha256, and read back exactly."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ml_worker.checkpoint import ChecksumMismatch, load_model, save_model, sha256_file
from ml_worker.inference import predict
from ml_worker.models import ModelSpec, build_model

REPO = Path(__file__).resolve().parents[2]
SPEC = ModelSpec(input_size=16, width=8)


def test_saved_model_round_trips_with_its_sha256(tmp_path: Path) -> None:
    model = build_model(SPEC)
    path = tmp_path / "models" / "v1.pt"
    digest = save_model(path, model, temperature=1.7, class_names=["normal", "pneumonia"])
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest() == sha256_file(path)
    saved = load_model(path, expected_sha256=digest)
    assert saved.temperature == 1.7 and saved.class_names == ["normal", "pneumonia"]
    assert saved.spec == SPEC
    x = np.random.default_rng(0).random((4, 1, 16, 16), dtype=np.float32)
    np.testing.assert_array_equal(predict(model, x).logits, predict(saved.model, x).logits)


def test_a_tampered_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v1.pt"
    digest = save_model(path, build_model(SPEC))
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ChecksumMismatch):
        load_model(path, expected_sha256=digest)


def test_a_process_killed_mid_write_leaves_no_file_at_the_final_path(tmp_path: Path) -> None:
    # The child writes the bytes to its temporary file, then dies by SIGKILL at the fsync, before
    # the rename: the final path must not exist (first save) or keep the old content (overwrite).
    script = textwrap.dedent(
        """
        import os, signal, sys
        from ml_worker.checkpoint import save_model
        from ml_worker.models import ModelSpec, build_model
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
        save_model(sys.argv[1], build_model(ModelSpec(input_size=16, width=8)))
        """
    )
    fresh = tmp_path / "fresh.pt"
    killed = subprocess.run([sys.executable, "-c", script, str(fresh)], cwd=REPO, check=False)
    assert killed.returncode == -9
    assert not fresh.exists()

    existing = tmp_path / "existing.pt"
    digest = save_model(existing, build_model(SPEC))
    killed = subprocess.run([sys.executable, "-c", script, str(existing)], cwd=REPO, check=False)
    assert killed.returncode == -9
    assert sha256_file(existing) == digest
    load_model(existing, expected_sha256=digest)


def test_a_failed_write_cleans_up_its_temporary_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ml_worker.checkpoint as checkpoint

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_model(tmp_path / "v2.pt", build_model(SPEC))
    assert list(tmp_path.iterdir()) == []
