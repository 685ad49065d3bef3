"""A real Orthanc (Debian orthanc + orthanc-dicomweb) for tests, in a private network namespace.

Orthanc 1.10 cannot bind to loopback only (notes/stack-and-orthanc.md P9), so it runs inside
`unshare -n` where nothing else exists. A bridge makes it reachable from the test process
without exposing it: inside the namespace this script forwards a Unix socket to Orthanc's port,
and the test process forwards a 127.0.0.1 port of its own to that socket.

Run as a script inside the namespace (`python -m tests.studies.orthanc_netns CONFIG SOCKET`), or
use `OrthancPeer` from a test, which does all of it and skips when it cannot.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PLUGINS = "/usr/share/orthanc/plugins"
ORTHANC_PORT = 8042


def orthanc_config(storage: Path, host: str, users: dict[str, str] | None = None) -> dict:
    return {
        "Name": "radloop-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "StorageCompression": False,
        "HttpPort": ORTHANC_PORT,
        "RemoteAccessAllowed": False,
        # With users, every request needs HTTP basic credentials of one of them.
        "AuthenticationEnabled": bool(users),
        "RegisteredUsers": users or {},
        "DicomServerEnabled": False,
        "HttpCompressionEnabled": False,
        "Plugins": [PLUGINS],
        "DicomWeb": {
            "Enable": True,
            "Root": "/dicom-web/",
            "EnableWado": True,
            "WadoRoot": "/wado",
            "Host": host,
            "Ssl": False,
        },
    }


def unavailable_reason() -> str | None:
    if not shutil.which("Orthanc") or not Path(PLUGINS).exists():
        return "Debian packages orthanc and orthanc-dicomweb are not installed"
    if not shutil.which("unshare"):
        return "util-linux unshare is not available"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"cannot create a network namespace: {probe.stderr.decode().strip()}"
    return None


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, target):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _forward(listener: socket.socket, connect) -> None:  # type: ignore[no-untyped-def]
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        try:
            upstream = connect()
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _connect_tcp() -> socket.socket:
    return socket.create_connection(("127.0.0.1", ORTHANC_PORT))


def serve_inside_namespace(config: Path, unix_path: str) -> None:
    """Inside the namespace: loopback up, Orthanc started, Unix socket → Orthanc forwarded."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    orthanc = subprocess.Popen(
        ["Orthanc", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _connect_tcp().close()
            break
        except OSError:
            time.sleep(0.1)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(unix_path)
    listener.listen(64)
    threading.Thread(target=_forward, args=(listener, _connect_tcp), daemon=True).start()
    try:
        sys.stdin.read()  # the parent closes our stdin to stop us
    finally:
        orthanc.terminate()
        orthanc.wait(timeout=20)


class OrthancPeer:
    """Start Orthanc in a private namespace; `.url` is its DICOMweb root on 127.0.0.1.
    With `users` (name → password) it asks every request for HTTP basic credentials."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = users or {}
        # The peer's own requests (readiness, test setup) use the first user.
        self.auth = next(iter(self.users.items()), None)

    def __enter__(self) -> OrthancPeer:
        self.scratch = Path(tempfile.mkdtemp(prefix="radloop-orthanc-"))
        self.unix_path = str(self.scratch / "orthanc.sock")
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.listener = listener
        port = listener.getsockname()[1]
        config = self.scratch / "orthanc.json"
        config.write_text(
            json.dumps(orthanc_config(self.scratch / "db", f"127.0.0.1:{port}", self.users))
        )
        repo = Path(__file__).resolve().parents[2]
        self.proc = subprocess.Popen(
            [
                "unshare",
                "-n",
                sys.executable,
                "-m",
                "tests.studies.orthanc_netns",
                str(config),
                self.unix_path,
            ],
            stdin=subprocess.PIPE,
            cwd=repo,
            env=dict(os.environ, PYTHONPATH=str(repo)),
        )

        def connect_unix() -> socket.socket:
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.unix_path)
            return s

        threading.Thread(target=_forward, args=(listener, connect_unix), daemon=True).start()
        self.url = f"http://127.0.0.1:{port}/dicom-web"
        self._wait(f"http://127.0.0.1:{port}/system")
        return self

    def _wait(self, url: str) -> None:
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the Orthanc namespace process exited")
            try:
                if requests.get(url, timeout=2, auth=self.auth).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("Orthanc did not answer within 60 s")

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)


if __name__ == "__main__":
    serve_inside_namespace(Path(sys.argv[1]), sys.argv[2])
