"""A remote-control command workers answer with their accelerators, for the dashboard.

The web must not import torch, so it asks the workers: `app.control.broadcast(
"radloop_devices", reply=True)` reaches every live worker over the broker's control channel and
each replies with what torch sees on its machine (reports.services.workers).
"""

from __future__ import annotations

from typing import Any

from celery.worker.control import inspect_command


def device_report() -> dict[str, Any]:
    import torch

    gpus = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            free, total = torch.cuda.mem_get_info(index)
            gpus.append(
                {
                    "index": index,
                    "name": props.name,
                    "memory_total_mb": round(total / 2**20),
                    "memory_free_mb": round(free / 2**20),
                    "capability": f"{props.major}.{props.minor}",
                }
            )
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "gpus": gpus,
        "cpu_threads": torch.get_num_threads(),
    }


@inspect_command(name="radloop_devices")  # type: ignore[untyped-decorator]
def radloop_devices(state: Any, **_: Any) -> dict[str, Any]:
    return device_report()
