/** /app/projects/:id/export — the project's dataset exports (panel from src/exports). */
import { ExportPanel } from "../exports/ExportPanel";
import { useSession } from "./context";
import { useAsync } from "./useAsync";

export function ExportPage({ projectId }: { projectId: number }) {
  const { client } = useSession();
  const { data: project, error, loading } = useAsync(() => client.project(projectId), [projectId]);
  return (
    <main className="page">
      <h1>Export{project ? ` · ${project.name}` : ""}</h1>
      {loading && <p role="status">Loading…</p>}
      {error && (
        <p className="error" role="alert">
          Could not load the project: {error}
        </p>
      )}
      {project && (
        <ExportPanel
          projectId={projectId}
          taskType={project.task_type}
          isAdmin={project.my_role === "admin" || project.my_role === null}
        />
      )}
    </main>
  );
}
