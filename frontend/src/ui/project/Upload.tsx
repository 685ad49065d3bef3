/**
 * Drag-and-drop upload into a project: files, folders and zip archives, three files in flight at
 * a time, a progress bar per file and overall, retries after a dropped connection, and the
 * per-file outcomes as a list and a CSV (docs/studies.md "Adding studies").
 */
import { memo, useCallback, useEffect, useRef, useState } from "react";

import { useSession } from "../context";
import { filesFromDrop, fromFileList, type PickedFile } from "./fileDrop";
import {
  queueFiles,
  resultsCsv,
  runQueue,
  totals,
  type QueuedFile,
  type UploadResult,
} from "./uploadQueue";
import { xhrSender } from "./uploadXhr";

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 100) : 0;
}

function Bar({ value, label }: { value: number; label: string }) {
  return <progress max={100} value={value} aria-label={label} />;
}

const REDRAW_MS = 200;

const STATE_TEXT: Record<QueuedFile["state"], string> = {
  queued: "waiting",
  sending: "sending",
  retrying: "connection lost, retrying",
  done: "done",
  failed: "failed",
};

export function Upload({ projectId }: { projectId: number }) {
  const { csrf } = useSession();
  const items = useRef<QueuedFile[]>([]);
  const [, setVersion] = useState(0);
  const [running, setRunning] = useState(false);
  const [dragging, setDragging] = useState(false);
  const timer = useRef(0);
  // Progress events come many per second per request: redraw at most five times a second (the
  // browser shares the machine with the server in a one-box deployment; bench/upload.py).
  const redraw = useCallback(() => {
    if (timer.current) return;
    timer.current = window.setTimeout(() => {
      timer.current = 0;
      setVersion((v) => v + 1);
    }, REDRAW_MS);
  }, []);
  useEffect(() => () => clearTimeout(timer.current), []);

  const start = useCallback(
    async (picked: PickedFile[]) => {
      if (!picked.length) return;
      const ordered = [...picked].sort((a, b) => a.path.localeCompare(b.path));
      items.current = [...items.current, ...queueFiles(ordered)];
      setRunning(true);
      redraw();
      await runQueue(items.current, xhrSender(projectId, csrf), { onChange: redraw });
      setRunning(false);
      redraw();
    },
    [projectId, csrf, redraw],
  );

  const all = items.current;
  const sum = totals(all);
  const failed = all.some((i) => i.state === "failed");
  const downloadCsv = () => {
    const blob = new Blob([resultsCsv(all)], { type: "text/csv" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `upload-project-${projectId}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <section aria-labelledby="upload-title" className="upload">
      <h2 id="upload-title">Upload DICOM</h2>
      <div
        className={`dropzone${dragging ? " over" : ""}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          void filesFromDrop(e.dataTransfer).then(start);
        }}
      >
        <p>Drop DICOM files, folders or .zip archives here, or choose them:</p>
        <label className="pick">
          Files or zip archives
          <input
            type="file"
            multiple
            data-testid="pick-files"
            onChange={(e) => {
              const files = fromFileList(e.target.files ?? []);
              e.target.value = "";
              void start(files);
            }}
          />
        </label>
        <label className="pick">
          A folder
          <input
            type="file"
            multiple
            data-testid="pick-folder"
            {...{ webkitdirectory: "" }}
            onChange={(e) => {
              const files = fromFileList(e.target.files ?? []);
              e.target.value = "";
              void start(files);
            }}
          />
        </label>
      </div>
      {all.length > 0 && (
        <div className="upload-summary" data-testid="upload-summary" data-running={running}>
          <Bar value={percent(sum.sent, sum.bytes)} label="All files" />
          <p role="status">
            {sum.finished} of {sum.files} file{sum.files === 1 ? "" : "s"} sent ·{" "}
            {sum.counts.stored} stored · {sum.counts.duplicate} duplicate ·{" "}
            {sum.counts.rejected + sum.counts.conflict} rejected
            {running ? "" : " · finished"}
          </p>
          <button type="button" onClick={downloadCsv} disabled={running}>
            Download results (CSV)
          </button>
          {failed && !running && (
            <button
              type="button"
              onClick={() => {
                setRunning(true);
                void runQueue(items.current, xhrSender(projectId, csrf), {
                  onChange: redraw,
                }).then(() => setRunning(false));
              }}
            >
              Retry failed files
            </button>
          )}
        </div>
      )}
      {all.length > 0 && (
        <table className="grid upload-list" data-testid="upload-list">
          <thead>
            <tr>
              <th>File</th>
              <th>Progress</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {all.map((item) => (
              <FileRow
                key={item.id}
                path={item.path}
                state={item.state}
                percent={percent(item.sent, item.size)}
                attempts={item.attempts}
                results={item.results}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** One file's row; memoised on its own facts, so a redraw touches only the rows that moved. */
const FileRow = memo(function FileRow(props: {
  path: string;
  state: QueuedFile["state"];
  percent: number;
  attempts: number;
  results: UploadResult[];
}) {
  return (
    <tr data-testid="upload-row" data-state={props.state}>
      <td>{props.path}</td>
      <td>
        <Bar value={props.percent} label={props.path} />
        <span className="small muted">
          {" "}
          {STATE_TEXT[props.state]}
          {props.attempts > 1 ? ` (attempt ${props.attempts})` : ""}
        </span>
      </td>
      <td>
        <Outcomes results={props.results} />
      </td>
    </tr>
  );
});

function Outcomes({ results }: { results: UploadResult[] }) {
  if (!results.length) return null;
  return (
    <ul className="outcomes">
      {results.map((r, index) => (
        <li key={index} data-status={r.status} data-testid="outcome">
          <span className={r.status === "stored" || r.status === "duplicate" ? "" : "error"}>
            {r.status}
          </span>
          {r.name.includes("!") ? ` ${r.name.slice(r.name.indexOf("!") + 1)}` : ""}
          {r.status !== "stored" && r.reason ? <span className="muted">: {r.reason}</span> : null}
        </li>
      ))}
    </ul>
  );
}
