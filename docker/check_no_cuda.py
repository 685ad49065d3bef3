"""Install guard: fail if resolving the requirements would pull a CUDA build of torch.

An unpinned torch (or a package that wants a newer one) brings torch with ~18 nvidia-* wheels and
triton, several GB, onto machines that have no GPU. `pip install --dry-run` shows what would come.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

EXPECTED_TORCH = "2.13.0"


def offending(report: str) -> list[str]:
    problems = [line for line in report.split() if re.match(r"(nvidia-|triton)", line)]
    for match in re.finditer(r"\btorch-(\d[^\s,]*)", report):
        if not match.group(1).startswith(EXPECTED_TORCH):
            problems.append(match.group(0))
    return problems


def main(requirements: str) -> int:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "-q",
            "--report",
            "-",
            "-r",
            requirements,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        print(result.stderr.strip().splitlines()[-1] if result.stderr else "pip failed")
        return result.returncode
    installs = json.loads(result.stdout)["install"]
    report = " ".join(
        f"{entry['metadata']['name'].lower()}-{entry['metadata']['version']}" for entry in installs
    )
    bad = offending(report)
    if bad:
        print(f"refusing to install: CUDA packages would be pulled: {', '.join(sorted(set(bad)))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "requirements/dev.txt"))
