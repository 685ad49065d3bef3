"""Idempotency-Key on browser uploads (decision 0935): a retried request replays its first answer.

The upload page sends its files in batches (up to 10 files / 8 MiB per request), each request
under a key chosen for it and kept across retries. When the connection drops after the server
ingested the files, the retry finds the receipt and answers "stored" again instead of
"duplicate"; when it drops before, the retry ingests. Either way the bytes are stored once
(ingest is idempotent on SOP Instance UID and content-addressed in storage); the receipt only
keeps the answer truthful.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from studies.models import UploadReceipt

_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


class KeyReused(Exception):
    """The key names another upload (other files or another project)."""


def check_upload_key(value: str | None) -> str:
    """The Idempotency-Key header, or "" when none was sent (no replay then)."""
    if not value:
        return ""
    if not _KEY.fullmatch(value):
        raise ValidationError({"Idempotency-Key": ["8 to 64 letters, digits, '-' or '_' (a UUID)"]})
    return value


def fingerprint(project_id: Any, files: list[UploadedFile]) -> str:
    """What the request sent, cheaply: the target and each file's name and size (the bytes are
    not hashed here; the ingest hashes them anyway)."""
    parts = [str(project_id or "")] + [f"{f.name}\x00{f.size}" for f in files]
    return hashlib.sha256("\x01".join(parts).encode()).hexdigest()


def _replay(receipt: UploadReceipt, print_: str) -> dict[str, Any]:
    if receipt.fingerprint != print_:
        raise KeyReused("this Idempotency-Key was used for another upload")
    return {**receipt.answer, "replayed": True}


def answer_once(
    user: Any, key: str, print_: str, produce: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """`produce()`'s answer, or the stored answer of an earlier request with this key."""
    if not key:
        return produce()
    earlier = UploadReceipt.objects.filter(user=user, key=key).first()
    if earlier is not None:
        return _replay(earlier, print_)
    answer = produce()
    try:
        with transaction.atomic():
            UploadReceipt.objects.create(user=user, key=key, fingerprint=print_, answer=answer)
    except IntegrityError:
        # A concurrent attempt with the same key answered first (the client gave up on it and
        # retried while it still ran): both ingested the same bytes, which the ingest counted
        # once; the first answer is the one to give.
        return _replay(UploadReceipt.objects.get(user=user, key=key), print_)
    return {**answer, "replayed": False}
