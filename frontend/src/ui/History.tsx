import { useState } from "react";

import { useSession } from "./context";
import { useAsync } from "./useAsync";

/** The doctor's own submitted and skipped items, newest first, as the server lists them. */
export function History() {
  const { client } = useSession();
  const projects = useAsync(() => client.projects(), []);
  const [projectId, setProjectId] = useState<number | undefined>(undefined);
  const history = useAsync(() => client.myHistory(projectId), [projectId]);
  const rows = history.data ?? [];
  const columns = rows.length
    ? Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== "object")
    : [];
  return (
    <main className="page">
      <h1>My history</h1>
      <label>
        Project{" "}
        <select
          value={projectId ?? ""}
          onChange={(e) => setProjectId(e.target.value ? Number(e.target.value) : undefined)}
        >
          <option value="">All projects</option>
          {projects.data?.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      {history.loading && <p role="status">Loading…</p>}
      {history.error && (
        <p className="error" role="alert">
          {history.error}
        </p>
      )}
      {!history.loading && !rows.length && !history.error && <p>Nothing labelled yet.</p>}
      {rows.length > 0 && (
        <table className="grid" data-testid="history">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c}>{c.replace(/_/g, " ")}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={i}>
                {columns.map((c) => (
                  <td key={c}>{String(row[c] ?? "")}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
