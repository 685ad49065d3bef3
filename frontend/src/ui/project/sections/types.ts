import type { ProjectChoices, ProjectDraft } from "../api";
import type { FormErrors } from "../fieldErrors";

/** What every section of the settings page gets: the draft, a setter, the server's errors,
 * the choices, and the settings locked (with their reasons). */
export interface SectionProps {
  draft: ProjectDraft;
  set: <K extends keyof ProjectDraft>(key: K, value: ProjectDraft[K]) => void;
  errors: FormErrors;
  choices: ProjectChoices;
  locked: Record<string, string>;
}
