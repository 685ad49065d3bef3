"""DICOMweb benchmark: our server and Orthanc side by side, on the same files, in one run.

Everything runs inside one private network namespace (`unshare -n`, loopback only; the script
re-executes itself there): a private Redis, Orthanc 1.10 with its DICOMweb plugin, and our real
application under gunicorn (gthread, DEBUG off, PostgreSQL over its Unix socket, persistent DB
connections). Both are driven by the same client, dicomweb-client, with the same requests
(notes/stack-and-orthanc.md §8 method):

  STOW-RS  --stow synthetic copies of CT_small (new UIDs), one instance per request, from one
           client; then as many again from 4 client processes at once (a department's
           modalities and routers sending together: the rate a 2-core box sustains)
  QIDO-RS  all studies; one study by UID
  WADO-RS  instance metadata; frame 1 as application/octet-stream (--requests sequential, then
           4 x --requests from 4 client processes at once, one keep-alive connection each),
           for CT_small and MR_small

The two servers are measured in alternating blocks (10 STOWs, 5 searches or metadata requests,
20 frames, a quarter of the 4-client requests), the order flipping every block, so that the load of
anything else on the machine falls on both alike.

Prints p50/p95 and rates per server with ours/Orthanc ratios, then the machine-readable line
    frames_per_s_ratio=R frame_p50_ratio=R stow_ratio=R
(frames/s: all frame requests of the 4-client run; p50: sequential frame requests; stow: the
one-client STOW rate, as before the 4-client row was added; ours divided by Orthanc's).
Request counts are bounded by the options; nothing loops on time.

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
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from io import BytesIO  # noqa: E402
from typing import Any  # noqa: E402

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
        # RADLOOP_BENCH_DB: a name of the caller's choosing (a shared machine's naming rules).
        self.db_name = os.environ.get("RADLOOP_BENCH_DB") or f"radloop_bench_dicomweb_{os.getpid()}"
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


Client = Any  # dicomweb_client's DICOMwebClient, imported late (inside the namespace)
SERVERS = ("ours", "orthanc")


def turns(index: int) -> tuple[str, ...]:
    """Which server goes first in block `index`: alternating, so that neither always runs
    first after a pause or always shares the machine with the same background load."""
    return SERVERS if index % 2 == 0 else SERVERS[::-1]


def interleaved(
    calls: dict[str, Callable[[], object]], count: int, block: int
) -> dict[str, list[float]]:
    """Time `count` calls per server, `block` calls to one server and then `block` to the other,
    so both are measured under the same (shared, noisy) machine load."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for index in range((count + block - 1) // block):
        n = min(block, count - index * block)
        for name in turns(index):
            for _ in range(n):
                start = time.perf_counter()
                calls[name]()
                samples[name].append(time.perf_counter() - start)
    return samples


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _bytes(ds: Any) -> bytes:
    out = BytesIO()
    ds.save_as(out)
    return out.getvalue()


def _stow_copies(template: Any, count: int) -> list[Any]:
    import pydicom
    from pydicom.uid import generate_uid

    copies = []
    for _ in range(count):
        copy = pydicom.dcmread(BytesIO(_bytes(template)))
        copy.StudyInstanceUID, copy.SeriesInstanceUID = generate_uid(), generate_uid()
        copy.SOPInstanceUID = copy.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        copies.append(copy)
    return copies


