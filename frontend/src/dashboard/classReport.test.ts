import { describe, expect, it } from "vitest";

import type { ClassReport, RegistryRow } from "./api";
import { compareReports, defaultPair } from "./classReport";

const report = (f1: Record<string, number>): ClassReport => ({
  multi_label: false,
  n: 10,
  rows: Object.entries(f1).map(([name, v]) => ({
    name,
    precision: v,
    recall: v,
    f1: v,
    support: 5,
    auc: null,
  })),
  averages: [{ name: "macro", precision: 0.5, recall: 0.5, f1: 0.5, support: 10, auc: 0.8 }],
  class_names: Object.keys(f1),
  confusion_matrix: null,
});

const row = (number: number, status: string, table: ClassReport | null): RegistryRow => ({
  id: number * 10,
  number,
  status,
  architecture: "small_cnn",
  labels_used: 10 * number,
  auc: null,
  accuracy: null,
  class_report: table,
  created_at: "2026-01-01T00:00:00Z",
  promoted_at: null,
});

describe("the per-class comparison", () => {
  it("matches classes by name, keeps classes of either version and gives the change in F1", () => {
    const { classes, averages } = compareReports(
      report({ normal: 0.5, pneumonia: 0.6 }),
      report({ pneumonia: 0.9, normal: 0.4, effusion: 0.7 }),
    );
    expect(classes.map((r) => r.name)).toEqual(["pneumonia", "normal", "effusion"]);
    expect(classes[0].deltaF1).toBeCloseTo(0.3);
    expect(classes[1].deltaF1).toBeCloseTo(-0.1);
    expect(classes[2].before).toBeNull();
    expect(classes[2].deltaF1).toBeNull();
    expect(averages[0].deltaF1).toBeCloseTo(0);
  });

  it("without a second version shows one version's rows with no change", () => {
    const { classes } = compareReports(null, report({ a: 0.7 }));
    expect(classes).toEqual([
      { name: "a", before: null, after: report({ a: 0.7 }).rows[0], deltaF1: null },
    ]);
  });

  it("opens on the active version against the one before it", () => {
    const rows = [
      row(4, "candidate", report({ a: 1 })),
      row(3, "active", report({ a: 1 })),
      row(2, "retired", null),
      row(1, "retired", report({ a: 1 })),
    ];
    expect(defaultPair(rows)).toEqual({ shown: 3, compared: 1 });
    expect(defaultPair([])).toEqual({ shown: null, compared: null });
  });
});
