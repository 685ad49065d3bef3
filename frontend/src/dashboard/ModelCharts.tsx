/** The learning curve and the active model's confusion matrix, ROC curve and reliability. */
import type { CurrentModel, DashboardData } from "./api";
import { ChartBox } from "./ChartBox";
import { lineChart } from "./charts";
import { correctionCurve, learningCurve, reliability, rocCurves } from "./series";

const DIAGONAL = [
  {
    label: "chance / perfect calibration",
    points: [
      { x: 0, y: 0 },
      { x: 1, y: 1 },
    ],
  },
];

export function LearningCurve({ data }: { data: DashboardData }) {
  const curve = data.learning_curve;
  const series = learningCurve(curve.points);
  const baseline = curve.random_baseline
    ? learningCurve(curve.random_baseline)
        .slice(0, 1)
        .map((s) => ({ ...s, label: "random sampling AUC" }))
    : [];
  return (
    <ChartBox
      id="learning-curve"
      title="Learning curve (test set, one point per model version)"
      points={{ series, random_baseline: baseline }}
      config={lineChart(series, { x: "labels", y: "score", yMax: 1 }, { extra: baseline })}
      empty={curve.points.length ? null : "No evaluated model version yet."}
      height={260}
    />
  );
}

/** Segmentation: how much of the model's suggested masks the doctors still change. */
export function CorrectionCurve({ data }: { data: DashboardData }) {
  const series = correctionCurve(data.correction_curve?.points);
  return (
    <ChartBox
      id="correction-curve"
      title="Correction of suggested masks (median share of suggested pixels changed)"
      points={series}
      config={lineChart(series, { x: "labels", y: "pixels changed / suggested" })}
      empty={series.length ? null : "No suggested mask corrected yet."}
      height={220}
    />
  );
}

export function ConfusionMatrix({ model }: { model: CurrentModel }) {
  const matrix = model.confusion_matrix ?? [];
  const max = Math.max(1, ...matrix.flat());
  return (
    <section
      className="dash-card"
      data-testid="chart-confusion"
      data-points={JSON.stringify(matrix)}
    >
      <h2>
        Confusion matrix (v{model.number}, {model.n_test} test images)
      </h2>
      <table className="confusion">
        <thead>
          <tr>
            <th className="small muted">true ↓ / predicted →</th>
            {model.class_names.map((name) => (
              <th key={name}>{name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {matrix.map((row, i) => (
            <tr key={i}>
              <th>{model.class_names[i] ?? i}</th>
              {row.map((count, j) => (
                <td
                  key={j}
                  title={`true ${model.class_names[i]}, predicted ${model.class_names[j]}: ${count}`}
                  style={{
                    background: `rgba(47, 129, 247, ${(0.15 + 0.85 * (count / max)).toFixed(2)})`,
                  }}
                >
                  {count}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function RocCurve({ model }: { model: CurrentModel }) {
  const series = rocCurves(model);
  return (
    <ChartBox
      id="roc"
      title={`ROC curve (AUC ${fmt(model.auc)})`}
      points={series}
      config={lineChart(
        series,
        { x: "false positive rate", y: "true positive rate", yMax: 1, xMax: 1 },
        { extra: DIAGONAL },
      )}
      empty={series.length ? null : "No ROC curve stored for this version."}
    />
  );
}

export function Reliability({ model }: { model: CurrentModel }) {
  const before = reliability(model.reliability.before);
  const after = reliability(model.reliability.after);
  const series = [
    { label: `before calibration (ECE ${fmt(model.ece_before)})`, points: before },
    { label: `after, T=${fmt(model.temperature)} (ECE ${fmt(model.ece_after)})`, points: after },
  ];
  return (
    <ChartBox
      id="reliability"
      title="Reliability diagram"
      points={{ before, after }}
      config={lineChart(
        series,
        { x: "confidence", y: "accuracy", yMax: 1, xMax: 1 },
        { extra: DIAGONAL },
      )}
      empty={before.length || after.length ? null : "No reliability bins stored for this version."}
    />
  );
}

export function fmt(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined ? "—" : value.toFixed(digits);
}
