"""What a folder import's check processes run (studies.import_pool). A spawned process imports
this module before anything else, so it imports no Django model at its top: the app registry is
set up by `init` first, then `check_chunk` imports the check."""

from __future__ import annotations

from typing import Any


def init() -> None:
    """Each pool process: the settings (DJANGO_SETTINGS_MODULE and the environment are the
    parent's) and the app registry, which the check's imports need."""
    import django

    django.setup()


def check_chunk(datas: list[bytes]) -> list[Any]:
    from studies.ingest_batch import check_for_batch

    return [check_for_batch(data) for data in datas]
