"""Import roots and folders. Every entry point (asgi, wsgi, celery, pytest) goes through here."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PLATFORM_ROOT = REPO_ROOT / "platform"


def ensure_import_roots() -> None:
    """Put the repo root (annotations, ml_worker) and platform/ (config, studies) on sys.path."""
    for path in (PLATFORM_ROOT, REPO_ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
