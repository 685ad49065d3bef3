import { Field, numberValue } from "../fields";
import type { SectionProps } from "./types";

/** The active-learning loop: strategy and cold start from the registry (each with its line),
 * and how often the model retrains. */
export function LearningSection({ draft, set, errors, choices }: SectionProps) {
  const valid = new Set(choices.strategies_by_task[draft.task_type] ?? []);
  const strategies = choices.strategies.filter((s) => valid.size === 0 || valid.has(s.name));
  const strategy = choices.strategies.find((s) => s.name === draft.strategy);
  const cold = choices.cold_starts.find((c) => c.name === draft.cold_start);
  return (
    <fieldset className="settings-section">
      <legend>Active learning</legend>
      <Field
        id="strategy"
        label="Strategy: which image comes next"
        errors={errors.fields.strategy}
        hint={strategy?.description}
      >
        {(aria) => (
          <select
            {...aria}
            value={draft.strategy}
            onChange={(e) => set("strategy", e.target.value)}
          >
            {strategies.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        id="cold_start"
        label="Cold start: before the first model"
        errors={errors.fields.cold_start}
        hint={cold?.description}
      >
        {(aria) => (
          <select
            {...aria}
            value={draft.cold_start}
            onChange={(e) => set("cold_start", e.target.value)}
          >
            {choices.cold_starts.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        id="retrain_every"
        label="Retrain after this many new labels (0: only by hand)"
        errors={errors.fields.retrain_every}
      >
        {(aria) => (
          <input
            {...aria}
            type="number"
            value={Number.isNaN(draft.retrain_every) ? "" : draft.retrain_every}
            onChange={(e) => set("retrain_every", numberValue(e.target.value))}
          />
        )}
      </Field>
    </fieldset>
  );
}
