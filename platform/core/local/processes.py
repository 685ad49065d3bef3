"""Start child processes in their own process groups, prefix their logs, stop them all together.

Each child gets its own session (process group) so that the terminal's Ctrl-C reaches only us and
we decide the order of shutdown; stopping a group also stops what the child forked (Celery's pool
processes, gunicorn's workers).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Writer(Protocol):
    def write(self, text: str) -> object: ...
    def flush(self) -> None: ...


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    pump: threading.Thread


@dataclass
class Supervisor:
    out: Writer = field(default_factory=lambda: sys.stdout)
    children: list[Child] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def say(self, name: str, line: str) -> None:
        with self._lock:
            self.out.write(f"{name:>7} | {line.rstrip()}\n")
            self.out.flush()

    def start(self, name: str, args: Sequence[str], env: Mapping[str, str]) -> Child:
        process = subprocess.Popen(
            list(args),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        pump = threading.Thread(target=self._pump, args=(name, process), daemon=True)
        pump.start()
        child = Child(name, process, pump)
        self.children.append(child)
        return child

    def _pump(self, name: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            self.say(name, raw.decode(errors="replace"))

    def handle_signals(self) -> None:
        """SIGINT (Ctrl-C) and SIGTERM both stop everything we started, whatever we were doing.

        The first signal raises KeyboardInterrupt in the main thread (so a long migrate or seed is
        interrupted too); later ones are ignored so that they cannot cut the shutdown short and
        orphan a child.
        """

        def request_stop(signum: int, frame: object) -> None:
            if self.stopping.is_set():
                return
            self.stopping.set()
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

    def wait(self, poll: float = 0.3) -> Child | None:
        """Block until a stop is requested (None) or a child exits on its own (that child)."""
        try:
            while not self.stopping.wait(poll):
                for child in self.children:
                    if child.process.poll() is not None:
                        return child
        except KeyboardInterrupt:
            pass
        return None

    def stop(self, timeout: float = 15.0, on_stop: Callable[[Child], None] | None = None) -> None:
        """SIGTERM each group, newest first (web and worker before the Redis they use), then
        SIGKILL whatever has not exited after `timeout` seconds."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                if on_stop:
                    on_stop(child)
                _signal_group(child.process, signal.SIGTERM)
                deadline = time.monotonic() + timeout
                while child.process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.1)
            # The leader may be gone while its forked children linger: always sweep the group.
            _signal_group(child.process, signal.SIGKILL)
            child.process.wait()
            child.pump.join(timeout=2)
        self.children.clear()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
