import type { ClassDraft } from "../api";
import type { SectionProps } from "./types";

const PALETTE = ["#3fb950", "#f85149", "#58a6ff", "#d29922", "#bc8cff", "#39c5cf", "#ff9bce"];

/**
 * The label classes in order: name, colour, shortcut key. An existing class keeps its id, so a
 * new name is a rename and every stored answer follows it; a removed class that answers still
 * use is refused by the server with the count (shown above the list).
 */
export function ClassesSection({ draft, set, errors }: SectionProps) {
  const classes = draft.label_classes;
  const update = (index: number, patch: Partial<ClassDraft>) =>
    set(
      "label_classes",
      classes.map((c, i) => (i === index ? { ...c, ...patch } : c)),
    );
  const move = (index: number, by: number) => {
    const next = [...classes];
    const [moved] = next.splice(index, 1);
    next.splice(index + by, 0, moved);
    set("label_classes", next);
  };
  const add = () =>
    set("label_classes", [
      ...classes,
      { name: "", color: PALETTE[classes.length % PALETTE.length], shortcut: "" },
    ]);
  return (
    <fieldset className="settings-section" data-testid="classes-section">
      <legend>Label classes</legend>
      {errors.classList.length > 0 && (
        <p className="error small" role="alert" data-testid="classes-error">
          {errors.classList.join(" ")}
        </p>
      )}
      {classes.length === 0 && <p className="muted">No classes yet.</p>}
      <ol className="class-list">
        {classes.map((c, i) => {
          const rowErrors = errors.classes[i] ?? {};
          const n = i + 1;
          const err = (field: string) =>
            rowErrors[field]?.length ? `class-${i}-${field}-error` : undefined;
          return (
            <li key={c.id ?? `new-${i}`} className="class-row" data-testid={`class-row-${i}`}>
              <span className="class-inputs">
                <label htmlFor={`class-${i}-name`}>
                  Name<span className="visually-hidden"> of class {n}</span>
                </label>
                <input
                  id={`class-${i}-name`}
                  value={c.name}
                  maxLength={100}
                  required
                  aria-invalid={err("name") ? true : undefined}
                  aria-describedby={err("name")}
                  onChange={(e) => update(i, { name: e.target.value })}
                />
                <label htmlFor={`class-${i}-color`}>
                  Colour<span className="visually-hidden"> of class {n}</span>
                </label>
                <input
                  id={`class-${i}-color`}
                  type="color"
                  value={/^#[0-9a-fA-F]{6}$/.test(c.color) ? c.color : "#ff0000"}
                  aria-invalid={err("color") ? true : undefined}
                  aria-describedby={err("color")}
                  onChange={(e) => update(i, { color: e.target.value })}
                />
                <label htmlFor={`class-${i}-shortcut`}>
                  Key<span className="visually-hidden"> of class {n}</span>
                </label>
                <input
                  id={`class-${i}-shortcut`}
                  className="key-input"
                  value={c.shortcut}
                  maxLength={1}
                  size={2}
                  aria-invalid={err("shortcut") ? true : undefined}
                  aria-describedby={err("shortcut")}
                  onChange={(e) => update(i, { shortcut: e.target.value })}
                />
              </span>
              <span className="class-buttons">
                <button
                  type="button"
                  onClick={() => move(i, -1)}
                  disabled={i === 0}
                  aria-label={`Move ${c.name || `class ${n}`} up`}
                >
                  ↑
                </button>
                <button
                  type="button"
                  onClick={() => move(i, 1)}
                  disabled={i === classes.length - 1}
                  aria-label={`Move ${c.name || `class ${n}`} down`}
                >
                  ↓
                </button>
                <button
                  type="button"
                  onClick={() =>
                    set(
                      "label_classes",
                      classes.filter((_, j) => j !== i),
                    )
                  }
                  aria-label={`Remove ${c.name || `class ${n}`}`}
                >
                  Remove
                </button>
              </span>
              {Object.entries(rowErrors).map(([field, list]) => (
                <p
                  key={field}
                  id={`class-${i}-${field}-error`}
                  className="error small"
                  data-testid={`class-${i}-${field}-error`}
                >
                  {field === "non_field_errors" ? "" : `${field}: `}
                  {list.join(" ")}
                </p>
              ))}
            </li>
          );
        })}
      </ol>
      <button type="button" onClick={add}>
        Add class
      </button>
    </fieldset>
  );
}
