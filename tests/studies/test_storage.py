"""Content-addressed storage: the filesystem default and the S3 configuration path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from studies.storage import FileSystemStore, ObjectMissing, S3Store, get_store
from tests.studies.ingest_support import (
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)

pytestmark = pytest.mark.usefixtures("store_dir")


def test_put_names_the_object_by_its_sha256_and_is_idempotent() -> None:
    store = get_store()
    data = b"DICM" * 1000

    key = store.put(data)
    again = store.put(data)

    assert key == again == hashlib.sha256(data).hexdigest()
    assert [p.name for p in stored_files()] == [key]
    with store.open(key) as fh:
        assert fh.read() == data


def test_read_range_returns_exactly_the_requested_bytes() -> None:
    store = get_store()
    key = store.put(bytes(range(256)) * 4)

    assert store.read_range(key, 10, 5) == bytes([10, 11, 12, 13, 14])
    with pytest.raises(ObjectMissing):
        store.read_range(key, 1020, 10)  # past the end


def test_read_range_of_an_object_that_vanished_says_so() -> None:
    store = get_store()
    key = store.put(b"abc" * 10)
    store.delete(key)

    with pytest.raises(ObjectMissing):
        store.read_range(key, 0, 3)


def test_delete_removes_the_object_and_missing_objects_say_so() -> None:
    store = get_store()
    key = store.put(b"abc")

    store.delete(key)

    assert not store.exists(key)
    with pytest.raises(ObjectMissing):
        store.open(key)
    assert stored_files() == []


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 64, "0" * 63, ""])
def test_a_key_that_is_not_a_sha256_never_becomes_a_path(key: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        FileSystemStore(tmp_path).open(key)
    with pytest.raises(ValueError, match="not a storage key"):
        FileSystemStore(tmp_path).read_range(key, 0, 1)


def test_the_store_follows_the_settings(settings, tmp_path: Path) -> None:
    settings.DICOM_STORAGE_DIR = tmp_path / "one"
    first = get_store()
    settings.DICOM_STORAGE_DIR = tmp_path / "two"
    second = get_store()

    assert isinstance(first, FileSystemStore) and isinstance(second, FileSystemStore)
    assert (first.root, second.root) == (tmp_path / "one", tmp_path / "two")


def test_s3_backend_is_configured_from_settings_without_contacting_a_server(settings) -> None:
    # Only the configuration path is exercised: building the client needs no network.
    settings.DICOM_STORAGE_BACKEND = "s3"
    settings.DICOM_S3_BUCKET = "radloop-dicom"
    settings.DICOM_S3_ENDPOINT_URL = "http://127.0.0.1:9000"
    settings.DICOM_S3_REGION = "eu-west-1"
    settings.DICOM_S3_PREFIX = "hospital-a"

    store = get_store()

    assert isinstance(store, S3Store)
    assert store.storage.bucket_name == "radloop-dicom"
    assert store.storage.endpoint_url == "http://127.0.0.1:9000"
    assert store.storage.location == "hospital-a"
    key = "ab" + "0" * 62
    assert store._name(key) == f"ab/{key}"
    assert store.storage._normalize_name(store._name(key)) == f"hospital-a/ab/{key}"


def test_s3_backend_without_a_bucket_is_a_clear_configuration_error(settings) -> None:
    settings.DICOM_STORAGE_BACKEND = "s3"
    settings.DICOM_S3_BUCKET = ""

    with pytest.raises(ImproperlyConfigured, match="DICOM_S3_BUCKET"):
        get_store()


def test_an_unknown_backend_is_a_clear_configuration_error(settings) -> None:
    settings.DICOM_STORAGE_BACKEND = "ftp"

    with pytest.raises(ImproperlyConfigured, match="'filesystem' or 's3'"):
        get_store()


def test_a_staged_object_is_invisible_until_placed() -> None:
    """stage() writes and flushes in the background (ingest overlaps it with the checks); the
    object appears under its key only when placed, exactly as put() would store it."""
    from studies.storage import content_key, put, stage

    data = b"DICM" * 500
    key = content_key(data)
    staged = stage(data, key)
    assert staged is not None and staged.pending
    assert not get_store().exists(key)
    assert put(data, key, staged) == key and not staged.pending
    assert [p.name for p in stored_files()] == [key]
    with get_store().open(key) as fh:
        assert fh.read() == data
    assert stage(data, key) is None  # stored already: nothing to write
    staged.discard()  # after placing: harmless, the object stays
    assert get_store().exists(key)


def test_a_discarded_staged_object_leaves_no_file() -> None:
    from studies.storage import content_key, stage

    data = b"refused" * 100
    staged = stage(data, content_key(data))
    assert staged is not None
    staged.discard()
    staged.discard()
    assert stored_files() == []


def test_a_staged_object_placed_after_another_copy_keeps_one_file() -> None:
    from studies.storage import content_key, put, stage

    data = b"twice" * 100
    key = content_key(data)
    first, second = stage(data, key), stage(data, key)
    assert first is not None and second is not None
    put(data, key, first)
    put(data, key, second)
    assert [p.name for p in stored_files()] == [key]


def test_a_staged_write_has_begun_when_stage_returns() -> None:
    """The writer of an object alone in its request must not wait for the GIL of a request
    thread that goes on parsing (decision 0130): stage() returns only once the temporary file
    exists and its write is under way. With a switch interval of a minute the writer cannot
    preempt this thread, so the file exists here only if stage() waited for it."""
    import sys

    from studies.staged_writes import flusher
    from studies.storage import content_key, stage

    for _ in range(2):  # warm the pool: starting a thread would hand over the GIL by itself
        flusher().submit(int).result()
    data = b"DICM" * 4096
    key = content_key(data)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(60.0)
    try:
        staged = stage(data, key, begin_now=True)
        assert staged is not None
        folder = staged.target.parent
        begun = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    finally:
        sys.setswitchinterval(interval)
    assert any(name.startswith(".incoming-") for name in begun)
    staged.place()
    with get_store().open(key) as fh:
        assert fh.read() == data


@pytest.mark.parametrize("refusal", ["EINVAL", "EOPNOTSUPP"])
def test_a_kernel_without_per_write_sync_falls_back_to_fsync(
    refusal: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """pwritev's RWF_DSYNC needs Linux 4.7 and a filesystem that takes it; elsewhere the same
    bytes are written and fsync'd."""
    import errno
    import os

    from studies import staged_writes

    synced: list[int] = []
    real_fsync = os.fsync

    def refuse(*args: object) -> int:
        raise OSError(getattr(errno, refusal), "not here")

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(staged_writes.os, "pwritev", refuse)
    monkeypatch.setattr(staged_writes.os, "fsync", fsync)
    data = bytes(range(256)) * 300
    path = staged_writes.write_named_temporary(tmp_path / "ab" / "cd", data)
    assert Path(path).read_bytes() == data
    assert len(synced) == 1


def test_a_failed_disk_write_is_an_error_and_leaves_no_temporary_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import errno

    from studies import staged_writes

    def full(*args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(staged_writes.os, "pwritev", full)
    monkeypatch.setattr(staged_writes.os, "pwrite", full)
    with pytest.raises(OSError, match="No space left"):
        staged_writes.write_named_temporary(tmp_path, b"DICM" * 100)
    assert list(tmp_path.iterdir()) == []
