"""The layout promises of docs/architecture.md: import roots that never shadow the stdlib."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run_python(code: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]))
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_platform_folder_is_not_a_package_and_stdlib_platform_still_works() -> None:
    assert not (REPO / "platform" / "__init__.py").exists()
    result = _run_python(
        "import json, sys; sys.path[:0] = ['platform', '.'];"
        "import django; django.setup() if False else None; import platform;"
        "print(json.dumps({'system': platform.system(), 'file': platform.__file__}))"
    )
    assert result["system"] == "Linux"
    assert "/platform/" not in result["file"].replace(str(REPO), "")


def test_web_app_does_not_import_torch() -> None:
    result = _run_python(
        "import json, sys, django; django.setup();"
        "from django.urls import get_resolver; get_resolver().url_patterns;"
        "import config.wsgi, studies.models, annotations.models, learning.models;"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'monai': 'monai' in sys.modules}))"
    )
    assert result == {"torch": False, "monai": False}


def test_pure_ml_modules_do_not_import_django() -> None:
    pure = sorted(
        p.relative_to(REPO).with_suffix("").as_posix().replace("/", ".")
        for p in (REPO / "ml_worker").rglob("*.py")
        # tasks*.py and jobs/ are the Django glue (docs/decisions/0900); the rest must stay pure.
        if not p.name.startswith("tasks")
        and not p.name.endswith("_tasks.py")
        and "jobs" not in p.parts
        and p.name != "__init__.py"
    )
    assert pure, "ml_worker has no pure modules to check"
    code = (
        "import importlib, json, sys;"
        f"[importlib.import_module(m) for m in {pure!r}];"
        "print(json.dumps({'django': 'django' in sys.modules}))"
    )
    assert _run_python(code) == {"django": False}
