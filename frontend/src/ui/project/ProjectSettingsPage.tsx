/**
 * Create a project (/app/projects/new) or change one (/app/projects/:id/settings): for project
 * admins and superusers; the API refuses anyone else. One form of sections; Enter in any field
 * saves; the server's reason for a refused value shows under that field.
 *
 * Sections are components of their own (./sections). The model settings (architecture, input
 * size, augmentation, transfer learning) are their own form below (ModelSettings, also on the
 * dashboard): they are saved through their own endpoint, which checks them against the registry.
 */
import { useEffect, useState, type FormEvent } from "react";

import { useSession } from "../context";
import { linkHandler, navigate } from "../router";
import { ModelSettings } from "./ModelSettings";
import { useAsync } from "../useAsync";
import {
  draftOf,
  NEW_PROJECT,
  projectApi,
  type ProjectChoices,
  type ProjectDetail,
  type ProjectDraft,
} from "./api";
import { errorsOf, hasErrors, NO_ERRORS, type FormErrors } from "./fieldErrors";
import { ClassesSection } from "./sections/ClassesSection";
import { GeneralSection } from "./sections/GeneralSection";
import { LearningSection } from "./sections/LearningSection";
import { TaskSection } from "./sections/TaskSection";
import { WorkflowSection } from "./sections/WorkflowSection";
import { ProjectAdminNav } from "./ProjectAdminNav";

export function ProjectSettingsPage({ projectId }: { projectId?: number }) {
  const { client } = useSession();
  const http = client.http;
  const loaded = useAsync(
    () =>
      Promise.all([
        projectApi.choices(http),
        projectId === undefined ? Promise.resolve(null) : projectApi.get(http, projectId),
      ]),
    [projectId],
  );
  if (loaded.error)
    return (
      <main className="page">
        <h1>{projectId === undefined ? "New project" : "Project settings"}</h1>
        <p className="error" role="alert">
          Could not load the project: {loaded.error}
        </p>
      </main>
    );
  if (!loaded.data)
    return (
      <main className="page">
        <p role="status">Loading…</p>
      </main>
    );
  const [choices, project] = loaded.data;
  return <SettingsForm key={projectId ?? "new"} choices={choices} initial={project} />;
}

/** A project created before strategies were per task may hold one its task does not take; the
 * scoring pass already uses the task's default instead (learning.strategy_names), so the form
 * starts from that rather than refusing every save. */
function withValidStrategy(draft: ProjectDraft, choices: ProjectChoices): ProjectDraft {
  const valid = choices.strategies_by_task[draft.task_type] ?? [];
  if (valid.length === 0 || valid.includes(draft.strategy)) return draft;
  return { ...draft, strategy: choices.default_strategy_by_task[draft.task_type] ?? valid[0] };
}

function SettingsForm({
  choices,
  initial,
}: {
  choices: ProjectChoices;
  initial: ProjectDetail | null;
}) {
  const { client } = useSession();
  const [project, setProject] = useState(initial);
  const [draft, setDraft] = useState<ProjectDraft>(() =>
    withValidStrategy(initial ? draftOf(initial) : NEW_PROJECT, choices),
  );
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState("");
  const creating = project === null;
  const isAdmin = creating ? choices.can_create : project.my_role === "admin";

  useEffect(() => {
    document.title = `${creating ? "New project" : `Settings · ${project.name}`} · Radloop`;
  }, [creating, project]);

  // After a refused save, the first field marked invalid takes the focus (and scrolls into view).
  useEffect(() => {
    if (!hasErrors(errors)) return;
    const first = document.querySelector<HTMLElement>('.settings-page [aria-invalid="true"]');
    first?.focus();
  }, [errors]);

  const set = <K extends keyof ProjectDraft>(key: K, value: ProjectDraft[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    setSaved("");
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setSaved("");
    try {
      if (creating) {
        const created = await projectApi.create(client.http, draft);
        // The team comes next: nobody can label until someone is invited.
        navigate(`/app/projects/${created.id}/team?created=1`);
        return;
      }
      const updated = await projectApi.update(client.http, project.id, draft);
      setProject(updated);
      setDraft(draftOf(updated));
      setErrors(NO_ERRORS);
      setSaved("Saved.");
    } catch (err) {
      setErrors(errorsOf(err));
    } finally {
      setBusy(false);
    }
  };

  if (!isAdmin)
    return (
      <main className="page">
        <h1>{creating ? "New project" : `Settings · ${project.name}`}</h1>
        <p className="error" role="alert">
          {creating
            ? "Only site administrators and people allowed to create projects can do this."
            : "Only the project's admins can change its settings."}
        </p>
      </main>
    );

  const props = { draft, set, errors, choices, locked: project?.locked ?? {} };
  return (
    <main className="page settings-page">
      <h1>{creating ? "New project" : `Settings · ${project.name}`}</h1>
      {project && <ProjectAdminNav projectId={project.id} current="settings" />}
      <form onSubmit={save} noValidate aria-describedby="form-status">
        <div className="settings-grid">
          <GeneralSection {...props} savedHtml={project?.instructions_html ?? null} />
          <TaskSection {...props} />
          <ClassesSection {...props} />
          <WorkflowSection {...props} />
          <LearningSection {...props} />
        </div>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>
            {creating ? "Create project" : "Save settings"}
          </button>
          <a
            href={creating ? "/" : `/app/projects/${project.id}`}
            onClick={linkHandler(creating ? "/" : `/app/projects/${project.id}`)}
          >
            {creating ? "Cancel" : "Open the workspace"}
          </a>
          <span id="form-status" role="status" aria-live="polite" data-testid="form-status">
            {saved}
            {hasErrors(errors) && !saved ? "Not saved: see the reasons marked below." : ""}
          </span>
        </div>
        {errors.general.length > 0 && (
          <p className="error" role="alert">
            {errors.general.join(" ")}
          </p>
        )}
      </form>
      {project && <ModelSettings projectId={project.id} canEdit />}
    </main>
  );
}
