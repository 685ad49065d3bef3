"""Re-key items to the one patient-key rule (annotations.items.patient_key; decision 0910).

Before, ingest keyed a patient as `patient_id or "patient-<pk>"` and the attach API as
`"<issuer>/<patient_id>"` (or "" without a Patient ID), so a patient reached by both paths had
two keys. What this migration does, per project:

- every item's key is recomputed from its patient: the DICOM Patient ID, or "patient-<pk>" for
  a Patient row without one;
- items are grouped by the new key. A group whose items already carry at most one split (train,
  val or test; unassigned items carry none) is re-keyed: only the rows whose key differs are
  written. A group whose items carry two or more splits is left exactly as it was, so no item's
  split moves and no test split changes;
- `Item.split` is never written. Items with an assigned split keep it; unassigned items of a
  re-keyed group later join that group's one split, as items of a known patient always do.

Items without an image behind them are left alone. Reversing does nothing (the old keys are
not needed by anything).
"""

from collections import defaultdict

from django.db import migrations


def _new_key(patient_id: str | None, patient_pk: int | None) -> str | None:
    if patient_pk is None:
        return None
    return patient_id or f"patient-{patient_pk}"


def unify_patient_keys(apps, schema_editor):
    Item = apps.get_model("annotations", "Item")
    rows = Item.objects.values_list(
        "pk",
        "project_id",
        "patient_key",
        "split",
        "instance__series__study__patient_id",
        "instance__series__study__patient__patient_id",
        "series__study__patient_id",
        "series__study__patient__patient_id",
    ).order_by("pk")
    groups = defaultdict(list)  # (project, new key) -> [(item pk, old key, split)]
    for pk, project, old, split, i_patient, i_pid, s_patient, s_pid in rows.iterator(
        chunk_size=2000
    ):
        key = _new_key(i_pid, i_patient) if i_patient is not None else _new_key(s_pid, s_patient)
        if key is not None:
            groups[(project, key)].append((pk, old, split))
    rekey = defaultdict(list)  # new key -> item pks to write
    kept = 0
    for (_project, key), members in groups.items():
        splits = {split for _, _, split in members if split}
        stale = [pk for pk, old, _ in members if old != key]
        if not stale:
            continue
        if len(splits) > 1:
            kept += len(stale)  # the patient already spans splits: moving keys would hide it
            continue
        rekey[key].extend(stale)
    for key, pks in rekey.items():
        for start in range(0, len(pks), 1000):
            Item.objects.filter(pk__in=pks[start : start + 1000]).update(patient_key=key)
    written = sum(len(pks) for pks in rekey.values())
    if written or kept:
        print(f"\n  patient keys: {written} item(s) re-keyed, {kept} left (patient spans splits)")


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0004_request_keys"),
        ("studies", "0003_patient_id_optional_per_study"),
    ]

    operations = [migrations.RunPython(unify_patient_keys, migrations.RunPython.noop)]
