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
