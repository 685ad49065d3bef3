/**
 * Typed calls for the project dashboard: reports' dashboard and workers endpoints, and the
 * learning API's retrain / cancel / activate (docs/dashboard.md, docs/learning.md).
 */
import type { Http } from "../api/http";

export interface CurvePoint {
  version: number;
  version_id: number;
  labels: number;
  auc: number | null;
  f1: Record<string, number>;
  status: string;
}

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  confidence: number | null;
  accuracy: number | null;
}

export interface CurrentModel {
  id: number;
  number: number;
  architecture: string;
  labels_used: number;
  class_names: string[];
  n_test: number;
  accuracy: number | null;
  auc: number | null;
  auc_ci: [number, number] | null;
  macro_f1: number | null;
  ece_before: number | null;
  ece_after: number | null;
  temperature: number | null;
  confusion_matrix: number[][] | null;
  roc: Record<string, { fpr: number[]; tpr: number[] }>;
  reliability: { before?: ReliabilityBin[]; after?: ReliabilityBin[] };
}

/** One row of a version's per-class table (reports/services/class_report.py). */
export interface ClassRow {
  name: string;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  support: number | null;
  /** Multi-label: the label's test AUC; the macro average row: the headline AUC. */
  auc: number | null;
}

export interface ClassReport {
  multi_label: boolean;
  n: number;
  rows: ClassRow[];
  /** micro, macro and weighted averages. */
  averages: ClassRow[];
  class_names: string[];
  confusion_matrix: number[][] | null;
}

export interface SearchTrial {
  number: number;
  params: {
    learning_rate: number;
    max_epochs: number;
    weight_decay: number;
    augment_strength: number;
  };
  state: string;
  val_auc: number | null;
  seconds: number;
  detail: string;
}

/** A hyperparameter search's progress (a run's progress.search; a version's metrics.search). */
export interface SearchSummary {
  trials_requested: number;
  time_budget_s: number;
  trials: SearchTrial[];
  best_trial: number | null;
  best_val_auc: number | null;
  seconds: number;
}

export interface SearchRequest {
  trials: number;
  time_budget_s: number;
  max_epochs: number;
}

export interface RegistryRow {
  id: number;
  number: number;
  status: string;
  architecture: string;
  labels_used: number;
  auc: number | null;
  accuracy: number | null;
  /** Absent from servers before decision 0392; null for versions without per-class figures. */
  class_report?: ClassReport | null;
  search?: SearchSummary | null;
  created_at: string;
  promoted_at: string | null;
}

export interface EpochRecord {
  epoch: number;
  train_loss: number;
  val_loss: number;
  val_auc: number | null;
  val_accuracy: number | null;
  seconds: number;
}

export interface RunProgress {
  phase?: string;
  epoch?: number;
  epochs?: number | null;
  history?: EpochRecord[];
  eta_s?: number | null;
  search?: SearchSummary;
}

/** A training run as the learning API returns it (GET projects/{id}/training-runs/). */
export interface TrainingRun {
  id: number;
  status: string;
  trigger: string;
  requested_by: string | null;
  cancel_requested: boolean;
  progress: RunProgress;
  error: string;
  worker: string;
  model_version: number | null;
  created_at: string;
  finished_at: string | null;
}

/** How much of one model version's suggested masks the doctors changed (median ratio). */
export interface CorrectionPoint {
  version: number;
  labels: number;
  median_correction: number | null;
  masks: number;
  unmeasured: number;
}

/** One detection model version's test figures (docs/learning.md, DET contract). */
export interface DetectionPoint {
  version: number;
  version_id: number;
  labels: number;
  status: string;
  froc_mean: number | null;
  /** Sensitivity at 0.5, 1, 2 and 4 false positives per image. */
  froc: Record<string, number | null>;
  map_50: number | null;
  map_50_95: number | null;
  n_test_images: number | null;
  per_class: Record<string, { ap_50: number | null; ap_50_95: number | null; support: number }>;
}

