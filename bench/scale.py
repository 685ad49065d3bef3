"""Scale benchmark: an archive's index, a department's queue and a 100,000-image pool.

1. Creates a throw-away PostgreSQL database (or uses --database-url), runs the migrations, and
   bulk-loads synthetic index rows with INSERT ... SELECT generate_series (server side, no row
   goes through Python): --instances instances in series of 4, 2.5 series per study, 1.6
   studies per patient (patients named from a skewed list of common surnames, 8% in mixed case,
   1% without a name; study dates over 19 years; one modality per study: CR 30%, CT 22%, MR 14%,
   DX 12%, US 10%, MG 6%, PT 3%, NM 3%; 3% without an accession number). A few real DICOM files
   (--dicom-dir, default the shared MR series) are ingested through the product's ingest and
   their bytes shared by every synthetic instance (each row keeps its own sha256, so the frame
   cache decodes each row once, as it would distinct files).
   Then a classification project with --items items and queue state: 5% completed (each with a
   closed lease, a submission and a current class annotation by one of 100 doctors over the last
   year), 150 open leases of other doctors, 100 lapsed open leases; 50 annotator accounts
   with API tokens, an admin, a superuser. VACUUM ANALYZE (a live database has planner
   statistics and a visibility map; autovacuum keeps them).
2. Measures through the real Django stack (django.test.Client: URL routing, middleware, token
   authentication, the real views), --requests requests each:
   - QIDO-RS /dicomweb/studies by PatientName prefix with wildcard (SMI*, gar*, ...), by a
     30-day StudyDate range, by ModalitiesInStudy; limit=50 and offsets 0..150 (order by pk);
   - queue next -> save annotation -> submit by 50 doctors over HTTP against a real gunicorn
     server on 127.0.0.1 serving this database (--workers x --threads gthread; the driver of
     bench/queue.py, bench/doctors_http.py): each doctor a thread with its own keep-alive
     session and token, --rounds reads each, --think-ms between next and submit;
   - the dashboard (GET /api/v1/projects/{id}/dashboard) as the project admin.
3. Scores a --pool item project with the product's scoring job (ml_worker.jobs.score
   .score_with_version: chunked loading through the frame cache, a small CNN, Score rows and
   priorities written in batches) in a child process; wall time and the child's peak RSS
   (getrusage RUSAGE_CHILDREN ru_maxrss).

--explain prints EXPLAIN (ANALYZE, BUFFERS) of the slowest SQL statement of one request of each
kind (data-modifying statements rolled back). --quick: small N for CI (says so in its output).

Last line:
    qido_p95_ms=X next_p95_ms=Y dashboard_p95_ms=Z score_100k_s=S score_peak_rss_mb=M
(score_100k_s is the pool's scoring time scaled to 100,000 items when --pool is not 100,000;
the line before it says which pool was scored.)

Usage: python bench/scale.py [--instances 1000000] [--items 1000000] [--pool 100000] [--quick]
       [--requests 200] [--explain] [--database-url URL | --admin-url URL] [--keep]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds queue.py, which would shadow the standard library's `queue` (sys.path[0]).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # bench/doctors_http.py, shared with bench/queue.py
from bench.doctors_http import THREADS, WORKERS  # noqa: E402

DEFAULT_DICOM = REPO.parent / "shared" / "data" / "dicom" / "mr_brain_t1_mprage_philips_ingenia"
TEMPLATE_FILES = 8
DOCTORS = 50
TARGETS = {"qido": 100.0, "next": 50.0, "dashboard": 500.0}
UID_ROOT = "1.2.826.0.1.3680043.10.1011"  # + .level.row: synthetic, never a real object's UID


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = _words("""
SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ
GONZALEZ WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS
SANCHEZ CLARK RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN HILL
FLORES GREEN ADAMS NELSON BAKER HALL RIVERA CAMPBELL MITCHELL CARTER ROBERTS MULLER SCHMIDT
SCHNEIDER FISCHER WEBER MEYER WAGNER BECKER SCHULZ HOFFMANN DUPONT DURAND LEROY MOREAU SIMON
LAURENT LEFEBVRE MICHEL ROSSI RUSSO FERRARI ESPOSITO BIANCHI ROMANO COLOMBO IVANOV SMIRNOV
KUZNETSOV POPOV SOKOLOV NOVAK HORVAT KOWALSKI NOWAK WISNIEWSKI SMITHSON SMITHERS SMIDT
SMILEY JANSEN DEJONG DEVRIES VANDENBERG BAKKER VISSER SILVA SANTOS OLIVEIRA SOUZA PEREIRA
COSTA KIM PARK CHOI WANG ZHANG LIU CHEN YANG SATO SUZUKI TAKAHASHI TANAKA
""")
GIVEN = _words("""
JAMES MARY ROBERT PATRICIA JOHN JENNIFER MICHAEL LINDA DAVID ELIZABETH WILLIAM BARBARA
RICHARD SUSAN JOSEPH JESSICA THOMAS SARAH CHARLES KAREN ANNA MARIA JOSE LUIS ANA PETER HANS
ELENA IVAN OLGA WEI MIN YUKI HIROSHI SOFIA LUCAS EMMA NOAH OLIVIA LIAM
""")
# Modality of study t: a fixed pseudo-random percentile of t (the same for its series).
_PCT = "((({t}) * 7919 + 13) %% 100)"  # %% : psycopg parameter syntax
_MODALITY = (
    "CASE WHEN {p} < 30 THEN 'CR' WHEN {p} < 52 THEN 'CT' WHEN {p} < 66 THEN 'MR' "
    "WHEN {p} < 78 THEN 'DX' WHEN {p} < 88 THEN 'US' WHEN {p} < 94 THEN 'MG' "
    "WHEN {p} < 97 THEN 'PT' ELSE 'NM' END"
)
QIDO_NAMES = ("SMI*", "gar*", "Mil*", "KOW*", "SCH*", "WANG*", "le*", "BRO*")
QIDO_MODALITIES = ("CT", "MR", "US", "MG", "PT", "CR\\DX")


def modality_sql(t: str) -> str:
    return _MODALITY.format(p=_PCT.format(t=t))


def database_url(admin_url: str, name: str) -> str:
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def admin_sql(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def configure_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path[:0] = [str(REPO / "platform"), str(REPO)]
    import django

    django.setup()


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# -- seeding ------------------------------------------------------------------------------------


def ingest_templates(dicom_dir: Path) -> list[int]:
    """A few real files through the product's ingest: their bytes back every synthetic row."""
    from studies.ingest import ingest_bytes

    files = sorted(p for p in dicom_dir.rglob("*") if p.is_file() and p.suffix.lower() == ".dcm")
    if not files:
        files = sorted(p for p in dicom_dir.rglob("*") if p.is_file() and p.name != "README.md")
    step = max(1, len(files) // TEMPLATE_FILES)
    ids = []
    for path in files[::step][:TEMPLATE_FILES]:
        outcome = ingest_bytes(path.read_bytes(), source_name=path.name)
        if outcome.instance is not None:
            ids.append(outcome.instance.pk)
    if not ids:
        raise SystemExit(f"no DICOM file in {dicom_dir} could be ingested")
    return ids


def _next_id(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # noqa: S608
    return int(cursor.fetchone()[0])


def _reset_sequences(cursor: Any, tables: list[str]) -> None:
    for table in tables:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )


def seed_index(cursor: Any, instances: int, templates: list[int]) -> dict[str, int]:
    """Patients, studies, series, instances: server-side INSERT ... SELECT generate_series."""
    n_series = max(1, instances // 4)
    n_studies = max(1, n_series * 2 // 5)
    n_patients = max(1, n_studies * 5 // 8)
    bases = {
        t: _next_id(cursor, f"studies_{t}") for t in ("patient", "study", "series", "instance")
    }
    cursor.execute("SELECT setseed(0.18)")
    cursor.execute(
        """
        INSERT INTO studies_patient (id, patient_id, issuer, patient_name, birth_date, sex,
                                     created_at)
        SELECT %(base)s + g, 'PID' || lpad(g::text, 9, '0'), '',
               CASE WHEN r < 0.01 THEN ''
                    WHEN r < 0.09 THEN initcap(s) || '^' || initcap(f)
                    ELSE s || '^' || f END,
               to_char(date '1925-01-01' + (random() * 36000)::int, 'YYYYMMDD'),
               CASE WHEN random() < 0.5 THEN 'F' ELSE 'M' END, now()
        FROM (SELECT g, random() AS r,
                     (%(surnames)s::text[])[1 + floor(power(random(), 1.6) * %(ns)s)::int] AS s,
                     (%(given)s::text[])[1 + floor(random() * %(ng)s)::int] AS f
              FROM generate_series(0, %(n)s - 1) g) AS rows
        """,
        {
            "base": bases["patient"],
            "n": n_patients,
            "surnames": list(SURNAMES),
            "ns": len(SURNAMES),
            "given": list(GIVEN),
            "ng": len(GIVEN),
        },
    )
    cursor.execute(
        f"""
        INSERT INTO studies_study (id, study_instance_uid, study_id, study_date, study_time,
            accession_number, description, referring_physician, modalities, created_at, patient_id)
        SELECT %(base)s + g, '{UID_ROOT}.1.' || g, (g %% 100000)::text,
               to_char(date '2007-01-01' + (random() * 7000)::int, 'YYYYMMDD'),
               to_char(time '07:00' + random() * interval '13 hours', 'HH24MISS'),
               CASE WHEN random() < 0.03 THEN '' ELSE 'ACC' || lpad((g * 37 %% %(n)s)::text, 9, '0')
               END,
               m || ' examination', CASE WHEN random() < 0.3 THEN '' ELSE 'DR^WHO' END,
               m, now(), %(pbase)s + g * 5 / 8
        FROM (SELECT g, {modality_sql("g")} AS m FROM generate_series(0, %(n)s - 1) g) AS rows
        """,  # noqa: S608 (constants: UID root, modality CASE)
        {"base": bases["study"], "n": n_studies, "pbase": bases["patient"]},
    )
    cursor.execute(
        f"""
        INSERT INTO studies_series (id, series_instance_uid, modality, series_number, description,
            body_part, frame_of_reference_uid, created_at, study_id)
        SELECT %(base)s + g, '{UID_ROOT}.2.' || g, {modality_sql("(g * 2 / 5)")}, g %% 5 + 1,
               'series ' || (g %% 5 + 1), '', '', now(), %(sbase)s + g * 2 / 5
        FROM generate_series(0, %(n)s - 1) g
        """,  # noqa: S608 (constants: UID root, modality CASE)
        {"base": bases["series"], "n": n_series, "sbase": bases["study"]},
    )
    cursor.execute(
        """
        CREATE TEMP TABLE bench_template ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY id) - 1 AS k, * FROM studies_instance
        WHERE id = ANY(%s)
        """,
        [templates],
    )
    cursor.execute(
        f"""
        INSERT INTO studies_instance (id, sop_instance_uid, sop_class_uid, instance_number,
            transfer_syntax_uid, rows, columns, number_of_frames, samples_per_pixel,
            bits_allocated, bits_stored, pixel_representation, photometric_interpretation,
            window_center, window_width, rescale_slope, rescale_intercept, pixel_spacing,
            image_position, image_orientation, burned_in_annotation, frame_offsets, source,
            storage_key, sha256, size_bytes, created_at, series_id, deidentified,
            planar_configuration, received_sha256)
        SELECT %(base)s + g, '{UID_ROOT}.3.' || g, t.sop_class_uid, g %% 4 + 1,
               t.transfer_syntax_uid, t.rows, t.columns, t.number_of_frames, t.samples_per_pixel,
               t.bits_allocated, t.bits_stored, t.pixel_representation,
               t.photometric_interpretation, t.window_center, t.window_width, t.rescale_slope,
               t.rescale_intercept, t.pixel_spacing, t.image_position, t.image_orientation,
               t.burned_in_annotation, t.frame_offsets, t.source, t.storage_key,
               lpad(to_hex(g), 64, 'f'), t.size_bytes, now(), %(sbase)s + g / 4, false,
               t.planar_configuration, ''
        FROM generate_series(0, %(n)s - 1) g JOIN bench_template t ON t.k = g %% %(k)s
        """,  # noqa: S608 (constants: UID root, modality CASE)
        {"base": bases["instance"], "n": instances, "sbase": bases["series"], "k": len(templates)},
    )
    _reset_sequences(cursor, [f"studies_{t}" for t in ("patient", "study", "series", "instance")])
    return {
        "instance_base": bases["instance"],
        "patients": n_patients,
        "studies": n_studies,
        "series": n_series,
    }


def seed_queue(
    cursor: Any,
    project_id: int,
    items: int,
    instances: int,
    instance_base: int,
    doctor_ids: list[int],
    other_ids: list[int],
) -> None:
    """Items over the instances (frames 2, 3... when there are more items than instances) and
    their history: 5% completed with a closed lease, a submission and a current annotation."""
    readers = doctor_ids + other_ids
    base = _next_id(cursor, "annotations_item")
    cursor.execute(
        """
        INSERT INTO annotations_item (id, frame, patient_key, split, priority, reads_done,
            completed, created_at, instance_id, series_id, project_id, lease_expires_at,
            review_reason, review_state, served_at_random)
        SELECT %(base)s + g, 1 + g / %(ni)s,
               'PID' || lpad((((g %% %(ni)s) / 4 * 2 / 5) * 5 / 8)::text, 9, '0'),
               '', random(), CASE WHEN g %% 20 = 0 THEN 1 ELSE 0 END, g %% 20 = 0,
               now() - interval '400 days', %(ibase)s + g %% %(ni)s, NULL, %(project)s,
               CASE WHEN g %% 20 = 0 THEN now() - interval '1 day'
                    WHEN g %% 20 = 1 AND g / 20 < 150 THEN now() + interval '10 minutes'
                    WHEN g %% 20 = 1 AND g / 20 < 250 THEN now() - interval '1 minute' END,
               '', '', false
        FROM generate_series(0, %(n)s - 1) g
        """,
        {"base": base, "ni": instances, "n": items, "ibase": instance_base, "project": project_id},
    )
    # History of the completed items: one reader each, spread over the last year.
    cursor.execute(
        """
        CREATE TEMP TABLE bench_done ON COMMIT DROP AS
        SELECT id, (%(readers)s::int[])[1 + (id %% %(nr)s)::int] AS user_id,
               now() - (id %% 365) * interval '1 day' - random() * interval '8 hours' AS at,
               (2000 + random() * 58000)::int AS spent
        FROM annotations_item WHERE project_id = %(project)s AND completed
        """,
        {"readers": readers, "nr": len(readers), "project": project_id},
    )
    cursor.execute(
        """
        INSERT INTO annotations_lease (created_at, expires_at, closed_at, outcome, item_id, user_id)
        SELECT at - spent * interval '1 millisecond', at + interval '10 minutes', at,
               'submitted', id, user_id FROM bench_done
        """
    )
    cursor.execute(
        """
        INSERT INTO annotations_submission (time_spent_ms, created_at, item_id, user_id,
                                            request_key, box_edits, project_id)
        SELECT spent, at, id, user_id, '', NULL, %(project)s FROM bench_done
        """,
        {"project": project_id},
    )
    cursor.execute(
        """
        INSERT INTO annotations_annotation (uid, version, source, kind, payload, frame,
            is_current, deleted, time_spent_ms, created_at, author_id, item_id, provenance)
        SELECT md5(id::text || 'a')::uuid, 1, 'human', 'class',
               jsonb_build_object('labels', jsonb_build_array(
                   CASE WHEN id % 3 = 0 THEN 'normal' ELSE 'pneumonia' END)),
               1, true, false, spent, at, user_id, id, NULL
        FROM bench_done
        """
    )
    # Open leases of doctors outside the bench: 150 current, 100 lapsed (the next claimer closes).
    cursor.execute(
        """
        INSERT INTO annotations_lease (created_at, expires_at, closed_at, outcome, item_id, user_id)
        SELECT lease_expires_at - interval '10 minutes', lease_expires_at, NULL, '', id,
               (%(others)s::int[])[1 + (id %% %(no)s)::int]
        FROM annotations_item
        WHERE project_id = %(project)s AND NOT completed AND lease_expires_at IS NOT NULL
        """,
        {"others": other_ids, "no": len(other_ids), "project": project_id},
    )
    _reset_sequences(cursor, ["annotations_item"])


def seed(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from rest_framework.authtoken.models import Token

    from annotations.models import LabelClass, Membership, Project

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    migrated = time.monotonic()
    templates = ingest_templates(Path(args.dicom_dir))
    users = get_user_model().objects
    with transaction.atomic():
        # retrain_every=0: submits request no training run (nothing leaves for Celery).
        project = Project.objects.create(
            name="Scale bench queue", task_type="classification", retrain_every=0
        )
        pool = Project.objects.create(
            name="Scale bench pool", task_type="classification", retrain_every=0
        )
        for p in (project, pool):
            for index, name in enumerate(("normal", "pneumonia")):
                LabelClass.objects.create(project=p, name=name, index=index)
        doctors, others, tokens = [], [], []
        for d in range(DOCTORS):
            user = users.create_user(f"doctor{d:03d}", password=None)
            Membership.objects.create(project=project, user=user, role="annotator")
            doctors.append(user.pk)
            tokens.append(Token.objects.create(user=user).key)
            other = users.create_user(f"reader{d:03d}", password=None)
            Membership.objects.create(project=project, user=other, role="annotator")
            others.append(other.pk)
        admin = users.create_user("bench-admin", password=None)
        Membership.objects.create(project=project, user=admin, role="admin")
        superuser = users.create_superuser("bench-archivist", password=None)
        with connection.cursor() as cursor:
            index = seed_index(cursor, args.instances, templates)
            seed_queue(
                cursor,
                project.pk,
                args.items,
                args.instances,
                index["instance_base"],
                doctors,
                others,
            )
            pool_items(cursor, pool.pk, args.pool, args.instances, index["instance_base"])
        version = pool_model(pool, data_dir)
        admin_token = Token.objects.create(user=admin).key
        super_token = Token.objects.create(user=superuser).key
    loaded = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # autocommit outside atomic(): VACUUM needs it
    analysed = time.monotonic()
    print(
        f"seeded {args.instances:,} instances ({index['series']:,} series, "
        f"{index['studies']:,} studies, {index['patients']:,} patients; bytes of "
        f"{len(templates)} real files), {args.items:,} queue items, {args.pool:,} pool items: "
        f"migrate {migrated - started:.1f} s, load {loaded - migrated:.1f} s, "
        f"VACUUM ANALYZE {analysed - loaded:.1f} s, total {analysed - started:.1f} s",
        flush=True,
    )
    return {
        "project": project.pk,
        "pool": pool.pk,
        "version": version,
        "tokens": tokens,
        "admin": admin_token,
        "super": super_token,
        "seed_s": analysed - started,
    }


def pool_items(cursor: Any, project_id: int, pool: int, instances: int, instance_base: int) -> None:
    cursor.execute(
        """
        INSERT INTO annotations_item (frame, patient_key, split, priority, reads_done, completed,
            created_at, instance_id, series_id, project_id, lease_expires_at, review_reason,
            review_state, served_at_random)
        SELECT 1 + g / %(ni)s, 'PID' || lpad((((g %% %(ni)s) / 4 * 2 / 5) * 5 / 8)::text, 9, '0'),
               '', random(), 0, false, now(), %(ibase)s + g %% %(ni)s, NULL, %(project)s, NULL,
               '', '', false
        FROM generate_series(0, %(n)s - 1) g
        """,
        {"ni": instances, "n": pool, "ibase": instance_base, "project": project_id},
    )


def pool_model(project: Any, data_dir: Path) -> int:
    """An active small-CNN version (seeded initial weights) to score the pool with: the
    figures are about the scoring path, not about what the model learnt."""
    import torch

    from learning.models import ModelStatus, ModelVersion
    from ml_worker.checkpoint import save_model
    from ml_worker.models import ModelSpec, build_model

    torch.manual_seed(0)
    spec = ModelSpec(num_classes=2, input_size=project.input_size)
    path = data_dir / "bench-model.pt"
    sha256 = save_model(path, build_model(spec), class_names=["normal", "pneumonia"])
    version = ModelVersion.objects.create(
        project=project,
        number=1,
        architecture=spec.architecture,
        config={"model": spec.to_dict()},
        checkpoint_path=str(path),
        checkpoint_sha256=sha256,
        status=ModelStatus.ACTIVE,
    )
    return int(version.pk)


# -- measuring ----------------------------------------------------------------------------------


def timed(call: Callable[[], Any], expect: int = 200) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != expect:
        raise RuntimeError(f"HTTP {response.status_code}: {response.content[:300]!r}")
    return elapsed


def qido_requests(n: int, rng: random.Random) -> dict[str, list[dict[str, str]]]:
    kinds: dict[str, list[dict[str, str]]] = defaultdict(list)
    for i in range(n):
        page = {"limit": "50", "offset": str(rng.choice((0, 0, 50, 100, 150)))}
        kinds["name"].append({"PatientName": QIDO_NAMES[i % len(QIDO_NAMES)], **page})
        start = 20070101 + 10000 * rng.randrange(19) + 100 * rng.randrange(12)
        kinds["date"].append({"StudyDate": f"{start}-{start + 100}", **page})
        kinds["modality"].append({"ModalitiesInStudy": QIDO_MODALITIES[i % 6], **page})
    return kinds


def measure_qido(token: str, n: int) -> dict[str, list[float]]:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    timings: dict[str, list[float]] = {}
    for kind, queries in qido_requests(n, random.Random(18)).items():
        timings[kind] = [
            timed(
                lambda q=q: client.get("/dicomweb/studies", q, HTTP_ACCEPT="application/dicom+json")
            )  # type: ignore[misc]
            for q in queries
        ]
    return timings


def measure_queue(
    env: dict[str, str],
    project: int,
    tokens: list[str],
    rounds: int,
    think_ms: float,
    workers: int,
    threads: int,
) -> dict[str, Any]:
    """next -> save -> submit by the 50 doctors over HTTP against a real gunicorn server on
    127.0.0.1 serving this database (bench/doctors_http.py, bench/queue.py's driver): the
    server's processes answer, so a doctor's wait is the server's and PostgreSQL's time, not
    the load generator's GIL (decision 0193)."""
    from bench.doctors_http import Load, free_port, start_server, wait_ready, warm_up

    port = free_port()
    # Persistent connections, as a deployment keeps them (docker/, DB_CONN_MAX_AGE).
    server = start_server({**os.environ, **env, "DB_CONN_MAX_AGE": "60"}, port, workers, threads)
    try:
        wait_ready(port, server)
        warm_up(port)
        # The rounds bound the run; the deadline only guards against a server that hangs.
        budget = 120 + rounds * think_ms * 2 / 1000
        load = Load(
            f"http://127.0.0.1:{port}", project, rounds, time.monotonic() + budget, think_ms
        )
        doctors = [threading.Thread(target=load.doctor, args=(t,)) for t in tokens]
        for t in doctors:
            t.start()
        for t in doctors:
            t.join(timeout=budget + 60)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return {"timings": load.timings, "failures": load.failures}


def measure_dashboard(project: int, token: str, n: int) -> list[float]:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    return [timed(lambda: client.get(f"/api/v1/projects/{project}/dashboard")) for _ in range(n)]


def explain_slowest(label: str, call: Callable[[], Any]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest statement one request ran (rolled back)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    statements = [
        q
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
    ]
    slowest = max(statements, key=lambda q: float(q["time"]))
    print(
        f"\n-- {label}: slowest of {len(captured)} statements ({float(slowest['time']) * 1000:.1f}"
        f" ms)\n{slowest['sql']}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
        print("\n".join(row[0] for row in cursor.fetchall()))
        transaction.set_rollback(True)


def explain_all(seeded: dict[str, Any]) -> None:
    from django.test import Client

    archivist = Client(HTTP_AUTHORIZATION=f"Token {seeded['super']}")
    for label, query in (
        ("QIDO PatientName=SMI*", {"PatientName": "SMI*", "limit": "50"}),
        ("QIDO StudyDate range", {"StudyDate": "20150301-20150401", "limit": "50"}),
        ("QIDO ModalitiesInStudy=MG", {"ModalitiesInStudy": "MG", "limit": "50", "offset": "150"}),
    ):
        explain_slowest(label, lambda q=query: archivist.get("/dicomweb/studies", q))  # type: ignore[misc]
    doctor = Client(HTTP_AUTHORIZATION=f"Token {seeded['tokens'][0]}")
    explain_slowest(
        "queue next",
        lambda: doctor.post(
            f"/api/v1/projects/{seeded['project']}/queue/next",
            {"count": 1},
            content_type="application/json",
        ),
    )
    admin = Client(HTTP_AUTHORIZATION=f"Token {seeded['admin']}")
    explain_slowest(
        "dashboard", lambda: admin.get(f"/api/v1/projects/{seeded['project']}/dashboard")
    )


def score_child(version_id: int) -> None:
    """Runs in the child process: the worker's scoring job, as the Celery task runs it."""
    import torch

    from ml_worker.jobs.score import score_with_version

    torch.set_num_threads(1)
    started = time.monotonic()
    outcome = score_with_version(version_id)
    assert outcome is not None
    print(f"scored={outcome.scored} seconds={time.monotonic() - started:.2f}", flush=True)


def measure_scoring(version_id: int, env: dict[str, str]) -> tuple[float, float, float, int]:
    """(job s, child wall s, child peak RSS MB, items scored) of scoring in a child process;
    job s is score_with_version's own time, without the child's start (imports)."""
    child_env = {**env, "OMP_NUM_THREADS": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--score-child", str(version_id)],
        env=child_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"scoring child failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    scored = int(done.stdout.split("scored=")[1].split()[0])
    job = float(done.stdout.split("seconds=")[1].split()[0])
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
    return job, wall, peak_kb / 1024, scored


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CI size: 4,000 instances and items, a 500-item pool, 20 requests",
    )
    parser.add_argument("--requests", type=int, default=200, help="per QIDO query kind")
    parser.add_argument("--dashboard-requests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4, help="reads per doctor")
    parser.add_argument("--think-ms", type=float, default=5000.0)
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per worker")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--dicom-dir", default=str(DEFAULT_DICOM))
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database-url", help="an existing, empty PostgreSQL database to use")
    parser.add_argument("--keep", action="store_true", help="keep the database created")
    parser.add_argument("--score-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.score_child is not None:
        configure_django({})
        score_child(args.score_child)
        return
    if args.quick:
        args.instances, args.items, args.pool = 4000, 4000, 500
        args.requests, args.dashboard_requests, args.rounds = 20, 10, 2
        args.think_ms = min(args.think_ms, 1000.0)
        print("--quick: CI size (4,000 instances and items, a 500-item pool), not the 1M figures")
    name = None
    if args.database_url:
        url = args.database_url
    else:
        name = f"radloop_scale_{os.getpid()}"
        admin_sql(args.admin_url, f'CREATE DATABASE "{name}"')
        url = database_url(args.admin_url, name)
    data_dir = Path(tempfile.mkdtemp(prefix="radloop-bench-scale-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": url,
        "RADLOOP_DATA_DIR": str(data_dir),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]),
    }
    try:
        configure_django(env)
        seeded = seed(args, data_dir)
        if args.explain:
            explain_all(seeded)
        qido = measure_qido(seeded["super"], args.requests)
        queue = measure_queue(
            env,
            seeded["project"],
            seeded["tokens"],
            args.rounds,
            args.think_ms,
            args.workers,
            args.threads,
        )
        dashboard = measure_dashboard(seeded["project"], seeded["admin"], args.dashboard_requests)
        from django.db import connections

        connections.close_all()
        score_s, child_s, peak_mb, scored = measure_scoring(
            seeded["version"], {**os.environ, **env}
        )

        load = os.getloadavg()
        print(
            f"\nscale bench: {args.instances:,} instances, {args.items:,} items, PostgreSQL, "
            f"{os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
        )
        print(f"{'request':<24}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'target p95':>12}")
        rows = [(f"qido {k}", v, TARGETS["qido"]) for k, v in qido.items()]
        rows += [
            ("queue next", queue["timings"]["next"], TARGETS["next"]),
            ("queue submit", queue["timings"]["submit"], None),
            ("dashboard", dashboard, TARGETS["dashboard"]),
        ]
        for label, values, target in rows:
            goal = f"< {target:.0f}" if target else "-"
            print(
                f"{label:<24}{len(values):>6}{percentile(values, 50):>10.1f}"
                f"{percentile(values, 95):>10.1f}{goal:>12}"
            )
        print(
            f"queue: {DOCTORS} doctors over HTTP (gunicorn {args.workers}x{args.threads} gthread "
            f"on 127.0.0.1), {args.rounds} reads each, think time {args.think_ms:.0f} ms, "
            f"errors {len(queue['failures'])} {queue['failures'][:3]}"
        )
        print(
            f"scoring: {scored:,} items in {score_s:.1f} s (score_with_version; the child "
            f"process with its start {child_s:.1f} s), peak RSS {peak_mb:.0f} MB"
            f"{'; score_100k_s scaled to 100,000 items' if scored != 100_000 else ''}"
        )
        qido_p95 = max(percentile(v, 95) for v in qido.values())
        next_p95 = percentile(queue["timings"]["next"], 95)
        print(
            f"qido_p95_ms={qido_p95:.1f} next_p95_ms={next_p95:.1f} "
            f"dashboard_p95_ms={percentile(dashboard, 95):.1f} "
            f"score_100k_s={score_s * 100_000 / max(1, scored):.1f} score_peak_rss_mb={peak_mb:.0f}"
        )
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(data_dir, ignore_errors=True)
        if name is not None and not args.keep:
            admin_sql(args.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
