/** Detection projects: FROC and mAP against labels, the FROC/mAP table per model version, the
 * per-class AP of the active (or newest) version, and how doctors edit the proposed boxes. */
import type { DashboardData, DetectionPoint } from "./api";
import { ChartBox } from "./ChartBox";
import { lineChart } from "./charts";
import { fmt } from "./ModelCharts";
import { boxEditCurve, detectionCurve } from "./series";

const RATES = ["0.5", "1", "2", "4"];

export function DetectionCurve({ data }: { data: DashboardData }) {
  const curve = data.detection_curve;
  const series = detectionCurve(curve?.points);
  const baseline = curve?.random_baseline
    ? detectionCurve(curve.random_baseline)
        .slice(0, 1)
        .map((s) => ({ ...s, label: "random sampling FROC mean" }))
    : [];
  return (
    <ChartBox
      id="detection-curve"
      title="Learning curve (test FROC mean and mAP@0.5, one point per model version)"
      points={{ series, random_baseline: baseline }}
      config={lineChart(series, { x: "labels", y: "score", yMax: 1 }, { extra: baseline })}
      empty={series.length ? null : "No evaluated detection model yet."}
      height={260}
    />
  );
}

export function BoxEditCurve({ data }: { data: DashboardData }) {
  const series = boxEditCurve(data.box_edit_curve?.points);
  return (
    <ChartBox
      id="box-edit-curve"
      title="Edits of proposed boxes (median moved + deleted + added per image)"
      points={series}
      config={lineChart(series, { x: "labels", y: "boxes edited per image" })}
      empty={series.length ? null : "No read of proposed boxes yet."}
      height={220}
    />
  );
}

export function DetectionTable({ points }: { points: DetectionPoint[] }) {
  const rows = [...points].sort((a, b) => b.version - a.version);
  return (
    <section
      className="dash-card wide"
      data-testid="detection-table"
      data-points={JSON.stringify(
        rows.map((p) => ({ version: p.version, froc_mean: p.froc_mean, map_50: p.map_50 })),
      )}
    >
      <h2>FROC and mAP per model version (test set)</h2>
      {rows.length === 0 ? (
        <p className="muted small">No evaluated detection model yet.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>version</th>
              <th>status</th>
              <th>labels</th>
              {RATES.map((r) => (
                <th key={r}>sens. @ {r} FP/img</th>
              ))}
              <th>FROC mean</th>
              <th>mAP@0.5</th>
              <th>mAP@0.5:0.95</th>
              <th>test images</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.version_id} data-version={p.version}>
                <td>v{p.version}</td>
                <td>{p.status}</td>
                <td>{p.labels}</td>
                {RATES.map((r) => (
                  <td key={r}>{fmt(p.froc[r])}</td>
                ))}
                <td>{fmt(p.froc_mean)}</td>
                <td>{fmt(p.map_50)}</td>
                <td>{fmt(p.map_50_95)}</td>
                <td>{p.n_test_images ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function PerClassAp({ points }: { points: DetectionPoint[] }) {
  const shown =
    points.find((p) => p.status === "active") ??
    [...points].sort((a, b) => b.version - a.version)[0];
  if (!shown) return null;
  const classes = Object.entries(shown.per_class);
  return (
    <section className="dash-card" data-testid="per-class-ap" data-points={JSON.stringify(classes)}>
      <h2>Per-class AP (v{shown.version})</h2>
      <table className="grid">
        <thead>
          <tr>
            <th>class</th>
            <th>AP@0.5</th>
            <th>AP@0.5:0.95</th>
            <th>test boxes</th>
          </tr>
        </thead>
        <tbody>
          {classes.map(([name, row]) => (
            <tr key={name}>
              <td>{name}</td>
              <td>{fmt(row.ap_50)}</td>
              <td>{fmt(row.ap_50_95)}</td>
              <td>{row.support}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
