#!/usr/bin/env python
"""Django's command-line entry point.

`platform/` is an import root, not a package: a package named `platform` would shadow the
standard library module that torch, celery and attrs import (see docs/decisions/0001).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main() -> None:
    for path in (ROOT / "platform", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    from config.failfast import run_command

    run_command(sys.argv)


if __name__ == "__main__":
    main()
