"""Browser uploads retried after a dropped connection (decision 0935): the same Idempotency-Key
replays the first answer, the bytes are stored once, a key reused for another upload is a 409,
and a rejected file in a zip leaves nothing of itself behind."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations.models import Item
from studies.models import Instance, UploadReceipt
from tests.cast import make_project
from tests.studies.ingest_support import (
    pydicom_file,
    row_counts,
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]

URL = "/api/v1/uploads/"
CT = pydicom_file("CT_small.dcm").read_bytes()
MR = pydicom_file("MR_small.dcm").read_bytes()


def _post(client: Any, project: Any, name: str, data: bytes, key: str | None = None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        URL,
        {"project": project.pk, "files": [SimpleUploadedFile(name, data)]},
        format="multipart",
        **headers,
    )


def test_a_retry_with_the_same_key_replays_stored_and_stores_nothing_twice(cast: Any) -> None:
    project = make_project(admin=cast.alice, classes=(), deidentify=False)
    client = cast.client(cast.alice)

    first = _post(client, project, "ct.dcm", CT, key="file-0001-aaaa")
    files_after_first = stored_files()
    retry = _post(client, project, "ct.dcm", CT, key="file-0001-aaaa")

    assert first.status_code == retry.status_code == 200
    assert first.json()["replayed"] is False and retry.json()["replayed"] is True
    assert [r["status"] for r in retry.json()["results"]] == ["stored"]
    assert retry.json()["results"] == first.json()["results"]
    assert Instance.objects.count() == 1 and Item.objects.filter(project=project).count() == 1
    assert stored_files() == files_after_first and len(files_after_first) == 1


def test_without_a_key_the_same_file_again_is_a_duplicate_stored_once(cast: Any) -> None:
    project = make_project(admin=cast.alice, classes=(), deidentify=False)
    client = cast.client(cast.alice)
    _post(client, project, "ct.dcm", CT)
    again = _post(client, project, "ct.dcm", CT)
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"]
    assert Instance.objects.count() == 1 and len(stored_files()) == 1


def test_a_key_reused_for_another_file_is_a_409_and_ingests_nothing(cast: Any) -> None:
    project = make_project(admin=cast.alice, classes=(), deidentify=False)
    client = cast.client(cast.alice)
    _post(client, project, "ct.dcm", CT, key="file-0002-bbbb")
    reused = _post(client, project, "mr.dcm", MR, key="file-0002-bbbb")
    assert reused.status_code == 409 and "Idempotency-Key" in reused.json()
    assert Instance.objects.count() == 1


def test_keys_are_per_user(cast: Any) -> None:
    project = make_project(admin=[cast.alice, cast.olga], classes=(), deidentify=False)
    _post(cast.client(cast.alice), project, "ct.dcm", CT, key="shared-key-1")
    other = _post(cast.client(cast.olga), project, "mr.dcm", MR, key="shared-key-1")
    assert other.status_code == 200 and other.json()["replayed"] is False
    assert UploadReceipt.objects.filter(key="shared-key-1").count() == 2


def test_a_malformed_key_is_a_400_naming_the_header(cast: Any) -> None:
    project = make_project(admin=cast.alice, classes=(), deidentify=False)
    response = _post(cast.client(cast.alice), project, "ct.dcm", CT, key="bad key!")
    assert response.status_code == 400 and "Idempotency-Key" in response.json()
    assert Instance.objects.count() == 0


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_bad_file_in_a_zip_is_listed_with_its_reason_and_leaves_nothing(cast: Any) -> None:
    project = make_project(admin=cast.alice, classes=(), deidentify=False)
    truncated = CT[: len(CT) // 2]  # a real CT cut in the middle of its pixel data
    response = _post(
        cast.client(cast.alice),
        project,
        "batch.zip",
        _zip({"ok/mr.dcm": MR, "bad/ct-cut.dcm": truncated}),
        key="zip-0001-cccc",
    )
    body = response.json()
    by_name = {r["name"]: r for r in body["results"]}
    assert by_name["batch.zip!ok/mr.dcm"]["status"] == "stored"
    assert by_name["batch.zip!bad/ct-cut.dcm"]["status"] == "rejected"
    assert by_name["batch.zip!bad/ct-cut.dcm"]["code"] == "truncated"
    assert by_name["batch.zip!bad/ct-cut.dcm"]["reason"]
    # Only the good file's rows and bytes exist: the cut CT's UIDs are nowhere.
    assert row_counts()["instances"] == 1 and len(stored_files()) == 1
    import pydicom

    ct_uid = pydicom.dcmread(io.BytesIO(CT), stop_before_pixels=True).SOPInstanceUID
    assert not Instance.objects.filter(sop_instance_uid=ct_uid).exists()


def test_each_outcome_names_the_file_it_came_from_in_a_batch(cast: Any) -> None:
    """The page sends several files per request and maps the answers back by `file`."""
    project = make_project(admin=cast.alice, classes=(), deidentify=False)
    response = cast.client(cast.alice).post(
        URL,
        {
            "project": project.pk,
            "files": [
                SimpleUploadedFile("notes.txt", b"not an image"),
                SimpleUploadedFile("pair.zip", _zip({"mr.dcm": MR, "ct.dcm": CT})),
                SimpleUploadedFile("ct-again.dcm", CT),
            ],
        },
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="batch-0001-dddd",
    )
    assert response.status_code == 200, response.content
    assert [(r["file"], r["name"], r["status"]) for r in response.json()["results"]] == [
        (0, "notes.txt", "rejected"),
        (1, "pair.zip!mr.dcm", "stored"),
        (1, "pair.zip!ct.dcm", "stored"),
        (2, "ct-again.dcm", "duplicate"),
    ]


def test_an_attempt_that_loses_the_race_for_its_key_answers_with_the_winners_answer(
    cast: Any,
) -> None:
    """Two attempts with one key at once (the client gave up on the first and retried while it
    still ran): the one that commits its receipt second answers with the first one's answer."""
    from studies.upload_receipts import answer_once

    winner = {"counts": {"stored": 1}, "results": [{"file": 0, "status": "stored"}]}

    def ingest_while_the_other_attempt_commits() -> dict[str, Any]:
        UploadReceipt.objects.create(
            user=cast.alice, key="race-key-01", fingerprint="same", answer=winner
        )
        return {"counts": {"duplicate": 1}, "results": [{"file": 0, "status": "duplicate"}]}

    answer = answer_once(cast.alice, "race-key-01", "same", ingest_while_the_other_attempt_commits)

    assert answer == {**winner, "replayed": True}
    assert UploadReceipt.objects.filter(key="race-key-01").count() == 1
