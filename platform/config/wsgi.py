"""WSGI entry point, for servers that do not speak ASGI."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from config.paths import ensure_import_roots

ensure_import_roots()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

from config.failfast import load_application  # noqa: E402

application = load_application("wsgi")
