/**
 * /app/projects/:id/dashboard — what the labels bought: the doctors' work, the learning curve,
 * the active model's test figures, the per-class table (two versions side by side), the
 * registry, training runs, the hyperparameter search and the live workers.
 * Polling: runs every 1.5 s (progress bars), workers every 5 s, the rest every 15 s and
 * whenever a run ends or an action succeeds.
 */
import { useEffect, useRef, useState } from "react";

import { useSession } from "../ui/context";
import { ModelSettings } from "../ui/project/ModelSettings";
import { ProjectAdminNav } from "../ui/project/ProjectAdminNav";
import { useAsync } from "../ui/useAsync";
import * as api from "./api";
import {
  ConfusionMatrix,
  CorrectionCurve,
  fmt,
  LearningCurve,
  Reliability,
  RocCurve,
} from "./ModelCharts";
import { ClassReportCard } from "./ClassReport";
import { BoxEditCurve, DetectionCurve, DetectionTable, PerClassAp } from "./DetectionCharts";
import { Registry } from "./Registry";
import { Runs } from "./Runs";
import { SearchPanel } from "./SearchPanel";
import { usePoll } from "./usePoll";
import { WorkCharts } from "./WorkCharts";
import { Workers } from "./Workers";
import "./dashboard.css";

export function Dashboard({ projectId }: { projectId: number }) {
  const { client } = useSession();
  const http = client.http;
  const project = useAsync(() => client.project(projectId), [projectId]);
  const board = usePoll(() => api.dashboard(http, projectId), 15_000, projectId);
  const runs = usePoll(() => api.trainingRuns(http, projectId), 1_500, projectId);
  const workers = usePoll(() => api.workers(http, projectId), 5_000, projectId);
  const searches = usePoll(() => api.searches(http, projectId), 3_000, projectId);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);

  // A run that ends may have made a new model version: refresh the figures then.
  const liveKey = (runs.data ?? []).map((r) => `${r.id}:${r.status}`).join(",");
  const lastKey = useRef(liveKey);
  useEffect(() => {
    if (lastKey.current !== liveKey) board.reload();
    lastKey.current = liveKey;
  }, [liveKey, board]);

  const act = (what: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setMessage(null);
    what().then(
      () => {
        setBusy(false);
        setMessage({ text: done, error: false });
        runs.reload();
        board.reload();
        searches.reload();
      },
      (err: unknown) => {
        setBusy(false);
        setMessage({ text: String((err as Error).message ?? err), error: true });
      },
    );
  };

  const role = project.data?.my_role;
  const canAct = role === "admin" || role === null;
  const data = board.data;
  const model = data?.current_model ?? null;
  const detection = data?.detection_curve ?? null;
  const activeDetection = detection?.points.find((p) => p.version_id === model?.id) ?? null;

  return (
    <main className="page dashboard" data-testid="dashboard" data-loaded={data ? "true" : "false"}>
      <h1>Dashboard{data ? ` · ${data.project.name}` : ""}</h1>
      {role === "admin" && <ProjectAdminNav projectId={projectId} current="dashboard" />}
      {board.error && !data && (
        <p className="error" role="alert">
          Could not load the dashboard: {board.error}
        </p>
      )}
      {!data && !board.error && <p role="status">Loading…</p>}
      {message && (
        <p className={message.error ? "error" : "info"} role={message.error ? "alert" : "status"}>
          {message.text}
        </p>
      )}
      {data && (
        <>
          {model && activeDetection ? (
            <p className="summary" data-testid="model-summary">
              Active model v{model.number} ({model.architecture}, {model.labels_used} labels): test
              FROC mean {fmt(activeDetection.froc_mean)}, sensitivity at 1 FP/image{" "}
              {fmt(activeDetection.froc["1"])}, mAP@0.5 {fmt(activeDetection.map_50)}.
            </p>
          ) : model ? (
            <p className="summary" data-testid="model-summary">
              Active model v{model.number} ({model.architecture}, {model.labels_used} labels): test
              AUC {fmt(model.auc)}
              {model.auc_ci ? ` (95% CI ${fmt(model.auc_ci[0])}–${fmt(model.auc_ci[1])})` : ""},
              accuracy {fmt(model.accuracy)}, macro F1 {fmt(model.macro_f1)}.
            </p>
          ) : (
            <p className="muted">No active model yet.</p>
          )}
          {detection && (
            <div className="dash-grid">
              <DetectionCurve data={data} />
              <BoxEditCurve data={data} />
              <DetectionTable points={detection.points} />
              <PerClassAp points={detection.points} />
            </div>
          )}
          <div className="dash-grid">
            {!detection && <LearningCurve data={data} />}
            {data.project.task_type === "segmentation" && <CorrectionCurve data={data} />}
            {/* Classification figures: a detector's are in the detection cards above. */}
            {model && !detection && <ConfusionMatrix model={model} />}
            {model && !detection && <RocCurve model={model} />}
            {model && !detection && <Reliability model={model} />}
          </div>
          <p className="small muted" data-testid="baseline-note">
            {data.learning_curve.note}
          </p>
          <div className="dash-grid">
            <Runs
              runs={runs.data ?? []}
              canAct={canAct}
              busy={busy}
              onRetrain={(settings) =>
                act(() => api.retrain(http, projectId, settings), "Training run queued.")
              }
              onCancel={(run) =>
                act(() => api.cancelRun(http, run.id), `Cancel requested for run #${run.id}.`)
              }
            />
            <ClassReportCard rows={data.registry} />
            {data.project.task_type === "classification" && (
              <SearchPanel
                searches={searches.data ?? []}
                canAct={canAct}
                busy={busy}
                onStart={(request) =>
                  act(() => api.startSearch(http, projectId, request), "Search queued.")
                }
                onCancel={(run) =>
                  act(() => api.cancelRun(http, run.id), `Cancel requested for search #${run.id}.`)
                }
              />
            )}
            <Registry
              rows={data.registry}
              canAct={canAct}
              busy={busy}
              onActivate={(row) =>
                act(() => api.activateVersion(http, row.id), `Model v${row.number} is now active.`)
              }
            />
            <Workers data={workers.data} error={workers.error} />
          </div>
          {canAct && (
            <div className="dash-grid">
              <ModelSettings projectId={projectId} canEdit={canAct} />
            </div>
          )}
          <h2 className="section">Doctors' work</h2>
          <div className="dash-grid">
            <WorkCharts data={data} />
          </div>
        </>
      )}
    </main>
  );
}

export default Dashboard;
