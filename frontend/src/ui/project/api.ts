/**
 * Typed calls for the project settings and team pages (docs/projects.md): one project's
 * settings, the choices the settings page offers, and the members. Kept apart from the
 * workspace's client so these pages can grow without touching the labelling loop.
 */
import type { Http } from "../../api/http";
import type { Project, Role, SuggestionMode, TaskType } from "../../api/types";

/** A label class as the settings page edits it; `id` marks an existing class (a rename). */
export interface ClassDraft {
  id?: number;
  name: string;
  color: string;
  shortcut: string;
  /** Kept as the server sent them; the page does not edit attributes yet. */
  attributes?: unknown[];
}

/** Every setting the page writes, as ProjectWriteSerializer takes it. */
export interface ProjectDraft {
  name: string;
  instructions: string;
  task_type: TaskType;
  unit: "instance" | "frame" | "series";
  multi_label: boolean;
  readers_per_item: number;
  require_review: boolean;
  review_sample_rate: number;
  suggestions: SuggestionMode;
  strategy: string;
  cold_start: string;
  retrain_every: number;
  lease_seconds: number;
  deidentify: boolean;
  /** Detection: a model's boxes scoring below it are not shown to doctors. */
  box_threshold: number;
  label_classes: ClassDraft[];
}

export interface ProjectDetail extends Project {
  require_review: boolean;
  review_sample_rate: number;
  strategy: string;
  cold_start: string;
  retrain_every: number;
  lease_seconds: number;
  instructions_html: string;
  /** Settings that can no longer change, each with its reason. */
  locked: Record<string, string>;
}

export interface Described {
  name: string;
  description: string;
}

export interface ProjectChoices {
  task_types: TaskType[];
  strategies: Described[];
  strategies_by_task: Record<string, string[]>;
  default_strategy_by_task: Record<string, string>;
  cold_starts: Described[];
  suggestion_modes: Described[];
  roles: Role[];
  can_create: boolean;
  invite_signup: boolean;
}

export interface Member {
  user: number;
  username: string;
  role: Role;
  can_export: boolean;
  /** Invited and has not chosen a password yet. */
  pending: boolean;
  created_at: string;
}

export interface MemberAdded extends Member {
  invite_link: string | null;
  invite_email_error: string;
}

export const NEW_PROJECT: ProjectDraft = {
  name: "",
  instructions: "",
  task_type: "classification",
  unit: "instance",
  multi_label: false,
  readers_per_item: 1,
  require_review: false,
  review_sample_rate: 0,
  suggestions: "after",
  strategy: "budget_aware",
  cold_start: "random",
  retrain_every: 50,
  lease_seconds: 600,
  deidentify: true,
  box_threshold: 0.5,
  label_classes: [],
};

export function draftOf(p: ProjectDetail): ProjectDraft {
  return {
    name: p.name,
    instructions: p.instructions,
    task_type: p.task_type,
    unit: p.unit,
    multi_label: p.multi_label,
    readers_per_item: p.readers_per_item,
    require_review: p.require_review,
    review_sample_rate: p.review_sample_rate,
    suggestions: p.suggestions,
    strategy: p.strategy,
    cold_start: p.cold_start,
    retrain_every: p.retrain_every,
    lease_seconds: p.lease_seconds,
    deidentify: p.deidentify ?? true,
    box_threshold: p.box_threshold ?? 0.5,
    label_classes: p.label_classes.map((c) => ({
      id: c.id,
      name: c.name,
      color: c.color,
      shortcut: c.shortcut,
      attributes: (c as { attributes?: unknown[] }).attributes,
    })),
  };
}

export const projectApi = {
  choices: (http: Http) => http.get<ProjectChoices>("/api/v1/project-choices"),
  get: (http: Http, id: number) => http.get<ProjectDetail>(`/api/v1/projects/${id}/`),
  create: (http: Http, draft: ProjectDraft) => http.post<ProjectDetail>("/api/v1/projects/", draft),
  update: async (http: Http, id: number, draft: ProjectDraft) =>
    (await http.request<ProjectDetail>(`/api/v1/projects/${id}/`, { method: "PATCH", body: draft }))
      .data,
  members: (http: Http, id: number) => http.get<Member[]>(`/api/v1/projects/${id}/members/`),
  addMember: (http: Http, id: number, who: string, role: Role) =>
    http.post<MemberAdded>(`/api/v1/projects/${id}/members/`, {
      // An address goes as e-mail (the server still finds an account named by it first).
      ...(who.includes("@") ? { email: who } : { username: who }),
      role,
    }),
  changeRole: async (http: Http, id: number, user: number, role: Role) =>
    (
      await http.request<Member>(`/api/v1/projects/${id}/members/${user}/`, {
        method: "PATCH",
        body: { role },
      })
    ).data,
  removeMember: async (http: Http, id: number, user: number) => {
    await http.request(`/api/v1/projects/${id}/members/${user}/`, { method: "DELETE" });
  },
};
