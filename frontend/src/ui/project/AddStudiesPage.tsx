/** /app/projects/:id/studies — getting studies into a project: upload, or pick from the archive.
 * For the project's admins (and superusers); others are told so, and the server refuses them. */
import { useSession } from "../context";
import { useAsync } from "../useAsync";
import { AddExisting } from "./AddExisting";
import { Upload } from "./Upload";

export function AddStudiesPage({ projectId }: { projectId: number }) {
  const { client } = useSession();
  const { data: project, error, loading } = useAsync(() => client.project(projectId), [projectId]);
  const isAdmin = project && (project.my_role === "admin" || project.my_role === null);
  return (
    <main className="page add-studies">
      <h1>Add studies{project ? ` · ${project.name}` : ""}</h1>
      {loading && <p role="status">Loading…</p>}
      {error && (
        <p className="error" role="alert">
          Could not load the project: {error}
        </p>
      )}
      {project && !isAdmin && (
        <p className="error" role="alert">
          Only the project&apos;s admins add studies to it.
        </p>
      )}
      {isAdmin && (
        <>
          <Upload projectId={projectId} />
          <AddExisting projectId={projectId} />
        </>
      )}
    </main>
  );
}
