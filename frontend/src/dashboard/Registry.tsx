/** The model registry: every version, with promote / roll back for project admins. */
import type { RegistryRow } from "./api";
import { fmt } from "./ModelCharts";

interface Props {
  rows: RegistryRow[];
  canAct: boolean;
  busy: boolean;
  onActivate: (row: RegistryRow) => void;
}

export function Registry({ rows, canAct, busy, onActivate }: Props) {
  const active = rows.find((r) => r.status === "active");
  return (
    <section
      className="dash-card wide"
      data-testid="registry"
      data-points={JSON.stringify(
        rows.map((r) => ({ number: r.number, status: r.status, auc: r.auc })),
      )}
    >
      <h2>Model registry</h2>
      {rows.length === 0 ? (
        <p className="muted small">No model version yet.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>version</th>
              <th>status</th>
              <th>architecture</th>
              <th>labels</th>
              <th>test AUC</th>
              <th>accuracy</th>
              <th>created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id} data-version={row.number}>
                <td>v{row.number}</td>
                <td>{row.status}</td>
                <td>{row.architecture}</td>
                <td>{row.labels_used}</td>
                <td>{fmt(row.auc)}</td>
                <td>{fmt(row.accuracy)}</td>
                <td className="small">{new Date(row.created_at).toLocaleString()}</td>
                <td>
                  {canAct && row.status !== "active" && row.status !== "shadow" && (
                    <button type="button" disabled={busy} onClick={() => onActivate(row)}>
                      {active && row.number < active.number
                        ? `Roll back to v${row.number}`
                        : `Promote v${row.number}`}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
