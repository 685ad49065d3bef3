/**
 * Typed calls for a project's model settings (learning.model_settings on the server): the
 * registry of architectures and ranges, the project's settings, and its pretrained weights.
 */
import type { Http } from "../../api/http";

export interface RangeField {
  kind: "float" | "int" | "bool" | "choice";
  min?: number;
  max?: number;
  default: number | boolean | string;
  choices?: string[];
}

export interface ArchitectureEntry {
  name: string;
  task_type: string;
  title: string;
  min_input_size: number;
  default_input_size: number;
  pretrained: boolean;
}

export interface ModelRegistry {
  architectures: ArchitectureEntry[];
  max_input_size: number;
  channels: number[];
  freeze_modes: string[];
  augmentation: Record<string, RangeField>;
  freeze: Record<string, RangeField>;
  semi_supervised: Record<string, RangeField>;
}

export interface ModelSettingsData {
  architecture: string;
  input_size: number;
  in_channels: number;
  window_center: number | null;
  window_width: number | null;
  augmentation: Record<string, number | boolean>;
  freeze: { mode: string; epochs: number };
  semi_supervised: Record<string, number | boolean | string>;
}

export interface PretrainedRow {
  id: number;
  original_name: string;
  sha256: string;
  size_bytes: number;
  created_at: string;
}

export const registry = (http: Http) => http.get<ModelRegistry>("/api/v1/model-architectures/");

export const settingsOf = (http: Http, projectId: number) =>
  http.get<ModelSettingsData>(`/api/v1/projects/${projectId}/model-settings`);

export const saveSettings = (http: Http, projectId: number, change: Partial<ModelSettingsData>) =>
  http.patch<ModelSettingsData>(`/api/v1/projects/${projectId}/model-settings`, change);

export const pretrainedOf = (http: Http, projectId: number) =>
  http.get<PretrainedRow[]>(`/api/v1/projects/${projectId}/pretrained-weights/`);

export function uploadPretrained(
  http: Http,
  projectId: number,
  file: File,
): Promise<PretrainedRow> {
  const form = new FormData();
  form.append("file", file, file.name);
  return http.postForm(`/api/v1/projects/${projectId}/pretrained-weights/`, form);
}

/** A 400's body as {field: reason} (DRF gives strings or lists of strings). */
export function fieldErrors(body: unknown): Record<string, string> {
  if (!body || typeof body !== "object") return {};
  return Object.fromEntries(
    Object.entries(body as Record<string, unknown>).map(([k, v]) => [
      k,
      Array.isArray(v) ? v.join(" ") : String(v),
    ]),
  );
}