/** How doctors edited one model version's proposed boxes (server-counted, per read). */
export interface BoxEditPoint {
  version: number;
  labels: number;
  median_edits: number | null;
  reads: number;
  unmeasured: number;
  accepted: number;
  moved: number;
  deleted: number;
  added: number;
}

export interface DashboardData {
  project: { id: number; name: string; task_type: string };
  labels_per_day: { date: string; count: number }[];
  labels_per_doctor: {
    doctor: string;
    count: number;
    median_time_ms: number;
    mean_time_ms: number;
  }[];
  time_per_label: { n: number; median_ms: number | null; mean_ms: number | null };
  agreement_per_doctor: {
    doctor: string;
    metric: string;
    with_other_readers: number | null;
    items_shared: number;
    with_adjudication: number | null;
    items_adjudicated: number;
  }[];
  queue: { items: number; completed: number; remaining: number; leased: number };
  skip_reasons: { reason: string; count: number }[];
  learning_curve: { points: CurvePoint[]; random_baseline: CurvePoint[] | null; note: string };
  /** Absent from servers before decision 0961. */
  correction_curve?: { points: CorrectionPoint[]; note: string };
  /** Detection projects only (null otherwise; absent from servers before decision 0370). */
  detection_curve?: {
    points: DetectionPoint[];
    random_baseline: DetectionPoint[] | null;
    note: string;
  } | null;
  box_edit_curve?: { points: BoxEditPoint[]; note: string } | null;
  current_model: CurrentModel | null;
  registry: RegistryRow[];
  runs: { id: number; status: string; progress: RunProgress }[];
}

/** What torch sees on one worker (ml_worker/worker_devices.py). */
export interface WorkerDevice {
  torch: string;
  cuda: string | null;
  cuda_available: boolean;
  gpus: {
    index: number;
    name: string;
    memory_total_mb: number;
    memory_free_mb: number;
    capability: string;
  }[];
  cpu_threads: number;
}

export interface WorkersData {
  workers: { name: string; queues: string[]; active_tasks: number; devices: WorkerDevice | null }[];
  queues: Record<string, number | null>;
}

export interface RunSettings {
  max_epochs?: number;
  patience?: number;
}

export function dashboard(http: Http, projectId: number): Promise<DashboardData> {
  return http.get(`/api/v1/projects/${projectId}/dashboard`);
}

export function workers(http: Http, projectId: number): Promise<WorkersData> {
  return http.get(`/api/v1/projects/${projectId}/workers`);
}

export function trainingRuns(http: Http, projectId: number): Promise<TrainingRun[]> {
  return http.get(`/api/v1/projects/${projectId}/training-runs/`);
}

/** "Retrain now": 202 with the queued run (or the already queued one, coalesced). */
export function retrain(
  http: Http,
  projectId: number,
  settings: RunSettings,
): Promise<TrainingRun> {
  const config = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  return http.post(
    `/api/v1/projects/${projectId}/training-runs/`,
    Object.keys(config).length ? { config } : {},
  );
}

export function cancelRun(http: Http, runId: number): Promise<TrainingRun> {
  return http.post(`/api/v1/training-runs/${runId}/cancel`);
}

/** Promote a candidate or roll back to an older version (project admins). */
export function activateVersion(http: Http, versionId: number): Promise<unknown> {
  return http.post(`/api/v1/model-versions/${versionId}/activate`);
}

export function searches(http: Http, projectId: number): Promise<TrainingRun[]> {
  return http.get(`/api/v1/projects/${projectId}/hparam-searches/`);
}

/** Start a hyperparameter search (project admins): 202 with its run. */
export function startSearch(
  http: Http,
  projectId: number,
  request: SearchRequest,
): Promise<TrainingRun> {
  return http.post(`/api/v1/projects/${projectId}/hparam-searches/`, request);
}
