"""The workers and queues that are alive, and their accelerators, from Celery's control channel.

Nothing here imports torch: each worker answers the "radloop_devices" command itself
(ml_worker/jobs/devices.py). A worker busy in a solo pool answers between tasks only, so a
short timeout may miss it; the dashboard says "no reply" rather than "dead" then.
"""

from __future__ import annotations

from typing import Any

REPLY_TIMEOUT_S = 1.0


def _merge(replies: list[dict[str, Any]] | None) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for reply in replies or []:
        merged.update(reply)
    return merged


def alive_workers(timeout: float = REPLY_TIMEOUT_S) -> list[dict[str, Any]]:
    from config.celery import app

    inspect = app.control.inspect(timeout=timeout)
    pongs = _merge(app.control.ping(timeout=timeout))
    queues = inspect.active_queues() or {}
    active = inspect.active() or {}
    devices = _merge(app.control.broadcast("radloop_devices", reply=True, timeout=timeout))
    workers = []
    for name in sorted(set(pongs) | set(queues) | set(devices)):
        workers.append(
            {
                "name": name,
                "queues": sorted(q["name"] for q in queues.get(name, [])),
                "active_tasks": [t.get("name") for t in active.get(name, [])],
                "devices": devices.get(name),
            }
        )
    return workers


def queue_lengths(names: tuple[str, ...] = ("train", "infer", "default")) -> dict[str, int]:
    """Messages waiting in each Redis queue (the broker's list length)."""
    from config.celery import app

    with app.connection_for_read() as connection:
        client = connection.default_channel.client
        return {name: int(client.llen(name)) for name in names}