def _frame_call(client: Client, ds: Any) -> Callable[[], None]:
    uids = (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    size = ds.Rows * ds.Columns * ds.BitsAllocated // 8

    def frame() -> None:
        (data,) = client.retrieve_instance_frames(*uids, [1], media_types=OCTET)
        assert len(data) == size

    return frame


def _client_process(
    make_client: Callable[[], Client],
    make_call: Callable[[Client], Callable[[], object]],
    count: int,
    barrier: Any,
    out: Any,
) -> None:
    call = make_call(make_client())
    call()  # connect before the clock starts
    barrier.wait()
    start = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
    for _ in range(count):
        call()
    out.put((start, time.perf_counter()))


def concurrent(
    make_client: Callable[[], Client],
    make_calls: list[Callable[[Client], Callable[[], object]]],
    per_client: int,
) -> tuple[int, float]:
    """`per_client` requests (after one to connect) from each of 4 client processes at once,
    each with its own keep-alive connection and its own `make_calls[i]`; returns (requests,
    seconds from the first start to the last end).

    Processes, not threads: 4 threads of one Python client share its GIL, and that (not the
    server) then caps the rate at about what one client process can parse.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(4), context.SimpleQueue()
    workers = [
        context.Process(
            target=_client_process, args=(make_client, make_call, per_client, barrier, out)
        )
        for make_call in make_calls
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    if any(worker.exitcode != 0 for worker in workers):
        raise RuntimeError(f"a client process failed: {[w.exitcode for w in workers]}")
    spans = [out.get() for _ in workers]
    return per_client * len(workers), max(e for _, e in spans) - min(s for s, _ in spans)


def _frames_from(ds: Any) -> list[Callable[[Client], Callable[[], object]]]:
    return [lambda client: _frame_call(client, ds)] * 4


def _stores_from(copies: list[Any]) -> list[Callable[[Client], Callable[[], object]]]:
    """Four clients, each storing its own quarter of `copies` one instance per request."""
    quarter = len(copies) // 4

    def make(mine: list[Any]) -> Callable[[Client], Callable[[], object]]:
        def bind(client: Client) -> Callable[[], object]:
            pending = iter(mine)
            return lambda: client.store_instances([next(pending)])

        return bind

    return [make(copies[i * quarter : (i + 1) * quarter]) for i in range(4)]


def measure(make_client: dict[str, Callable[[], Client]], args: argparse.Namespace) -> dict:
    """Every measurement for both servers, interleaved block by block (see `interleaved`)."""
    import pydicom

    client = {name: make() for name, make in make_client.items()}
    results: dict[str, dict[str, Any]] = {name: {} for name in client}
    datasets = {f: pydicom.dcmread(pydicom.data.get_testdata_file(f)) for f in FILES}
    for name in SERVERS:
        for ds in datasets.values():
            client[name].store_instances([ds])

    copies = _stow_copies(datasets["CT_small.dcm"], args.stow)
    pending = {name: iter(copies) for name in SERVERS}
    stow = interleaved(
        {
            name: lambda name=name: client[name].store_instances([next(pending[name])])
            for name in SERVERS
        },
        args.stow,
        block=10,
    )
    # The same number of new instances from 4 client processes at once (as a department's
    # modalities and routers send): short alternating rounds, as for the frames below.
    stow_rounds = 4
    stow_per_client = max(1, args.stow // (4 * stow_rounds))
    stow_4: dict[str, list[tuple[int, float]]] = {name: [] for name in SERVERS}
    for index in range(stow_rounds):
        for name in turns(index):
            batch = _stow_copies(datasets["CT_small.dcm"], 4 * (stow_per_client + 1))
            stow_4[name].append(concurrent(make_client[name], _stores_from(batch), stow_per_client))
    ct = datasets["CT_small.dcm"]
    qido_all = interleaved(
        {name: client[name].search_for_studies for name in SERVERS},
        25,
        block=5,
    )
    qido_uid = interleaved(
        {
            name: lambda name=name: client[name].search_for_studies(
                search_filters={"StudyInstanceUID": ct.StudyInstanceUID}
            )
            for name in SERVERS
        },
        25,
        block=5,
    )
    for name in SERVERS:
        results[name].update(
            stow_per_s=args.stow / sum(stow[name]),
            stow_per_s_4=sum(n for n, _ in stow_4[name]) / sum(t for _, t in stow_4[name]),
            qido_all=qido_all[name],
            qido_uid=qido_uid[name],
            frames_seq_all=[],
            frames_4_count=0,
            frames_4_seconds=0.0,
        )

    rounds = 8  # short rounds, so a burst of outside load hits both servers alike
    per_client = max(1, args.requests // rounds)  # 4 clients: 4 x --requests in all
    for file_name, ds in datasets.items():
        uids = (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        meta = interleaved(
            {
                name: lambda name=name, uids=uids: client[name].retrieve_instance_metadata(*uids)
                for name in SERVERS
            },
            25,
            block=5,
        )
        frame = {name: _frame_call(client[name], ds) for name in SERVERS}
        for name in SERVERS:
            for _ in range(5):
                frame[name]()  # warm-up: caches, connection, lazy imports
            # Warm every server process and connection too: gunicorn workers import the
            # URLconf (and with it pydicom and numpy) on their first request.
            concurrent(make_client[name], _frames_from(ds), 10)
        seq = interleaved(frame, args.requests, block=20)
        four: dict[str, list[tuple[int, float]]] = {name: [] for name in SERVERS}
        for index in range(rounds):
            for name in turns(index):
                four[name].append(concurrent(make_client[name], _frames_from(ds), per_client))
        for name in SERVERS:
            count = sum(n for n, _ in four[name])
            seconds = sum(t for _, t in four[name])
            results[name][f"meta {file_name}"] = meta[name]
            results[name][f"frame {file_name}"] = seq[name]
            results[name][f"frames_per_s {file_name}"] = len(seq[name]) / sum(seq[name])
            results[name][f"frames_per_s_4 {file_name}"] = count / seconds
            results[name]["frames_seq_all"] += seq[name]
            results[name]["frames_4_count"] += count
            results[name]["frames_4_seconds"] += seconds
    for name in SERVERS:
        results[name]["frames_per_s_4_all"] = float(results[name]["frames_4_count"]) / float(
            results[name]["frames_4_seconds"]
        )
    print("measured both", file=sys.stderr)
    return results


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
    rate("stow_per_s_4", "STOW-RS instances/s 4 clients")
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
        results = measure(
            {
                "ours": lambda: DICOMwebClient(
                    url=f"http://127.0.0.1:{OURS_PORT}/dicomweb",
                    headers={"Authorization": f"Token {token}"},
                ),
                "orthanc": lambda: DICOMwebClient(url=f"http://127.0.0.1:{ORTHANC_PORT}/dicom-web"),
            },
            args,
        )
        ours, orthanc = results["ours"], results["orthanc"]
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
