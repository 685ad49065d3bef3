/** Links between a project's admin pages (settings, team, dashboard), shown only to its admins. */
import { linkHandler } from "../router";

const PAGES: Array<[string, string]> = [
  ["settings", "Settings"],
  ["team", "Team"],
  ["dashboard", "Dashboard"],
];

export function ProjectAdminNav({ projectId, current }: { projectId: number; current?: string }) {
  return (
    <nav className="admin-nav" aria-label="Project administration">
      {PAGES.map(([page, label]) => {
        const path = `/app/projects/${projectId}/${page}`;
        return (
          <a
            key={page}
            href={path}
            onClick={linkHandler(path)}
            aria-current={current === page ? "page" : undefined}
            data-testid={`admin-${page}`}
          >
            {label}
          </a>
        );
      })}
    </nav>
  );
}
