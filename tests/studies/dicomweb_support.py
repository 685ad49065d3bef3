"""Helpers shared by the DICOMweb tests: real ingest of real files, projects and personas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
from django.test import Client
from rest_framework.authtoken.models import Token

from studies.ingest import ingest_bytes
from studies.models import Instance

SINGLE_FILES = ("dicom", "single_files")


def ingest(path: Path, *, project: Any = None) -> Instance:
    outcome = ingest_bytes(path.read_bytes(), source_name=path.name, project=project)
    assert outcome.status in ("stored", "duplicate"), (path.name, outcome.reason)
    assert outcome.instance is not None
    return outcome.instance


def pydicom_file(name: str) -> Path:
    return Path(pydicom.data.get_testdata_file(name))


def attach(project: Any, instance: Instance) -> None:
    from annotations.models import Item

    Item.objects.create(project=project, instance=instance, frame=1)


def fresh_caches() -> None:
    """Forget per-process and Redis caches left by earlier tests (user ids get reused)."""
    from django.core.cache import cache

    from studies.dicomweb import hotcache

    hotcache.clear_all()
    cache.clear()


def token_client(user: Any) -> Client:
    fresh_caches()
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def session_client(user: Any) -> Client:
    fresh_caches()
    client = Client()
    client.force_login(user)
    return client


def instance_url(instance: Instance, root: str = "/dicomweb") -> str:
    series = instance.series
    return (
        f"{root}/studies/{series.study.study_instance_uid}/series/{series.series_instance_uid}"
        f"/instances/{instance.sop_instance_uid}"
    )
