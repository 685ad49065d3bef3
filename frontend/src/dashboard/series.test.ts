import { describe, expect, it } from "vitest";

import type { CurvePoint, DashboardData, ReliabilityBin } from "./api";
import {
  agreementPerDoctor,
  boxEditCurve,
  correctionCurve,
  detectionCurve,
  learningCurve,
  lossCurves,
  reliability,
  runFraction,
} from "./series";

const point = (
  version: number,
  labels: number,
  auc: number | null,
  f1: Record<string, number>,
): CurvePoint => ({
  version,
  version_id: version,
  labels,
  auc,
  f1,
  status: "retired",
});

describe("the learning curve", () => {
  it("plots test AUC and each class's F1 against labels, sorted by labels", () => {
    const series = learningCurve([
      point(2, 60, 0.9, { a: 0.8, b: 0.7 }),
      point(1, 30, 0.7, { a: 0.6, b: 0.5 }),
    ]);
    expect(series.map((s) => s.label)).toEqual(["test AUC", "F1 a", "F1 b"]);
    expect(series[0].points).toEqual([
      { x: 30, y: 0.7 },
      { x: 60, y: 0.9 },
    ]);
    expect(series[2].points).toEqual([
      { x: 30, y: 0.5 },
      { x: 60, y: 0.7 },
    ]);
  });

  it("keeps a version without an AUC as a gap (y null), never as zero or left out", () => {
    const series = learningCurve([
      point(3, 90, 0.8, { a: 0.7 }),
      point(1, 30, 0.7, { a: 0.6 }),
      point(2, 60, null, { a: 0.65 }),
    ]);
    expect(series[0].points).toEqual([
      { x: 30, y: 0.7 },
      { x: 60, y: null },
      { x: 90, y: 0.8 },
    ]);
    expect(series[1].points).toEqual([
      { x: 30, y: 0.6 },
      { x: 60, y: 0.65 },
      { x: 90, y: 0.7 },
    ]);
  });
});

describe("the reliability diagram", () => {
  it("skips empty bins", () => {
    const bins: ReliabilityBin[] = [
      { lower: 0.5, upper: 0.6, count: 0, confidence: null, accuracy: null },
      { lower: 0.9, upper: 1, count: 3, confidence: 0.95, accuracy: 0.67 },
    ];
    expect(reliability(bins)).toEqual([{ x: 0.95, y: 0.67 }]);
  });
});

describe("a training run's progress", () => {
  it("is the share of planned epochs done, full once succeeded, unknown before the first epoch", () => {
    expect(runFraction({ epoch: 3, epochs: 12 }, "running")).toBe(0.25);
    expect(runFraction({ phase: "loading" }, "running")).toBeNull();
    expect(runFraction({}, "succeeded")).toBe(1);
  });

  it("draws train and validation loss per epoch", () => {
    const history = [
      { epoch: 1, train_loss: 0.7, val_loss: 0.6, val_auc: 0.5, val_accuracy: 0.5, seconds: 1 },
    ];
    expect(lossCurves({ history })).toEqual([
      { label: "train loss", points: [{ x: 1, y: 0.7 }] },
      { label: "val loss", points: [{ x: 1, y: 0.6 }] },
    ]);
  });
});

describe("agreement per doctor", () => {
  const row = (
    doctor: string,
    metric: string,
    withOthers: number | null,
    withReview: number | null,
  ) => ({
    doctor,
    metric,
    with_other_readers: withOthers,
    items_shared: withOthers === null ? 0 : 10,
    with_adjudication: withReview,
    items_adjudicated: withReview === null ? 0 : 4,
  });

  it("plots both shares per doctor and keeps a missing one as no bar", () => {
    const data = {
      agreement_per_doctor: [
        row("ana", "percent_agreement", 0.8, null),
        row("bo", "percent_agreement", 0.6, 0.75),
      ],
    };
    const bars = agreementPerDoctor(data as unknown as DashboardData);
    expect(bars.labels).toEqual(["ana", "bo"]);
    expect(bars.groups).toEqual([
      { label: "agreement with other readers", values: [0.8, 0.6] },
      { label: "agreement with adjudication", values: [null, 0.75] },
    ]);
  });

  it("names Dice for shape projects", () => {
    const data = { agreement_per_doctor: [row("ana", "dice", 0.7, 0.9)] };
    expect(agreementPerDoctor(data as unknown as DashboardData).groups[0].label).toBe(
      "Dice with other readers",
    );
  });
});

describe("the correction curve", () => {
  it("plots each version's median correction against its labels, a gap where unmeasured", () => {
    const at = (version: number, labels: number, median: number | null) => ({
      version,
      labels,
      median_correction: median,
      masks: median === null ? 0 : 3,
      unmeasured: median === null ? 2 : 0,
    });
    expect(correctionCurve([at(3, 80, 0.05), at(1, 20, 0.4), at(2, 40, null)])).toEqual([
      {
        label: "median correction",
        points: [
          { x: 20, y: 0.4 },
          { x: 40, y: null },
          { x: 80, y: 0.05 },
        ],
      },
    ]);
    expect(correctionCurve(undefined)).toEqual([]);
  });
});

describe("the detection curves", () => {
  const det = (version: number, labels: number, froc: number | null) => ({
    version,
    version_id: version + 100,
    labels,
    status: "retired",
    froc_mean: froc,
    froc: {},
    map_50: froc === null ? null : froc / 2,
    map_50_95: null,
    n_test_images: 10,
    per_class: {},
  });

  it("plot FROC mean and mAP@0.5 against labels, sorted, a gap where unmeasured", () => {
    expect(detectionCurve([det(2, 40, 0.8), det(1, 20, null)])).toEqual([
      {
        label: "FROC mean",
        points: [
          { x: 20, y: null },
          { x: 40, y: 0.8 },
        ],
      },
      {
        label: "mAP@0.5",
        points: [
          { x: 20, y: null },
          { x: 40, y: 0.4 },
        ],
      },
    ]);
    expect(detectionCurve(undefined)).toEqual([]);
  });

  it("plot the median box edits per suggesting version", () => {
    const at = (version: number, labels: number, median: number | null) => ({
      version,
      labels,
      median_edits: median,
      reads: 1,
      unmeasured: 0,
      accepted: 0,
      moved: 0,
      deleted: 0,
      added: 0,
    });
    expect(boxEditCurve([at(2, 30, 1), at(1, 10, 2.5)])).toEqual([
      {
        label: "median box edits",
        points: [
          { x: 10, y: 2.5 },
          { x: 30, y: 1 },
        ],
      },
    ]);
  });
});
