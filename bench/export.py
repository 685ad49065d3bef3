"""Export benchmark: a generated 10,000-item project exported in a child process.

1. Generate: N small grey Secondary Capture images (uint8, --size square) of N/4 patients,
   written as real DICOM files into the product's content-addressed storage and indexed straight
   into the database with bulk inserts (Patient/Study/Series/Instance/Item rows), each with an
   imported class label; a tenth of the items also carry a box (COCO gets annotations).
2. Export: `manage.py export_dataset` runs in a child process (freeze the snapshot, write the
   chosen formats into one zip). Wall time is measured around it; peak memory is that process's
   ru_maxrss, read with os.wait4.

It uses a throw-away data folder and, unless --database-url is given, a throw-away SQLite
database, so it never touches anyone's data. Target: peak RSS < 500 MB.

Usage: python bench/export.py [--items 10000] [--size 32] [--formats csv,json,...]
       [--database-url postgres://...]   (the database must exist and be empty or disposable)
Last line: items=N seconds=S peak_rss_mb=M
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds queue.py (another benchmark); as the script's folder it would shadow the
# standard library's queue module that Django's asgiref imports.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import hashlib
import os
import subprocess
import tempfile
import time
import zipfile
from io import BytesIO

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FORMATS = "csv,json,imagefolder,coco,nifti,monai"
TARGET_RSS_MB = 500


def django_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "RADLOOP_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]),
            "DEBUG": "0",
            "SECRET_KEY": "bench-only",
        }
    )
    return env


def generate(items: int, size: int) -> None:
    """Runs inside the bench's Django environment (see main)."""
    import numpy as np
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    from annotations.models import Annotation, Item, LabelClass, Project
    from studies.frames import compute_frame_offsets
    from studies.models import Instance, Patient, Series, Study
    from studies.storage import get_store

    project = Project.objects.create(name="Export bench", task_type="classification")
    for index, name in enumerate(("normal", "pneumonia")):
        LabelClass.objects.create(project=project, name=name, index=index)
    rng = np.random.default_rng(0)
    store = get_store()
    patients = Patient.objects.bulk_create(
        [Patient(patient_id=f"BENCH-{p:05d}") for p in range((items + 3) // 4)]
    )
    studies = Study.objects.bulk_create(
        [Study(study_instance_uid=generate_uid(), patient=p, modalities="OT") for p in patients]
    )
    series = Series.objects.bulk_create(
        [Series(series_instance_uid=generate_uid(), study=s, modality="OT") for s in studies]
    )
    template = pydicom.Dataset()
    template.file_meta = FileMetaDataset()
    template.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    template.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    template.SOPClassUID = SecondaryCaptureImageStorage
    template.Modality, template.BurnedInAnnotation = "OT", "NO"
    template.Rows = template.Columns = size
    template.SamplesPerPixel, template.PhotometricInterpretation = 1, "MONOCHROME2"
    template.BitsAllocated, template.BitsStored, template.HighBit = 8, 8, 7
    template.PixelRepresentation = 0
    instances = []
    for index in range(items):
        owner = series[index // 4]
        template.file_meta.MediaStorageSOPInstanceUID = template.SOPInstanceUID = generate_uid()
        template.StudyInstanceUID = owner.study.study_instance_uid
        template.SeriesInstanceUID = owner.series_instance_uid
        template.PatientID = template.PatientName = owner.study.patient.patient_id
        template.PixelData = rng.integers(0, 255, (size, size), dtype=np.uint8).tobytes()
        buffer = BytesIO()
        template.save_as(buffer, enforce_file_format=True)
        data = buffer.getvalue()
        instances.append(
            Instance(
                sop_instance_uid=template.SOPInstanceUID,
                sop_class_uid=SecondaryCaptureImageStorage,
                series=owner,
                transfer_syntax_uid=ExplicitVRLittleEndian,
                rows=size,
                columns=size,
                samples_per_pixel=1,
                bits_allocated=8,
                bits_stored=8,
                pixel_representation=0,
                photometric_interpretation="MONOCHROME2",
                burned_in_annotation="NO",
                frame_offsets=compute_frame_offsets(data),
                storage_key=store.put(data),
                sha256=hashlib.sha256(data).hexdigest(),
                size_bytes=len(data),
            )
        )
    instances = Instance.objects.bulk_create(instances, batch_size=1000)
    made = Item.objects.bulk_create(
        [
            Item(project=project, instance=i, patient_key=i.series.study.patient.patient_id)
            for i in instances
        ],
        batch_size=1000,
    )
    labels = []
    for index, item in enumerate(made):
        name = "pneumonia" if index % 3 == 0 else "normal"
        labels.append(
            Annotation(item=item, kind="class", payload={"labels": [name]}, source="imported")
        )
        if index % 10 == 0:
            box = {"label": name, "points": [[2, 3], [size - 4, size - 2]]}
            labels.append(Annotation(item=item, kind="box", payload=box, source="imported"))
    Annotation.objects.bulk_create(labels, batch_size=2000)
    print(project.pk)


def run_child(command: list[str], env: dict[str, str]) -> tuple[int, float, float, str]:
    """(returncode, seconds, peak RSS in MB, output) of one child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=output, stderr=output)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read().decode(errors="replace")
    return os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss / 1024, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--formats", default=DEFAULT_FORMATS)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--generate-only", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--keep", default="", help="copy the generated data folder here")
    args = parser.parse_args()
    if args.generate_only:  # the child that fills the database
        import django

        sys.path[:0] = [str(REPO / "platform"), str(REPO)]
        django.setup()
        generate(args.items, args.size)
        return 0

    with tempfile.TemporaryDirectory(prefix="radloop-export-bench-") as tmp:
        data_dir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}"
        env = django_env(data_dir, database_url)
        python = sys.executable
        manage = str(REPO / "manage.py")
        code, seconds, _rss, text = run_child([python, manage, "migrate", "-v", "0"], env)
        if code:
            print(text)
            return code
        code, gen_seconds, _gen_rss, text = run_child(
            [
                python,
                __file__,
                "--items",
                str(args.items),
                "--size",
                str(args.size),
                "--generate-only",
                "1",
            ],
            env,
        )
        if code:
            print(text)
            return code
        project_id = text.strip().splitlines()[-1]
        print(f"generated {args.items} items ({args.size}x{args.size}) in {gen_seconds:.1f} s")
        archive = data_dir / "export.zip"
        code, seconds, peak_mb, text = run_child(
            [
                python,
                manage,
                "export_dataset",
                "--project",
                project_id,
                "--formats",
                args.formats,
                "--out",
                str(archive),
                "--no-progress",
            ],
            env,
        )
        if code:
            print(text)
            return code
        with zipfile.ZipFile(archive) as zf:
            entries = len(zf.namelist())
        size_mb = archive.stat().st_size / 1e6
        print(f"formats: {args.formats}")
        print(f"{'measure':<28}{'Radloop export':>16}{'target':>10}")
        print(f"{'items':<28}{args.items:>16}{'':>10}")
        print(f"{'wall time (s)':<28}{seconds:>16.1f}{'':>10}")
        print(f"{'items per second':<28}{args.items / seconds:>16.1f}{'':>10}")
        print(f"{'peak RSS of export (MB)':<28}{peak_mb:>16.1f}{TARGET_RSS_MB:>10}")
        print(f"{'archive (MB, entries)':<28}{f'{size_mb:.1f}, {entries}':>16}{'':>10}")
        print(f"items={args.items} seconds={seconds:.1f} peak_rss_mb={peak_mb:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
