/**
 * Dashboard JSON → the exact series each chart plots. Pure functions, so the unit tests and the
 * browser tests (which read them back from data-points attributes) check the same numbers.
 */
import type {
  BoxEditPoint,
  CorrectionPoint,
  DetectionPoint,
  CurrentModel,
  CurvePoint,
  DashboardData,
  ReliabilityBin,
  RunProgress,
} from "./api";

export interface XY {
  x: number;
  /** null: not measured at x (Chart.js leaves a gap there; datasets set spanGaps false). */
  y: number | null;
}

export interface Series {
  label: string;
  points: XY[];
}

/**
 * Test AUC and per-class F1 against labels used, one point per model version. A version whose
 * AUC is undefined (its test split held one class) keeps its place with y null, so the AUC line
 * breaks there instead of joining its neighbours as if that version had been measured.
 */
export function learningCurve(points: CurvePoint[]): Series[] {
  const sorted = [...points].sort((a, b) => a.labels - b.labels || a.version - b.version);
  const classes = [...new Set(sorted.flatMap((p) => Object.keys(p.f1)))].sort();
  const out: Series[] = [
    { label: "test AUC", points: sorted.map((p) => ({ x: p.labels, y: p.auc })) },
  ];
  for (const name of classes) {
    out.push({
      label: `F1 ${name}`,
      points: sorted.filter((p) => name in p.f1).map((p) => ({ x: p.labels, y: p.f1[name] })),
    });
  }
  return out;
}

export function rocCurves(model: CurrentModel): Series[] {
  return Object.entries(model.roc).map(([name, curve]) => ({
    label: `ROC ${name}`,
    points: curve.fpr.map((fpr, i) => ({ x: fpr, y: curve.tpr[i] })),
  }));
}

/** Reliability diagram: accuracy against mean confidence of each non-empty bin. */
export function reliability(bins: ReliabilityBin[] | undefined): XY[] {
  return (bins ?? [])
    .filter((b) => b.count > 0 && b.confidence !== null && b.accuracy !== null)
    .map((b) => ({ x: b.confidence as number, y: b.accuracy as number }));
}

/**
 * The median share of a suggested mask's pixels the doctors changed, against the labels each
 * suggesting model version was trained on: the line should fall as the model improves.
 */
export function correctionCurve(points: CorrectionPoint[] | undefined): Series[] {
  const sorted = [...(points ?? [])].sort((a, b) => a.labels - b.labels || a.version - b.version);
  if (!sorted.length) return [];
  return [
    {
      label: "median correction",
      points: sorted.map((p) => ({ x: p.labels, y: p.median_correction })),
    },
  ];
}

const byLabels = <T extends { labels: number; version: number }>(points: T[] | undefined): T[] =>
  [...(points ?? [])].sort((a, b) => a.labels - b.labels || a.version - b.version);

/** Detection: test FROC mean and mAP@0.5 against labels used, one point per model version. */
export function detectionCurve(points: DetectionPoint[] | undefined): Series[] {
  const sorted = byLabels(points);
  if (!sorted.length) return [];
  return [
    { label: "FROC mean", points: sorted.map((p) => ({ x: p.labels, y: p.froc_mean })) },
    { label: "mAP@0.5", points: sorted.map((p) => ({ x: p.labels, y: p.map_50 })) },
  ];
}

/** Detection: median boxes moved + deleted + added per image, per suggesting model version. */
export function boxEditCurve(points: BoxEditPoint[] | undefined): Series[] {
  const sorted = byLabels(points);
  if (!sorted.length) return [];
  return [
    { label: "median box edits", points: sorted.map((p) => ({ x: p.labels, y: p.median_edits })) },
  ];
}

export interface Bars {
  labels: string[];
  values: number[];
}

export function labelsPerDay(data: DashboardData): Bars {
  return {
    labels: data.labels_per_day.map((d) => d.date),
    values: data.labels_per_day.map((d) => d.count),
  };
}

export function labelsPerDoctor(data: DashboardData): Bars {
  return {
    labels: data.labels_per_doctor.map((d) => d.doctor),
    values: data.labels_per_doctor.map((d) => d.count),
  };
}

/** Median seconds per label, per doctor. */
export function timePerLabel(data: DashboardData): Bars {
  return {
    labels: data.labels_per_doctor.map((d) => d.doctor),
    values: data.labels_per_doctor.map((d) => d.median_time_ms / 1000),
  };
}

export interface GroupedBars {
  labels: string[];
  groups: { label: string; values: (number | null)[] }[];
}

/**
 * Each doctor's agreement, as a share 0..1: with the other readers of the same items and with
 * the reviewers' adjudication. null where a doctor shares no item (no bar, not a zero).
 */
export function agreementPerDoctor(data: DashboardData): GroupedBars {
  const rows = data.agreement_per_doctor;
  const metric = rows[0]?.metric === "dice" ? "Dice" : "agreement";
  return {
    labels: rows.map((r) => r.doctor),
    groups: [
      { label: `${metric} with other readers`, values: rows.map((r) => r.with_other_readers) },
      { label: `${metric} with adjudication`, values: rows.map((r) => r.with_adjudication) },
    ],
  };
}

export function skipReasons(data: DashboardData): Bars {
  return {
    labels: data.skip_reasons.map((s) => s.reason),
    values: data.skip_reasons.map((s) => s.count),
  };
}

export function queueBars(data: DashboardData): Bars {
  const q = data.queue;
  return {
    labels: ["completed", "remaining", "leased"],
    values: [q.completed, q.remaining, q.leased],
  };
}

/** Share of the planned epochs done, 0..1; null before the first epoch report. */
export function runFraction(
  progress: RunProgress | null | undefined,
  status: string,
): number | null {
  if (status === "succeeded") return 1;
  if (!progress || !progress.epochs) return null;
  return Math.min(1, (progress.epoch ?? 0) / progress.epochs);
}

export function lossCurves(progress: RunProgress | null | undefined): Series[] {
  const history = progress?.history ?? [];
  return [
    { label: "train loss", points: history.map((h) => ({ x: h.epoch, y: h.train_loss })) },
    { label: "val loss", points: history.map((h) => ({ x: h.epoch, y: h.val_loss })) },
  ];
}
