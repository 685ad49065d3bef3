/**
 * A DRF 400 body mapped onto the settings form: messages per field, per label class (by its
 * position in the list sent), and the rest. DRF gives a nested list's errors either as a list
 * (one entry per class, `{}` for a good one) or as an object keyed by position; plain strings
 * under label_classes concern the list as a whole ("cannot delete 'x': 3 annotation(s) use it").
 */
import { ApiError } from "../../api/http";

export interface FormErrors {
  fields: Record<string, string[]>;
  classes: Record<number, Record<string, string[]>>;
  /** Errors about the class list as a whole. */
  classList: string[];
  general: string[];
}

export const NO_ERRORS: FormErrors = { fields: {}, classes: {}, classList: [], general: [] };

function messages(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(messages);
  if (value && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      messages(v).map((m) => `${k}: ${m}`),
    );
  }
  return value === undefined || value === null ? [] : [String(value)];
}

function classEntry(value: unknown): Record<string, string[]> {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  const out: Record<string, string[]> = {};
  for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
    const list = messages(v);
    if (list.length) out[field] = list;
  }
  return out;
}

export function formErrors(body: unknown): FormErrors {
  const out: FormErrors = { fields: {}, classes: {}, classList: [], general: [] };
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    out.general = messages(body);
    return out;
  }
  for (const [field, value] of Object.entries(body as Record<string, unknown>)) {
    if (field === "label_classes") {
      const entries: [string, unknown][] = Array.isArray(value)
        ? value.map((v, i) => [String(i), v])
        : value && typeof value === "object"
          ? Object.entries(value as Record<string, unknown>)
          : [["", value]];
      for (const [key, v] of entries) {
        if (typeof v === "string" || /\D/.test(key) || key === "")
          out.classList.push(...messages(v));
        else {
          const entry = classEntry(v);
          if (Object.keys(entry).length) out.classes[Number(key)] = entry;
        }
      }
    } else if (field === "non_field_errors" || field === "detail") {
      out.general.push(...messages(value));
    } else {
      out.fields[field] = messages(value);
    }
  }
  return out;
}

/** Any failure of a save as form errors: a 400's fields, else one general message. */
export function errorsOf(err: unknown): FormErrors {
  if (err instanceof ApiError && err.status === 400) return formErrors(err.body);
  const text =
    err instanceof ApiError && err.status === 403
      ? "Only the project's admins may change this."
      : String((err as Error).message ?? err);
  return { ...NO_ERRORS, general: [text] };
}

export function hasErrors(e: FormErrors): boolean {
  return (
    Object.keys(e.fields).length > 0 ||
    Object.keys(e.classes).length > 0 ||
    e.classList.length > 0 ||
    e.general.length > 0
  );
}
