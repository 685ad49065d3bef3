import { Dashboard } from "../dashboard";
import { ExportPage } from "./ExportPage";
import { useSession } from "./context";
import { History } from "./History";
import { ProjectSettingsPage } from "./project/ProjectSettingsPage";
import { TeamPage } from "./project/TeamPage";
import { ProjectList } from "./ProjectList";
import "./project/project.css";
import { ReviewPage } from "./review/ReviewPage";
import { AddStudiesPage } from "./project/AddStudiesPage";
import { linkHandler, matchRoute, useLocation } from "./router";
import { StudyBrowser } from "./StudyBrowser";
import { StudyView } from "./StudyView";
import { Workspace } from "./Workspace";

export function App() {
  const { path } = useLocation();
  const route = matchRoute(path);
  return (
    <div className="app">
      <TopBar current={route.name} />
      {route.name === "projects" && <ProjectList />}
      {route.name === "workspace" && (
        <Workspace key={route.projectId} projectId={route.projectId} />
      )}
      {route.name === "dashboard" && <Dashboard projectId={route.projectId} />}
      {route.name === "project-new" && <ProjectSettingsPage />}
      {route.name === "project-settings" && (
        <ProjectSettingsPage key={route.projectId} projectId={route.projectId} />
      )}
      {route.name === "team" && <TeamPage key={route.projectId} projectId={route.projectId} />}
      {route.name === "export" && <ExportPage key={route.projectId} projectId={route.projectId} />}
      {route.name === "review" && <ReviewPage key={route.projectId} projectId={route.projectId} />}
      {route.name === "add-studies" && (
        <AddStudiesPage key={route.projectId} projectId={route.projectId} />
      )}
      {route.name === "studies" && <StudyBrowser />}
      {route.name === "study" && <StudyView key={route.studyUid} studyUid={route.studyUid} />}
      {route.name === "history" && <History />}
      {route.name === "not-found" && (
        <main className="page">
          <h1>Not found</h1>
          <p>
            <a href="/" onClick={linkHandler("/")}>
              Back to your projects
            </a>
          </p>
        </main>
      )}
    </div>
  );
}

function TopBar({ current }: { current: string }) {
  const { username, csrf } = useSession();
  const link = (path: string, label: string, names: string[]) => (
    <a
      href={path}
      onClick={linkHandler(path)}
      aria-current={names.includes(current) ? "page" : undefined}
    >
      {label}
    </a>
  );
  return (
    <header className="topbar">
      <span className="brand">Radloop</span>
      <nav aria-label="Main">
        {link("/", "Projects", [
          "projects",
          "workspace",
          "dashboard",
          "export",
          "project-new",
          "project-settings",
          "team",
          "review",
          "add-studies",
        ])}
        {link("/app/studies", "Studies", ["studies", "study"])}
        {link("/app/history", "My history", ["history"])}
      </nav>
      <span className="spacer" />
      <span className="user" data-testid="username">
        {username}
      </span>
      {/* Django 5 logs out on POST only. */}
      <form method="post" action="/accounts/logout/" className="logout">
        <input type="hidden" name="csrfmiddlewaretoken" value={csrf} />
        <button type="submit" className="link">
          Log out
        </button>
      </form>
    </header>
  );
}
