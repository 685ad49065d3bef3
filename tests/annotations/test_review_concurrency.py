"""Two reviewers adjudicate the same items at the same moment, each with its own database
connection: on every item exactly one wins and the other gets 412, round after round, and the
versions run 1, 2 without a gap or a twin (PostgreSQL row locks and the unique version)."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import pytest
from django.db import connection

from annotations.models import Review
from tests.annotations.helpers import answer, submit, take
from tests.cast import Cast, make_project

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ITEMS = 4


def race(calls: list[Any]) -> list[int]:
    """Run the calls in threads released together; their status codes, in call order."""
    barrier = threading.Barrier(len(calls))
    codes: list[int] = [0] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            codes[index] = calls[index]().status_code
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return codes


def test_two_reviewers_racing_never_both_win(cast: Cast) -> None:
    project = make_project(items=ITEMS, readers_per_item=2)
    cast.on(project, "alice", "rita", "anna", "ben")
    anna, ben = cast.client("anna"), cast.client("ben")
    items = []
    for _ in range(ITEMS):
        (item,) = take(anna, project.pk)
        answer(anna, item["id"], {"labels": ["normal"]})
        submit(anna, item["id"])
        (same,) = take(ben, project.pk)
        answer(ben, same["id"], {"labels": ["pneumonia"]})
        submit(ben, same["id"])
        items.append(item["id"])
    rita, alice = cast.client("rita"), cast.client("alice")
    for round_, headers in enumerate(({}, {"HTTP_IF_MATCH": '"1"'})):
        for item_id in items:
            url = f"/api/v1/items/{item_id}/review"
            codes = race(
                [
                    partial(client.post, url, {"accept": reader.pk}, format="json", **headers)
                    for client, reader in ((rita, cast.anna), (alice, cast.ben))
                ]
            )
            assert sorted(codes) == [201, 412], (round_, item_id, codes)
    for item_id in items:
        versions = Review.objects.filter(item_id=item_id).order_by("version")
        assert list(versions.values_list("version", flat=True)) == [1, 2]
