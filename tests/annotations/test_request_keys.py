"""Submit and skip honour the client's Idempotency-Key: a retried request (its first answer lost
to the network or a 5xx) gets the first answer back and never counts twice (decision 0141)."""

from __future__ import annotations

import uuid

from annotations.models import Item, Lease, Skip, Submission
from tests.annotations.helpers import answer, take


def submit_keyed(client, item_id: int, key: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/items/{item_id}/submit",
        {"time_spent_ms": 1200},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def skip_keyed(client, item_id: int, key: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/items/{item_id}/skip",
        {"reason": "unsure", "note": ""},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_the_same_submit_key_twice_counts_once_and_answers_the_same(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    answer(client, item["id"], {"labels": ["normal"]})
    key = str(uuid.uuid4())
    first = submit_keyed(client, item["id"], key)
    again = submit_keyed(client, item["id"], key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and first.json()["counted"] is True
    assert Item.objects.get(pk=item["id"]).reads_done == 1
    assert Submission.objects.filter(item_id=item["id"]).count() == 1
    assert Submission.objects.get(item_id=item["id"]).request_key == key


def test_the_same_skip_key_twice_skips_once_and_answers_the_same(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    key = str(uuid.uuid4())
    first = skip_keyed(client, item["id"], key)
    again = skip_keyed(client, item["id"], key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Skip.objects.filter(item_id=item["id"]).count() == 1
    assert Lease.objects.get(pk=item["lease"]["id"]).outcome == "skipped"
    # Without the key, the retry of a skip whose answer was lost is refused.
    assert skip_keyed(client, item["id"], str(uuid.uuid4())).status_code == 409


def test_a_key_names_one_request_only(cast) -> None:
    client = cast.client(cast.anna)
    first, second = take(client, cast.project.pk, count=2)
    for item in (first, second):
        answer(client, item["id"], {"labels": ["normal"]})
    key = str(uuid.uuid4())
    assert submit_keyed(client, first["id"], key).status_code == 200
    assert submit_keyed(client, second["id"], key).status_code == 409
    assert Item.objects.get(pk=second["id"]).reads_done == 0


def test_a_malformed_key_is_refused_and_nothing_counts(cast) -> None:
    client = cast.client(cast.anna)
    (item,) = take(client, cast.project.pk)
    answer(client, item["id"], {"labels": ["normal"]})
    for bad in ("short", "x" * 65, "has space in it", "ünïcode-key-123"):
        response = submit_keyed(client, item["id"], bad)
        assert response.status_code == 400, bad
        assert "Idempotency-Key" in response.json()
    assert Item.objects.get(pk=item["id"]).reads_done == 0
