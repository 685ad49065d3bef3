"""DICOMweb benchmark: our server and Orthanc side by side, on the same files, in one run.

Everything runs inside one private network namespace (`unshare -n`, loopback only; the script
re-executes itself there): a private Redis, Orthanc 1.10 with its DICOMweb plugin, and our real
application under gunicorn (gthread, DEBUG off, PostgreSQL over its Unix socket, persistent DB
connections). Both are driven by the same client, dicomweb-client, with the same requests
(notes/stack-and-orthanc.md §8 method):

  STOW-RS  --stow synthetic copies of CT_small (new UIDs), one instance per request
  QIDO-RS  all studies; one study by UID
  WADO-RS  instance metadata; frame 1 as application/octet-stream (sequential, then from
           4 client threads with one keep-alive session each), for CT_small and MR_small

Prints p50/p95 and rates per server with ours/Orthanc ratios, then the machine-readable line
    frames_per_s_ratio=R frame_p50_ratio=R stow_ratio=R
(frames/s: all frame requests of the 4-client run; p50: sequential frame requests; ours
divided by Orthanc's). Request counts are bounded by the options; nothing loops on time.

Usage: python bench/dicomweb.py [--requests 200] [--stow 100] [--workers 2] [--threads 4]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds queue.py, which would shadow the standard library's `queue` (urllib3 needs it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from io import BytesIO  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PG_SOCKET = "/var/run/postgresql"
OURS_PORT, ORTHANC_PORT, REDIS_PORT = 8765, 8042, 6391
FILES = ("CT_small.dcm", "MR_small.dcm")
OCTET = (("application/octet-stream", "1.2.840.10008.1.2.1"),)


def in_private_namespace() -> bool:
    return os.environ.get("RADLOOP_BENCH_NETNS") == "1"


def reexec_in_namespace() -> None:
    unshare = shutil.which("unshare")
    if not unshare:
        sys.exit("bench/dicomweb.py needs util-linux `unshare` (and root) for a private network")
    env = dict(os.environ, RADLOOP_BENCH_NETNS="1")
    script = f'ip link set lo up && exec {sys.executable} {Path(__file__).resolve()} "$@"'
    os.execvpe(unshare, [unshare, "-n", "bash", "-c", script, "bench", *sys.argv[1:]], env)  # noqa: S606


def wait_http(url: str, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code < 600:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


class Services:
    """Redis, Orthanc and gunicorn started in this namespace; stopped in reverse order."""

    def __init__(self, scratch: Path, workers: int, threads: int) -> None:
        self.scratch = scratch
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers, self.threads = workers, threads
        self.db_name = f"radloop_bench_dicomweb_{os.getpid()}"
        self.env = dict(
            os.environ,
            DATABASE_URL=f"postgres://postgres@{PG_SOCKET.replace('/', '%2F')}/{self.db_name}",
            REDIS_URL=f"redis://127.0.0.1:{REDIS_PORT}/0",
            RADLOOP_DATA_DIR=str(scratch / "data"),
            DICOMWEB_BASE_URL=f"http://127.0.0.1:{OURS_PORT}",
            DEBUG="0",
            DB_CONN_MAX_AGE="600",
            LOG_LEVEL="WARNING",
            SECRET_KEY="bench-" + uuid.uuid4().hex,
            DJANGO_SETTINGS_MODULE="config.settings.base",
            PYTHONPATH=f"{REPO / 'platform'}:{REPO}",
        )

    def _start(self, args: list[str], log: str, env: dict[str, str] | None = None) -> None:
        out = open(self.scratch / log, "wb")  # noqa: SIM115 - closed with the process
        self.procs.append(subprocess.Popen(args, stdout=out, stderr=out, env=env, cwd=REPO))

    def start(self) -> None:
        self._start(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(REDIS_PORT),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.scratch),
            ],
            "redis.log",
        )
        self._admin_sql(f'CREATE DATABASE "{self.db_name}"')
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=self.env, check=True
        )
        config = {
            "Name": "bench",
            "StorageDirectory": str(self.scratch / "orthanc"),
            "IndexDirectory": str(self.scratch / "orthanc"),
            "StorageCompression": False,
            "HttpPort": ORTHANC_PORT,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomServerEnabled": False,
            "HttpCompressionEnabled": False,
            "Plugins": ["/usr/share/orthanc/plugins"],
            "DicomWeb": {
                "Enable": True,
                "Root": "/dicom-web/",
                "EnableWado": True,
                "WadoRoot": "/wado",
                "Host": f"127.0.0.1:{ORTHANC_PORT}",
                "Ssl": False,
            },
        }
        (self.scratch / "orthanc.json").write_text(json.dumps(config))
        self._start(["Orthanc", str(self.scratch / "orthanc.json")], "orthanc.log")
        self._start(
            [
                str(VENV_BIN / "gunicorn"),
                "config.wsgi:application",
                "-k",
                "gthread",
                "-w",
                str(self.workers),
                "--threads",
                str(self.threads),
                "-b",
                f"127.0.0.1:{OURS_PORT}",
                "--preload",
                "--no-control-socket",
            ],
            "gunicorn.log",
            self.env,
        )
        wait_http(f"http://127.0.0.1:{ORTHANC_PORT}/system")
        wait_http(f"http://127.0.0.1:{OURS_PORT}/healthz")

    def _admin_sql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host={PG_SOCKET} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def token(self) -> str:
        code = (
            "from django.contrib.auth.models import User;"
            "from rest_framework.authtoken.models import Token;"
            "u=User.objects.create_superuser('bench','b@x.test','pw');"
            "print(Token.objects.create(user=u).key)"
        )
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=REPO,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        try:
            self._admin_sql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        except Exception as exc:  # the report must still print; say what was left behind
            print(f"could not drop {self.db_name}: {exc}", file=sys.stderr)


def timed(call: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def measure(name: str, make_client: Callable[[], object], args: argparse.Namespace) -> dict:
    import pydicom
    from pydicom.uid import generate_uid

    client = make_client()
    results: dict[str, object] = {}
    datasets = {f: pydicom.dcmread(pydicom.data.get_testdata_file(f)) for f in FILES}
    for ds in datasets.values():
        client.store_instances([ds])  # type: ignore[attr-defined]

    template = datasets["CT_small.dcm"]
    copies = []
    for _ in range(args.stow):
        copy = pydicom.dcmread(BytesIO(_bytes(template)))
        copy.StudyInstanceUID, copy.SeriesInstanceUID = generate_uid(), generate_uid()
        copy.SOPInstanceUID = copy.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        copies.append(copy)
    start = time.perf_counter()
    for copy in copies:
        client.store_instances([copy])  # type: ignore[attr-defined]
    results["stow_per_s"] = args.stow / (time.perf_counter() - start)

    ct = datasets["CT_small.dcm"]
    results["qido_all"] = timed(lambda: client.search_for_studies(), 25)  # type: ignore[attr-defined]
    results["qido_uid"] = timed(
        lambda: client.search_for_studies(search_filters={"StudyInstanceUID": ct.StudyInstanceUID}),  # type: ignore[attr-defined]
        25,
    )
    seq_all: list[float] = []
    for file_name, ds in datasets.items():
        uids = (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        results[f"meta {file_name}"] = timed(
            lambda uids=uids: client.retrieve_instance_metadata(*uids),
            25,  # type: ignore[attr-defined]
        )

        size = ds.Rows * ds.Columns * ds.BitsAllocated // 8

        def frame(c: object = client, uids: tuple[str, str, str] = uids, size: int = size) -> None:
            (data,) = c.retrieve_instance_frames(*uids, [1], media_types=OCTET)  # type: ignore[attr-defined]
            assert len(data) == size

        for _ in range(5):
            frame()  # warm-up: caches, connection, lazy imports
        # Warm every server process too: gunicorn workers import the URLconf (and with it
        # pydicom and numpy) on their first request, which a later phase must not pay for.
        concurrent(make_client, uids, ds, 40)
        seq = timed(frame, args.requests)
        seq_all += seq
        results[f"frame {file_name}"] = seq
        results[f"frames_per_s {file_name}"] = len(seq) / sum(seq)
        results[f"frames_per_s_4 {file_name}"] = concurrent(make_client, uids, ds, args.requests)
    results["frames_seq_all"] = seq_all
    total = sum(args.requests for _ in datasets)
    results["frames_per_s_4_all"] = total / sum(
        args.requests / float(results[f"frames_per_s_4 {f}"])
        for f in datasets  # type: ignore[arg-type]
    )
    print(f"measured {name}", file=sys.stderr)
    return results


def _bytes(ds: object) -> bytes:
    out = BytesIO()
    ds.save_as(out)  # type: ignore[attr-defined]
    return out.getvalue()


def concurrent(
    make_client: Callable[[], object],
    uids: tuple[str, str, str],
    ds: object,
    requests: int,
    clients: int = 4,
) -> float:
    per_client = requests // clients
    errors: list[BaseException] = []

    def work() -> None:
        client = make_client()
        try:
            for _ in range(per_client):
                client.retrieve_instance_frames(*uids, [1], media_types=OCTET)  # type: ignore[attr-defined]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return per_client * clients / (time.perf_counter() - start)


def report(ours: dict, orthanc: dict, args: argparse.Namespace) -> str:
    rows = [("measurement", "ours", "Orthanc", "ours/Orthanc")]

    def latency(key: str, label: str) -> None:
        a, b = ours[key], orthanc[key]
        for q, name in ((0.5, "p50"), (0.95, "p95")):
            rows.append(
                (
                    f"{label} {name} ms",
                    f"{p(a, q):.2f}",
                    f"{p(b, q):.2f}",
                    f"{p(a, q) / p(b, q):.2f}",
                )
            )

    def rate(key: str, label: str) -> None:
        a, b = ours[key], orthanc[key]
        rows.append((label, f"{a:.0f}", f"{b:.0f}", f"{a / b:.2f}"))

    rate("stow_per_s", f"STOW-RS instances/s ({args.stow} x 1 per request)")
    latency("qido_all", "QIDO-RS all studies")
    latency("qido_uid", "QIDO-RS study by UID")
    for f in FILES:
        latency(f"meta {f}", f"metadata {f}")
        latency(f"frame {f}", f"frame {f}")
        rate(f"frames_per_s {f}", f"frames/s {f} sequential")
        rate(f"frames_per_s_4 {f}", f"frames/s {f} 4 clients")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="frame requests per file")
    parser.add_argument("--stow", type=int, default=100, help="instances stored, one per request")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if not in_private_namespace():
        reexec_in_namespace()
    from dicomweb_client.api import DICOMwebClient

    scratch = Path(tempfile.mkdtemp(prefix="radloop-bench-dicomweb-"))
    services = Services(scratch, args.workers, args.threads)
    try:
        services.start()
        token = services.token()
        ours = measure(
            "ours",
            lambda: DICOMwebClient(
                url=f"http://127.0.0.1:{OURS_PORT}/dicomweb",
                headers={"Authorization": f"Token {token}"},
            ),
            args,
        )
        orthanc = measure(
            "orthanc",
            lambda: DICOMwebClient(url=f"http://127.0.0.1:{ORTHANC_PORT}/dicom-web"),
            args,
        )
    finally:
        services.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    load = os.getloadavg()[0]
    print(
        f"DICOMweb benchmark: {args.requests} frame requests per file, gunicorn "
        f"{args.workers}x{args.threads} gthread vs Orthanc 1.10 + DICOMweb 1.7; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(report(ours, orthanc, args))
    fps = ours["frames_per_s_4_all"] / orthanc["frames_per_s_4_all"]
    p50 = p(ours["frames_seq_all"], 0.5) / p(orthanc["frames_seq_all"], 0.5)
    stow = ours["stow_per_s"] / orthanc["stow_per_s"]
    print(f"frames_per_s_ratio={fps:.2f} frame_p50_ratio={p50:.2f} stow_ratio={stow:.2f}")


if __name__ == "__main__":
    main()
