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
    pure += ["learning.splits", "learning.strategy_names", "learning.model_settings"]  # 0914
    code = (
        "import importlib, json, sys;"
        f"[importlib.import_module(m) for m in {pure!r}];"
        "print(json.dumps({'django': 'django' in sys.modules}))"
    )
    assert _run_python(code) == {"django": False}


# -- import boundaries, read from the source (docs/architecture.md, decisions 0911 and 0914) -----
# Every import statement counts: at the top, inside functions, under TYPE_CHECKING. URL loading
# (above) only shows what happens to be imported at start-up.

WEB_ROOTS = ("platform", "annotations")
NEVER_IN_WEB = ("ml_worker", "torch", "torchvision", "monai")
# studies sits at the bottom: it reaches projects only through studies.projects_seam, whose
# implementation settings.STUDIES_PROJECT_SEAM names (a string, not an import).
ABOVE_STUDIES = ("annotations", "learning", "reports")


def _imports(path: Path) -> list[tuple[int, str]]:
    import ast

    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def _is_under(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(f"{root}.") for root in roots)


def import_boundary_violations(repo: Path = REPO) -> list[str]:
    violations = []
    for root in WEB_ROOTS:
        for path in sorted((repo / root).rglob("*.py")):
            where = path.relative_to(repo).as_posix()
            in_studies = where.startswith("platform/studies/")
            for line, module in _imports(path):
                if _is_under(module, NEVER_IN_WEB):
                    violations.append(f"{where}:{line} imports {module} (web code)")
                if in_studies and _is_under(module, ABOVE_STUDIES):
                    violations.append(f"{where}:{line} imports {module} (studies: use the seam)")
    return violations


def test_the_web_never_imports_the_worker_and_studies_only_the_seam() -> None:
    assert import_boundary_violations() == []


def test_the_boundary_check_reads_imports_hidden_in_functions(tmp_path: Path) -> None:
    hidden = tmp_path / "platform" / "studies" / "sneaky.py"
    hidden.parent.mkdir(parents=True)
    (tmp_path / "annotations").mkdir()
    hidden.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import annotations.models\n"
        "def f():\n    from ml_worker.jobs.snapshot import lock_splits\n"
    )
    assert import_boundary_violations(tmp_path) == [
        "platform/studies/sneaky.py:3 imports annotations.models (studies: use the seam)",
        "platform/studies/sneaky.py:5 imports ml_worker.jobs.snapshot (web code)",
    ]


def test_the_worker_registers_exactly_the_strategy_names_the_web_validates() -> None:
    result = _run_python(
        "import json, sys; from ml_worker.strategies import strategy_names;"
        "from learning.strategy_names import STRATEGY_NAMES;"
        "print(json.dumps({'same': strategy_names() == sorted(STRATEGY_NAMES),"
        " 'django': 'django' in sys.modules}))"
    )
    assert result == {"same": True, "django": False}
