import { useSession } from "./context";
import { projectApi } from "./project/api";
import { linkHandler } from "./router";
import { useAsync } from "./useAsync";
import { formatRemaining } from "./remainingCount";

export function ProjectList() {
  const { client } = useSession();
  const { data: projects, error, loading } = useAsync(() => client.projects(), []);
  // Whether to offer "New project" (the API refuses others all the same).
  const { data: choices } = useAsync(() => projectApi.choices(client.http), []);
  return (
    <main className="page">
      <h1>Your projects</h1>
      {choices?.can_create && (
        <p>
          <a
            href="/app/projects/new"
            onClick={linkHandler("/app/projects/new")}
            className="button-link"
            data-testid="new-project"
          >
            New project
          </a>
        </p>
      )}
      {loading && <p role="status">Loading…</p>}
      {error && (
        <p className="error" role="alert">
          Could not load projects: {error}
        </p>
      )}
      {projects && projects.length === 0 && <p>You are not a member of any project yet.</p>}
      <ul className="cards" data-testid="project-list">
        {projects?.map((p) => {
          const path = `/app/projects/${p.id}`;
          return (
            <li key={p.id} className="card-item">
              <a
                href={path}
                onClick={linkHandler(path)}
                className="card-link"
                data-testid={`project-${p.id}`}
              >
                <strong>{p.name}</strong>
                <span className="muted">
                  {p.task_type} · {p.label_classes.map((c) => c.name).join(", ")}
                </span>
                <span>
                  {p.counts.my_submitted} labelled by you ·{" "}
                  {formatRemaining(p.counts.remaining_for_me)} left for you · {p.counts.completed}/
                  {p.counts.items} complete
                </span>
              </a>
              {(p.my_role === "admin" || p.my_role === null) && (
                <a
                  href={`${path}/dashboard`}
                  onClick={linkHandler(`${path}/dashboard`)}
                  className="small"
                >
                  Dashboard
                </a>
              )}
              {p.my_role === "admin" && (
                <span className="small admin-links">
                  <a
                    href={`${path}/settings`}
                    onClick={linkHandler(`${path}/settings`)}
                    data-testid={`settings-${p.id}`}
                  >
                    Settings
                  </a>{" "}
                  ·{" "}
                  <a
                    href={`${path}/team`}
                    onClick={linkHandler(`${path}/team`)}
                    data-testid={`team-${p.id}`}
                  >
                    Team
                  </a>
                </span>
              )}
              {(p.my_role === "admin" || p.my_role === "reviewer" || p.my_role === null) && (
                <a
                  href={`${path}/review`}
                  onClick={linkHandler(`${path}/review`)}
                  className="small"
                  data-testid={`review-${p.id}`}
                >
                  Review
                </a>
              )}
              {(p.my_role === "admin" || p.my_role === null) && (
                <a
                  href={`${path}/studies`}
                  onClick={linkHandler(`${path}/studies`)}
                  className="small"
                  data-testid={`add-studies-${p.id}`}
                >
                  Add studies
                </a>
              )}
              <a href={`${path}/export`} onClick={linkHandler(`${path}/export`)} className="small">
                Export
              </a>
            </li>
          );
        })}
      </ul>
    </main>
  );
}
