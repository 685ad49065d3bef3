/** Training runs with live progress bars, the loss curve, "Retrain now" and "Cancel". */
import { useState } from "react";

import type { RunSettings, TrainingRun } from "./api";
import { ChartBox } from "./ChartBox";
import { lineChart } from "./charts";
import { lossCurves, runFraction } from "./series";

const LIVE = new Set(["queued", "running"]);

interface Props {
  runs: TrainingRun[];
  canAct: boolean;
  busy: boolean;
  onRetrain: (settings: RunSettings) => void;
  onCancel: (run: TrainingRun) => void;
}

export function Runs({ runs, canAct, busy, onRetrain, onCancel }: Props) {
  const [epochs, setEpochs] = useState("");
  const [patience, setPatience] = useState("");
  const [selected, setSelected] = useState<number | null>(null);
  const shown = runs.slice(0, 10);
  const focus =
    shown.find((r) => r.id === selected) ??
    shown.find((r) => (r.progress?.history ?? []).length > 0) ??
    shown[0];
  const loss = lossCurves(focus?.progress);

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    onRetrain({
      max_epochs: epochs ? Number(epochs) : undefined,
      patience: patience ? Number(patience) : undefined,
    });
  };

  return (
    <>
      <section className="dash-card wide" data-testid="runs">
        <h2>Training runs</h2>
        {canAct && (
          <form className="retrain" onSubmit={submit}>
            <label>
              Epochs{" "}
              <input
                type="number"
                min={1}
                max={500}
                value={epochs}
                onChange={(e) => setEpochs(e.target.value)}
                placeholder="default"
              />
            </label>
            <label>
              Patience{" "}
              <input
                type="number"
                min={1}
                max={100}
                value={patience}
                onChange={(e) => setPatience(e.target.value)}
                placeholder="default"
              />
            </label>
            <button type="submit" className="primary" disabled={busy}>
              Retrain now
            </button>
          </form>
        )}
        {shown.length === 0 ? (
          <p className="muted small">No training run yet.</p>
        ) : (
          <table className="grid">
            <thead>
              <tr>
                <th>run</th>
                <th>status</th>
                <th>trigger</th>
                <th>progress</th>
                <th>model</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shown.map((run) => {
                const fraction = runFraction(run.progress, run.status);
                const p = run.progress ?? {};
                return (
                  <tr
                    key={run.id}
                    data-run={run.id}
                    data-status={run.status}
                    aria-selected={focus?.id === run.id}
                  >
                    <td>
                      <button
                        type="button"
                        className="link"
                        onClick={() => setSelected(run.id)}
                        title="Show its loss curve"
                      >
                        #{run.id}
                      </button>
                    </td>
                    <td data-testid={`run-status-${run.id}`}>
                      {run.status}
                      {run.cancel_requested && LIVE.has(run.status) ? " (cancelling…)" : ""}
                      {run.error && <div className="error small">{run.error.split("\n")[0]}</div>}
                    </td>
                    <td className="small">
                      {run.trigger}
                      {run.requested_by ? ` by ${run.requested_by}` : ""}
                    </td>
                    <td>
                      <progress
                        data-testid={`run-progress-${run.id}`}
                        data-progress={fraction ?? ""}
                        max={1}
                        value={fraction ?? undefined}
                        aria-label={`run ${run.id} progress`}
                      />{" "}
                      <span className="small muted">
                        {p.epochs ? `epoch ${p.epoch ?? 0}/${p.epochs}` : (p.phase ?? "")}
                        {p.eta_s && LIVE.has(run.status) ? ` · ≤${Math.round(p.eta_s)} s left` : ""}
                      </span>
                    </td>
                    <td>{run.model_version ? `#${run.model_version}` : ""}</td>
                    <td>
                      {canAct && LIVE.has(run.status) && !run.cancel_requested && (
                        <button type="button" disabled={busy} onClick={() => onCancel(run)}>
                          Cancel
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      <ChartBox
        id="loss"
        title={focus ? `Loss curve of run #${focus.id}` : "Loss curve"}
        points={loss}
        config={lineChart(loss, { x: "epoch", y: "loss" })}
        empty={loss[0].points.length ? null : "No epoch finished yet."}
      />
    </>
  );
}
