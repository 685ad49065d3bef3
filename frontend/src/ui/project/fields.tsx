/**
 * Form rows of the settings page: a label bound to its control, the server's reason right under
 * it (tied with aria-describedby, the control marked aria-invalid), and an optional hint.
 */
import type { ReactNode } from "react";

export interface FieldProps {
  id: string;
  label: string;
  errors?: string[];
  hint?: ReactNode;
  /** Why the setting can no longer change (the control is then disabled by its caller). */
  locked?: string;
  children: (aria: ControlAria) => ReactNode;
}

export interface ControlAria {
  id: string;
  "aria-invalid"?: true;
  "aria-describedby"?: string;
}

export function Field({ id, label, errors, hint, locked, children }: FieldProps) {
  const described = [
    errors?.length ? `${id}-error` : null,
    locked ? `${id}-locked` : null,
    hint ? `${id}-hint` : null,
  ]
    .filter(Boolean)
    .join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        "aria-invalid": errors?.length ? true : undefined,
        "aria-describedby": described || undefined,
      })}
      {hint && (
        <p id={`${id}-hint`} className="muted small">
          {hint}
        </p>
      )}
      {locked && (
        <p id={`${id}-locked`} className="warn small" data-testid={`${id}-locked`}>
          {locked}
        </p>
      )}
      {errors?.length ? (
        <p id={`${id}-error`} className="error small" data-testid={`${id}-error`}>
          {errors.join(" ")}
        </p>
      ) : null}
    </div>
  );
}

/** A checkbox with its label after it, and the same error and lock lines as Field. */
export function CheckField({
  id,
  label,
  checked,
  onChange,
  errors,
  locked,
  hint,
}: {
  id: string;
  label: string;
  checked: boolean;
  onChange: (value: boolean) => void;
  errors?: string[];
  locked?: string;
  hint?: ReactNode;
}) {
  return (
    <div className="field check">
      <span>
        <input
          type="checkbox"
          id={id}
          checked={checked}
          disabled={Boolean(locked)}
          aria-invalid={errors?.length ? true : undefined}
          aria-describedby={
            [
              errors?.length ? `${id}-error` : "",
              locked ? `${id}-locked` : "",
              hint ? `${id}-hint` : "",
            ]
              .filter(Boolean)
              .join(" ") || undefined
          }
          onChange={(e) => onChange(e.target.checked)}
        />{" "}
        <label htmlFor={id}>{label}</label>
      </span>
      {hint && (
        <p id={`${id}-hint`} className="muted small">
          {hint}
        </p>
      )}
      {locked && (
        <p id={`${id}-locked`} className="warn small">
          {locked}
        </p>
      )}
      {errors?.length ? (
        <p id={`${id}-error`} className="error small" data-testid={`${id}-error`}>
          {errors.join(" ")}
        </p>
      ) : null}
    </div>
  );
}

/** A number input that keeps what was typed (the server judges it) and sends a number. */
export function numberValue(text: string): number {
  return text.trim() === "" ? Number.NaN : Number(text);
}
