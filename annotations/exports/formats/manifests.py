"""CSV and JSON manifests: one row per item (ids, labels, split, reader count, agreement).

Every header-derived value (patient, UIDs) passes through the export's Identity, so with
de-identification on (the default) the manifest names patients by pseudonym and studies,
series and instances by the same remapped UIDs the exported DICOM files carry. No dates.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from annotations.exports.formats.base import EntryImage, ExportContext, FormatWriter, json_bytes

CSV_COLUMNS = [
    "item",
    "split",
    "labels",
    "shapes",
    "readers",
    "agreement",
    "truth_source",
    "patient",
    "study_instance_uid",
    "series_instance_uid",
    "sop_instance_uid",
    "frame",
    "modality",
    "rows",
    "columns",
]


# OWASP "CSV injection": a spreadsheet runs a cell that starts with one of these as a formula
# (=HYPERLINK(...), +cmd|..., @SUM...), and a leading tab or CR can hide such a start.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """A text cell a spreadsheet would read as a formula, prefixed with a single quote so it
    shows as text. Numbers we write ourselves (counts, agreement) are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def manifest_row(ctx: ExportContext, entry: dict[str, Any]) -> dict[str, Any]:
    identity = ctx.identity
    sop = entry.get("sop_instance_uid") or ""
    return {
        "item": entry["item"],
        "split": entry["split"],
        "labels": list(entry.get("labels", [])),
        "shapes": len(entry.get("shapes", [])),
        "readers": entry.get("readers", 0),
        "agreement": entry.get("agreement"),
        "truth_source": entry.get("source", ""),
        "patient": identity.patient(entry),
        "study_instance_uid": identity.uid(entry["study_instance_uid"], entry),
        "series_instance_uid": identity.uid(entry["series_instance_uid"], entry),
        "sop_instance_uid": identity.uid(sop, entry) if sop else "",
        "frame": entry.get("frame", 1),
        "modality": entry.get("modality", ""),
        "rows": entry.get("rows"),
        "columns": entry.get("columns"),
    }


class CsvManifest(FormatWriter):
    name = "csv"
    needs_pixels = False

    def begin(self, ctx: ExportContext) -> None:
        self._handle = ctx.spool()
        self._write_row(CSV_COLUMNS)

    def _write_row(self, values: list[Any]) -> None:
        buffer = io.StringIO()
        # RFC 4180 line ends: the writer then quotes a cell holding a bare CR too, which with
        # "\n" alone it left unquoted, splitting the row in two for any reader.
        csv.writer(buffer, lineterminator="\r\n").writerow([neutralise_cell(v) for v in values])
        self._handle.write(buffer.getvalue().encode("utf-8"))

    def add(self, ctx: ExportContext, entry: dict[str, Any], image: EntryImage) -> None:
        row = manifest_row(ctx, entry)
        row["labels"] = "|".join(row["labels"])
        row["agreement"] = "" if row["agreement"] is None else f"{row['agreement']:.4f}"
        self._write_row([row[c] for c in CSV_COLUMNS])
        ctx.count(self.name, "rows")

    def finish(self, ctx: ExportContext) -> None:
        ctx.commit(ctx.path("manifest.csv"), self._handle)


class JsonManifest(FormatWriter):
    """JSON Lines would stream more simply, but a single JSON document is what people open;
    it is written item by item all the same (never built in memory)."""

    name = "json"
    needs_pixels = False

    def begin(self, ctx: ExportContext) -> None:
        self._handle = ctx.spool()
        header = json_bytes({"classes": ctx.class_names, "task_type": ctx.schema["task_type"]})
        # Re-open the canonical header object to append the streamed "items" array.
        self._handle.write(header.rstrip()[:-1].rstrip() + b',\n "items": [\n')
        self._first = True

    def add(self, ctx: ExportContext, entry: dict[str, Any], image: EntryImage) -> None:
        row = manifest_row(ctx, entry)
        row["shapes"] = entry.get("shapes", [])
        prefix = b"" if self._first else b",\n"
        self._first = False
        self._handle.write(prefix + json_bytes(row).rstrip())
        ctx.count(self.name, "rows")

    def finish(self, ctx: ExportContext) -> None:
        self._handle.write(b"\n ]\n}\n")
        ctx.commit(ctx.path("manifest.json"), self._handle)
