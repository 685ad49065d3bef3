/**
 * A model version's per-class precision / recall / F1 / support with its micro, macro and weighted
 * averages, and, when a second version is picked, the two side by side with the change in F1.
 */
import { useEffect, useState } from "react";

import type { ClassRow, RegistryRow } from "./api";
import { compareReports, type ComparedRow, defaultPair } from "./classReport";
import { fmt } from "./ModelCharts";

function cells(row: ClassRow | null, multi: boolean, side: string) {
  const columns = multi
    ? (["precision", "recall", "f1", "auc"] as const)
    : (["precision", "recall", "f1"] as const);
  return (
    <>
      {columns.map((key) => (
        <td key={`${side}-${key}`} data-col={`${side}-${key}`}>
          {fmt(row?.[key] ?? null)}
        </td>
      ))}
      <td data-col={`${side}-support`}>{row?.support ?? "—"}</td>
    </>
  );
}

function Row({
  row,
  multi,
  comparing,
  average,
}: {
  row: ComparedRow;
  multi: boolean;
  comparing: boolean;
  average: boolean;
}) {
  const delta = row.deltaF1;
  return (
    <tr data-class={row.name} className={average ? "average" : undefined}>
      <th>{average ? `${row.name} average` : row.name}</th>
      {comparing && cells(row.before, multi, "before")}
      {cells(row.after, multi, "after")}
      {comparing && (
        <td data-col="delta-f1" className={delta === null ? "" : delta >= 0 ? "up" : "down"}>
          {delta === null ? "—" : `${delta >= 0 ? "+" : ""}${delta.toFixed(3)}`}
        </td>
      )}
    </tr>
  );
}

export function ClassReportCard({ rows }: { rows: RegistryRow[] }) {
  const initial = defaultPair(rows);
  const [shown, setShown] = useState<number | null>(initial.shown);
  const [compared, setCompared] = useState<number | null>(initial.compared);
  const initialKey = `${initial.shown}:${initial.compared}`;
  useEffect(() => {
    // A new version became active: follow it, as the rest of the dashboard does.
    setShown(initial.shown);
    setCompared(initial.compared);
  }, [initialKey]); // eslint-disable-line react-hooks/exhaustive-deps

  const withTable = rows.filter((r) => r.class_report);
  const after = withTable.find((r) => r.number === shown) ?? null;
  const before = withTable.find((r) => r.number === compared && compared !== shown) ?? null;
  const comparing = before !== null;
  const multi = Boolean(after?.class_report?.multi_label || before?.class_report?.multi_label);
  const table = compareReports(before?.class_report, after?.class_report);
  const span = multi ? 5 : 4;

  return (
    <section
      className="dash-card wide"
      data-testid="class-report"
      data-version={after?.number ?? ""}
      data-compared={before?.number ?? ""}
    >
      <h2>Per-class figures (test split)</h2>
      {withTable.length === 0 ? (
        <p className="muted small">No version with per-class figures yet.</p>
      ) : (
        <>
          <div className="retrain">
            <label>
              Version{" "}
              <select
                data-testid="class-report-version"
                value={shown ?? ""}
                onChange={(e) => setShown(Number(e.target.value))}
              >
                {withTable.map((r) => (
                  <option key={r.id} value={r.number}>
                    v{r.number} ({r.status})
                  </option>
                ))}
              </select>
            </label>
            <label>
              Compare with{" "}
              <select
                data-testid="class-report-compare"
                value={compared ?? ""}
                onChange={(e) => setCompared(e.target.value ? Number(e.target.value) : null)}
              >
                <option value="">none</option>
                {withTable
                  .filter((r) => r.number !== shown)
                  .map((r) => (
                    <option key={r.id} value={r.number}>
                      v{r.number} ({r.status})
                    </option>
                  ))}
              </select>
            </label>
          </div>
          <table className="grid class-table">
            <thead>
              {comparing && (
                <tr>
                  <th />
                  <th colSpan={span}>v{before.number} (before)</th>
                  <th colSpan={span}>v{after?.number} (after)</th>
                  <th />
                </tr>
              )}
              <tr>
                <th>{multi ? "label" : "class"}</th>
                {(comparing ? [0, 1] : [0]).map((i) => (
                  <HeaderCells key={i} multi={multi} />
                ))}
                {comparing && <th>Δ F1</th>}
              </tr>
            </thead>
            <tbody>
              {table.classes.map((row) => (
                <Row key={row.name} row={row} multi={multi} comparing={comparing} average={false} />
              ))}
              {table.averages.map((row) => (
                <Row
                  key={`avg-${row.name}`}
                  row={row}
                  multi={multi}
                  comparing={comparing}
                  average
                />
              ))}
            </tbody>
          </table>
          <p className="small muted">
            v{after?.number}: {after?.class_report?.n ?? 0} test images
            {comparing ? `; v${before.number}: ${before.class_report?.n ?? 0}` : ""}.
            {multi ? " Each label is judged on its own at a 50% threshold." : ""}
          </p>
        </>
      )}
    </section>
  );
}

function HeaderCells({ multi }: { multi: boolean }) {
  return (
    <>
      <th>precision</th>
      <th>recall</th>
      <th>F1</th>
      {multi && <th>AUC</th>}
      <th>support</th>
    </>
  );
}
