"""A revoked token, a logout or a removed membership in ANY process ends DICOMweb reads on the
very next request of every other process, whose per-process cache still remembers the user
(docs/decisions/0161). Before, those caches kept serving frames for up to 30 s.

The revoking side runs in a separate Python process on the same database and Redis, as another
gunicorn worker or an admin's shell would; its signals cannot reach this process's memory."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from annotations.models import Membership
from config.paths import REPO_ROOT
from studies.dicomweb import hotcache
from tests.cast import make_project
from tests.conftest import _worker_env
from tests.studies.dicomweb_support import (
    attach,
    ingest,
    instance_url,
    pydicom_file,
    session_client,
    token_client,
)

pytestmark = pytest.mark.django_db(transaction=True)
CORNERSTONE = "multipart/related; type=application/octet-stream; transfer-syntax=*"


def in_another_process(code: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=REPO_ROOT,
        env=_worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def world(make_user):  # type: ignore[no-untyped-def]
    annotator = make_user("ann")
    project = make_project(annotator=annotator, deidentify=False, classes=())
    attached = ingest(pydicom_file("CT_small.dcm"))
    attach(project, attached)
    return {
        "annotator": annotator,
        "project": project,
        "frame": instance_url(attached) + "/frames/1",
    }


def frame(client: Client, world: dict) -> int:  # type: ignore[type-arg]
    return int(client.get(world["frame"], HTTP_ACCEPT=CORNERSTONE).status_code)


def warm(client: Client, world: dict) -> None:  # type: ignore[type-arg]
    assert frame(client, world) == 200
    assert frame(client, world) == 200
    assert len(hotcache.tokens._data) + len(hotcache.sessions._data) == 1  # remembered here


def test_a_token_deleted_in_another_process_is_refused_on_the_next_frame(world) -> None:
    client = token_client(world["annotator"])
    warm(client, world)
    key = Token.objects.get(user=world["annotator"]).key

    in_another_process(
        "from rest_framework.authtoken.models import Token; "
        f"Token.objects.filter(key={key!r}).delete()"
    )

    assert frame(client, world) == 401


def test_a_logout_in_another_process_ends_the_session_on_the_next_frame(world) -> None:
    client = session_client(world["annotator"])
    warm(client, world)
    cookie = client.cookies["sessionid"].value

    in_another_process(
        "from django.test import Client; c = Client(); "
        f"c.cookies['sessionid'] = {cookie!r}; "
        "assert c.post('/accounts/logout/').status_code == 302"
    )

    assert frame(client, world) == 401


def test_a_membership_removed_in_another_process_hides_the_study_on_the_next_frame(world) -> None:
    client = token_client(world["annotator"])
    warm(client, world)
    membership = Membership.objects.get(user=world["annotator"], project=world["project"])

    in_another_process(
        "from annotations.models import Membership; "
        f"Membership.objects.get(pk={membership.pk}).delete()"
    )

    assert frame(client, world) == 404


def test_without_any_revocation_the_warm_cache_keeps_serving(world) -> None:
    client = token_client(world["annotator"])
    warm(client, world)

    in_another_process("from django.contrib.auth.models import Group; Group.objects.count()")

    assert frame(client, world) == 200
    assert len(hotcache.tokens._data) == 1  # still remembered: nothing was revoked


# -- the feed (decision 0131): revocations arrive on a subscription, read without a round trip --


@pytest.fixture
def counter_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every read of the revocation counter (0161's GET) from here on."""
    from django.core.cache import caches

    reads: list[str] = []
    default = caches["default"]
    original = default.get

    def get(key: str, *args: object, **kwargs: object) -> object:
        if key == hotcache.EPOCH_KEY:
            reads.append(key)
        return original(key, *args, **kwargs)

    monkeypatch.setattr(default, "get", get)
    return reads


@pytest.fixture
def no_cross_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from studies.dicomweb import revocation_feed

    monkeypatch.setattr(revocation_feed, "CROSS_CHECK_S", 3600.0)


def test_warm_frames_read_the_feed_not_the_counter(
    world, counter_reads: list[str], no_cross_check: None
) -> None:
    client = token_client(world["annotator"])
    warm(client, world)  # subscribes; the request that reads the confirmation reads the counter
    for _ in range(3):
        assert frame(client, world) == 200
    before = len(counter_reads)
    for _ in range(10):
        assert frame(client, world) == 200
    assert len(counter_reads) == before  # no round trip to Redis for the counter
    assert len(hotcache.tokens._data) == 1


def test_a_revocation_arrives_on_the_feed_without_reading_the_counter(
    world, counter_reads: list[str], no_cross_check: None
) -> None:
    client = token_client(world["annotator"])
    warm(client, world)
    for _ in range(3):
        assert frame(client, world) == 200
    key = Token.objects.get(user=world["annotator"]).key
    in_another_process(
        "from rest_framework.authtoken.models import Token; "
        f"Token.objects.filter(key={key!r}).delete()"
    )
    reads = len(counter_reads)
    assert frame(client, world) == 401
    # The feed said "revoked", the caches were forgotten; the counter is then read once to
    # remember its new value.
    assert len(counter_reads) == reads + 1


def test_a_lost_feed_connection_falls_back_to_the_counter_and_resubscribes(
    world, counter_reads: list[str], no_cross_check: None
) -> None:
    """Killing the subscription's connection (as a Redis restart would) must not leave the
    process trusting a feed that can no longer hear revocations."""
    from django.core.cache import cache

    from studies.dicomweb import revocation_feed

    client = token_client(world["annotator"])
    warm(client, world)
    for _ in range(3):
        assert frame(client, world) == 200
    redis = cache._cache.get_client(write=True)
    feed_clients = [
        c for c in redis.client_list() if int(c.get("sub", 0)) and c.get("cmd") in {"subscribe"}
    ]
    assert feed_clients, "no subscribed connection"
    channel = revocation_feed.channel_name(cache)
    assert redis.pubsub_numsub(channel)[0][1] >= 1
    for entry in feed_clients:
        redis.client_kill_filter(_id=entry["id"])
    reads = len(counter_reads)
    # Revoked by another process while this one's subscription is gone: the message reaches no
    # one, and only the counter can tell.
    key = Token.objects.get(user=world["annotator"]).key
    in_another_process(
        "from rest_framework.authtoken.models import Token; "
        f"Token.objects.filter(key={key!r}).delete()"
    )
    assert frame(client, world) == 401
    assert len(counter_reads) > reads
    assert frame(client, world) == 401
    assert redis.pubsub_numsub(channel)[0][1] >= 1  # subscribed again
