/**
 * Export panel for a project page: freeze a snapshot, choose formats and options, start an
 * export, watch its progress, cancel it, download the archive (docs/exports.md, "API").
 *
 * Self-contained: it talks to /api/v1 through the shared Http client and polls running jobs.
 * Members without the export right get 403 from the API; the panel then says so.
 */
import { useCallback, useEffect, useState } from "react";

import { ApiError, Http } from "../api/http";

export interface Snapshot {
  id: number;
  content_hash: string;
  created_at: string;
  items: number;
  splits: Record<string, number>;
  classes: string[];
  model_versions: { id: number; number: number; status: string }[];
}

export interface ExportJob {
  id: number;
  snapshot: number;
  snapshot_hash: string;
  formats: string[];
  options: { deidentify: boolean; bit_depth: number; include_burned_in: boolean };
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  progress: { done?: number; total?: number };
  error: string;
  size_bytes: number;
  sha256: string;
  report: { skipped?: Record<string, Record<string, number[]>> };
  created_at: string;
  expires_at: string | null;
  download_url: string | null;
}

export const FORMATS: { name: string; label: string; segmentationOnly?: boolean }[] = [
  { name: "csv", label: "CSV manifest" },
  { name: "json", label: "JSON manifest" },
  { name: "imagefolder", label: "PNG folders (ImageFolder)" },
  { name: "coco", label: "COCO JSON" },
  { name: "nifti", label: "NIfTI" },
  { name: "nnunet", label: "nnU-Net raw dataset", segmentationOnly: true },
  { name: "dicom_seg", label: "DICOM SEG", segmentationOnly: true },
  { name: "monai", label: "MONAI datalist" },
];

const ACTIVE = new Set(["queued", "running"]);
const POLL_MS = 1500;

export interface ExportPanelProps {
  projectId: number;
  taskType: string;
  /** Project admins may export without de-identification. */
  isAdmin: boolean;
  http?: Http;
}

function csrfFromPage(): string | undefined {
  const root = document.getElementById("root");
  return root?.dataset.csrf ?? undefined;
}

function explain(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return "Your membership of this project does not include exporting.";
    const details = err.details;
    return details.length ? details.join("; ") : err.message;
  }
  return (err as Error).message;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function ExportPanel({ projectId, taskType, isAdmin, http }: ExportPanelProps) {
  const [client] = useState(() => http ?? new Http({ csrfToken: csrfFromPage() }));
  const [snapshots, setSnapshots] = useState<Snapshot[]>([]);
  const [jobs, setJobs] = useState<ExportJob[]>([]);
  const [chosen, setChosen] = useState<string[]>(["csv", "json"]);
  const [deidentify, setDeidentify] = useState(true);
  const [bitDepth, setBitDepth] = useState(8);
  const [snapshotId, setSnapshotId] = useState<number | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const [snaps, list] = await Promise.all([
        client.get<Snapshot[]>(`/api/v1/projects/${projectId}/snapshots/`),
        client.get<ExportJob[]>(`/api/v1/projects/${projectId}/exports/`),
      ]);
      setSnapshots(snaps);
      setJobs(list);
      setError("");
    } catch (err) {
      setError(explain(err));
    }
  }, [client, projectId]);

  useEffect(() => {
    void load();
  }, [load]);

  // Poll while any job is queued or running.
  useEffect(() => {
    if (!jobs.some((job) => ACTIVE.has(job.status))) return;
    const timer = window.setTimeout(() => void load(), POLL_MS);
    return () => window.clearTimeout(timer);
  }, [jobs, load]);

  const freeze = async () => {
    setBusy(true);
    try {
      const snapshot = await client.post<Snapshot>(`/api/v1/projects/${projectId}/snapshots/`);
      setSnapshotId(snapshot.id);
      await load();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  const start = async () => {
    setBusy(true);
    try {
      await client.post<ExportJob>(`/api/v1/projects/${projectId}/exports/`, {
        formats: chosen,
        snapshot: snapshotId ?? undefined,
        options: { deidentify, bit_depth: bitDepth },
      });
      await load();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  const cancel = async (job: ExportJob) => {
    try {
      await client.post(`/api/v1/exports/${job.id}/cancel`);
      await load();
    } catch (err) {
      setError(explain(err));
    }
  };

  const toggle = (name: string) =>
    setChosen((now) => (now.includes(name) ? now.filter((n) => n !== name) : [...now, name]));

  return (
    <section className="export-panel" aria-label="Export dataset">
      <h2>Export dataset</h2>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <fieldset>
        <legend>Snapshot</legend>
        <select
          aria-label="Snapshot"
          value={snapshotId ?? ""}
          onChange={(e) => setSnapshotId(e.target.value ? Number(e.target.value) : null)}
        >
          <option value="">Current labels (freeze a new snapshot)</option>
          {snapshots.map((s) => (
            <option key={s.id} value={s.id}>
              {s.content_hash.slice(0, 12)} · {s.items} items ·{" "}
              {Object.entries(s.splits)
                .map(([split, n]) => `${split} ${n}`)
                .join(", ")}
              {s.model_versions.length
                ? ` · models ${s.model_versions.map((m) => `v${m.number}`).join(", ")}`
                : ""}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => void freeze()} disabled={busy}>
          Freeze current labels
        </button>
      </fieldset>
      <fieldset>
        <legend>Formats</legend>
        {FORMATS.filter((f) => !f.segmentationOnly || taskType === "segmentation").map((f) => (
          <label key={f.name}>
            <input
              type="checkbox"
              checked={chosen.includes(f.name)}
              onChange={() => toggle(f.name)}
            />
            {f.label}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Options</legend>
        <label>
          <input
            type="checkbox"
            checked={deidentify}
            disabled={!isAdmin}
            onChange={(e) => setDeidentify(e.target.checked)}
          />
          De-identify (PS3.15 Basic profile)
        </label>
        <label>
          PNG bit depth
          <select value={bitDepth} onChange={(e) => setBitDepth(Number(e.target.value))}>
            <option value={8}>8-bit, windowed</option>
            <option value={16}>16-bit, stored values</option>
          </select>
        </label>
      </fieldset>
      <button type="button" onClick={() => void start()} disabled={busy || chosen.length === 0}>
        Start export
      </button>
      <table>
        <thead>
          <tr>
            <th>Export</th>
            <th>Formats</th>
            <th>Status</th>
            <th>Archive</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => {
            const { done = 0, total = 0 } = job.progress;
            return (
              <tr key={job.id}>
                <td>
                  #{job.id} · {job.snapshot_hash.slice(0, 12)}
                  {job.options.deidentify ? "" : " · identified"}
                </td>
                <td>{job.formats.join(", ")}</td>
                <td>
                  {job.status}
                  {ACTIVE.has(job.status) && (
                    <>
                      {" "}
                      <progress value={done} max={total || 1} /> {done}/{total}{" "}
                      <button type="button" onClick={() => void cancel(job)}>
                        Cancel
                      </button>
                    </>
                  )}
                  {job.status === "failed" && <span className="error"> {job.error}</span>}
                </td>
                <td>
                  {job.download_url ? (
                    <a href={job.download_url} download>
                      Download ({megabytes(job.size_bytes)})
                    </a>
                  ) : job.status === "succeeded" ? (
                    "expired"
                  ) : (
                    ""
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

export default ExportPanel;
