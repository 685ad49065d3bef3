import { CheckField, Field } from "../fields";
import type { SectionProps } from "./types";

const UNITS: Array<[string, string]> = [
  ["instance", "Each image"],
  ["frame", "Each frame of multi-frame images"],
  ["series", "Each whole series"],
];

/** Task type, work unit and multi-label: fixed once studies or answers exist (the reason
 * shows under the control). Changing the task moves the strategy to that task's default when
 * the chosen one does not apply to it. */
export function TaskSection({ draft, set, errors, choices, locked }: SectionProps) {
  return (
    <fieldset className="settings-section">
      <legend>Task</legend>
      <Field
        id="task_type"
        label="Task type"
        errors={errors.fields.task_type}
        locked={locked.task_type}
      >
        {(aria) => (
          <select
            {...aria}
            value={draft.task_type}
            disabled={Boolean(locked.task_type)}
            onChange={(e) => {
              const task = e.target.value as typeof draft.task_type;
              set("task_type", task);
              const valid = choices.strategies_by_task[task] ?? [];
              if (!valid.includes(draft.strategy))
                set("strategy", choices.default_strategy_by_task[task] ?? valid[0] ?? "");
            }}
          >
            {choices.task_types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field id="unit" label="What one item is" errors={errors.fields.unit} locked={locked.unit}>
        {(aria) => (
          <select
            {...aria}
            value={draft.unit}
            disabled={Boolean(locked.unit)}
            onChange={(e) => set("unit", e.target.value as typeof draft.unit)}
          >
            {UNITS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <CheckField
        id="multi_label"
        label="Several classes may apply to one image (multi-label)"
        checked={draft.multi_label}
        onChange={(v) => set("multi_label", v)}
        errors={errors.fields.multi_label}
        locked={locked.multi_label}
      />
    </fieldset>
  );
}
