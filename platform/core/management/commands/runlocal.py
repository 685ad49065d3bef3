"""`make run` / `make serve`: everything on one machine, stopped together with Ctrl-C."""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from config.env import ConfigurationError
from config.failfast import exit_with, require_database
from core.local.accounts import LocalAccount, ensure_local_accounts
from core.local.commands import child_env, web_command, worker_command
from core.local.processes import Supervisor
from core.local.redis_server import port_to_start, redis_server_command, wait_for_redis


class Command(BaseCommand):
    help = "Migrate, seed the demo, start Redis if needed, one Celery worker and the web server."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-demo", action="store_true", help="no demo data, no accounts")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, no_demo: bool, port: int, **options: Any) -> None:
        self.started = time.monotonic()
        supervisor = Supervisor(out=self.stdout)
        supervisor.handle_signals()
        try:
            self.run(supervisor, demo=not no_demo, port=port)
        except KeyboardInterrupt:
            self.say("stopping…")
        except ConfigurationError as exc:
            supervisor.stop()
            exit_with(exc)
        finally:
            supervisor.stop(on_stop=lambda child: self.say(f"stopping {child.name}…"))
        self.say("stopped")

    def say(self, message: str) -> None:
        self.stdout.write(f"runlocal | {message}")

    def run(self, supervisor: Supervisor, *, demo: bool, port: int) -> None:
        data_dir = Path(settings.DATA_DIR)
        require_port_free(port)
        require_database()
        redis_port = port_to_start(settings.REDIS_URL, self.say)
        if redis_port is not None:
            self.say(
                f"no Redis answers on 127.0.0.1:{redis_port}; starting one in {data_dir}/redis"
            )
            command = redis_server_command(redis_port, data_dir / "redis")
            supervisor.start("redis", command, {"PATH": os.environ.get("PATH", os.defpath)})
            wait_for_redis(settings.REDIS_URL)
        self.say("migrating the database…")
        call_command("migrate", interactive=False, verbosity=0)
        env = child_env()
        # The worker needs the schema, nothing else; its torch import then overlaps the rest.
        supervisor.start("worker", worker_command(data_dir), env)
        call_command("collectstatic", interactive=False, verbosity=0)
        accounts: list[LocalAccount] = []
        if demo:
            accounts = ensure_local_accounts(data_dir)
            call_command("seed_demo", stdout=self.stdout)
        supervisor.start("web", web_command(port), env)
        base = f"http://127.0.0.1:{port}"
        health = wait_until_serving(base, supervisor)
        self.banner(base, accounts)
        if '"status": "ok"' not in health:
            self.say(f"warning: /healthz is not green yet: {health}")
        exited = supervisor.wait()
        if exited is not None:
            raise ConfigurationError(
                f"{exited.name} exited with status {exited.process.returncode}; "
                "stopped everything (its log is above)"
            )

    def banner(self, base: str, accounts: list[LocalAccount]) -> None:
        lines = [
            f"Radloop is running at {base}/  (ready in {time.monotonic() - self.started:.0f} s;"
            " Ctrl-C stops everything)"
        ]
        for account in accounts:
            shown = account.password or "(changed since first run; not shown)"
            role = "admin" if account.superuser else "doctor"
            lines.append(f"  {role:<6} login: {account.username:<8} password: {shown}")
        lines.append(f"  health: {base}/healthz   API docs: {base}/api/docs/")
        for line in lines:
            self.say(line)


def require_port_free(port: int) -> None:
    with socket.socket() as sock:
        # Bind as gunicorn does: a port in TIME_WAIT from our last run is free, a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigurationError(
                f"127.0.0.1:{port} is already in use ({exc.strerror}); "
                "stop the other server or pass --port"
            ) from exc


def wait_until_serving(base: str, supervisor: Supervisor, timeout: float = 90.0) -> str:
    """Wait until /healthz is green (web, database, Redis and the worker all up); return its body.

    Raises when a child dies meanwhile. After `timeout` it returns the last answer, so the banner
    can say what is still missing instead of hanging.
    """
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        for child in supervisor.children:
            if child.process.poll() is not None:
                raise ConfigurationError(
                    f"{child.name} exited with status {child.process.returncode}"
                )
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:  # noqa: S310
                return str(response.read().decode())
        except urllib.error.HTTPError as exc:  # 503: up, but something is not ready yet
            last = exc.read().decode(errors="replace")
        except OSError:
            pass
        time.sleep(0.5)
    return last
